"""Verification inputs: deterministic generated ones, and the sample files shipped with the models."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from tinyflash.generate.project import ModelIO

SAMPLE_DIR_ENV = "TINYFLASH_SAMPLE_DIR"
AD_WINDOW_BYTES = 2560     # 5 frames x 128 float32 (spec §5.3)
AD_STRIDE_BYTES = 512


@dataclass(frozen=True)
class Sample:
    label: str
    upload: bytes


def generated_inputs(io: ModelIO, count: int, seed: int = 0) -> list[Sample]:
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(count):
        if io.kind == "ad01":
            # log-mel values over the range the input quantisation can represent
            lo = (-128 - io.input_zero_point) * io.input_scale
            hi = (127 - io.input_zero_point) * io.input_scale
            data = rng.uniform(lo, hi, io.input_elements).astype("<f4").tobytes()
        else:
            data = rng.integers(0, 256, io.upload_bytes, dtype=np.uint8).tobytes()
        samples.append(Sample(f"generated-{seed}-{i}", data))
    return samples


def sample_dirs(model_path: Path, extra: Sequence[Path] = (), environ: Optional[dict[str, str]] = None) -> list[Path]:
    environ = dict(os.environ) if environ is None else environ
    dirs = [Path(d) for d in extra]
    dirs += [Path(p) for p in environ.get(SAMPLE_DIR_ENV, "").split(os.pathsep) if p]
    dirs.append(model_path.resolve().parent.parent / "samples")   # the mlcommons layout: models/ + samples/
    return [d for d in dirs if d.is_dir()]


def file_samples(benchmark_id: str, io: ModelIO, dirs: Sequence[Path], ad_windows: int = 2) -> list[Sample]:
    """Files named <benchmark>*.bin (ad01: windows of a 102,400-byte log-mel file)."""
    samples: list[Sample] = []
    for directory in dirs:
        for path in sorted(directory.glob(f"{benchmark_id}*.bin")):
            data = path.read_bytes()
            if io.kind == "ad01":
                starts = range(0, len(data) - AD_WINDOW_BYTES + 1, AD_STRIDE_BYTES)
                picked = list(starts)[:ad_windows] + list(starts)[-1:]
                samples += [Sample(f"{path.name}@{s}", data[s:s + AD_WINDOW_BYTES]) for s in picked]
            elif len(data) == io.upload_bytes:
                samples.append(Sample(path.name, data))
    return samples
