"""Verification: the device's output bytes against the host golden, input by input (infer 1 0)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from tinyflash.model.benchmarks import ModelIO
from tinyflash.run.golden import Golden, device_input, expected_results
from tinyflash.run.inputs import Sample
from tinyflash.run.session import DeviceSession


@dataclass(frozen=True)
class SampleCheck:
    label: str
    max_abs_diff: int            # in quantised steps of the output tensor (float32: ULPs)
    mismatched: int              # output bytes that differ
    results_ok: bool             # the printed m-results agree with the golden's


@dataclass(frozen=True)
class Verification:
    tolerance: int
    checks: tuple[SampleCheck, ...] = field(default=())

    @property
    def max_abs_diff(self) -> int:
        return max((c.max_abs_diff for c in self.checks), default=0)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.max_abs_diff <= self.tolerance and c.results_ok for c in self.checks)


def _steps(values: np.ndarray) -> np.ndarray:
    """Values as integer steps: quantised outputs as they are, float32 as their bit patterns (so a
    difference counts units in the last place and 0 means bit-exact)."""
    if values.dtype.kind == "f":
        return values.astype("<f4").view("<i4").astype(np.int64)
    return values.astype(np.int64)


def tolerance_for(io: ModelIO) -> int:
    return io.benchmark.tolerance


def verify_on_device(session: DeviceSession, io: ModelIO, golden: Golden, samples: Sequence[Sample], *,
                     infer_timeout: Optional[float] = None, keep_loaded: Optional[Sample] = None,
                     progress: Optional[Callable[[str], None]] = None) -> Verification:
    """Checks in the order of ``samples``. ``keep_loaded`` (one of them) is checked last, so the device
    still holds its input afterwards: the performance run that follows does not upload it again."""
    order = list(range(len(samples)))
    last = next((k for k, sample in enumerate(samples) if sample is keep_loaded), None)
    if last is not None:
        order.remove(last)
        order.append(last)
    checks: dict[int, SampleCheck] = {}
    for index in order:
        sample = samples[index]
        if progress:
            progress(sample.label)
        session.load(sample.upload)
        response = session.infer(1, 0, timeout=infer_timeout)
        device = np.frombuffer(session.tf_output(io.output_bytes), dtype=np.dtype(io.output_dtype).newbyteorder("<"))
        expected = golden.run(device_input(io, sample.upload))
        diff = np.abs(_steps(device) - _steps(expected))
        want = expected_results(io, sample.upload, device)   # what the device should print for its bytes
        got = list(response.results)
        results_ok = len(got) == len(want) and all(
            abs(g - w) <= 0.0015 + 1e-4 * abs(w) for g, w in zip(got, want))
        checks[index] = SampleCheck(sample.label, int(diff.max()), int((diff > 0).sum()), results_ok)
    return Verification(tolerance_for(io), tuple(checks[k] for k in sorted(checks)))
