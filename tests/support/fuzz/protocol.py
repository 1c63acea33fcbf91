"""Random and truncated device lines for the host protocol parsers (#11.9): shared by
tests/unit/test_protocol_fuzz.py and scripts/robustness.py. Whatever a device sends, a parser returns a value
or raises a DeviceError (ProtocolError, DeviceReportedError); anything else is a failure."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Callable, Sequence

from tinyflash.errors import DeviceError
from tinyflash.run import protocol

# well-formed lines of every answer the host parses (spec §1.5-1.6 and tinyflash's tf-* commands)
GOOD = [
    "m-ready", "m-init-done", "m-name-dut-[tinyflash mps2-an386]", "m-profile-[ulp-mlperf]", "m-model-[ad01]",
    "m-[Expecting 2560 bytes]", "m-warmup-start-5", "m-warmup-done", "m-infer-start-20", "m-lap-us-8899717",
    "m-lap-us-20947668", "m-infer-done", "m-results-[0.000,0.004,0.996,]", "m-tf-output-0-00ff7f80",
    "m-tf-output-4-0102", "m-tf-cycles-123456-20", "m-tf-profile-0-1000", "m-tf-profile-1-2000",
    "m-tf-arena-768", "m-tf-runtime-[aot]", "e-[fault: HardFault CFSR=0x00010000 PC=0x00000120]",
    "e-[unknown command]", "m-load-done", "e-[fault: exception 3]",
    "e-[fault: exception 5 CFSR=0x00008200 HFSR=0x00000000 BFAR=0x5a000010]",
]
ALPHABET = string.ascii_letters + string.digits + "-[]%,.:= \t\x00\x7f\xff\u0663\u00e9" + "0123456789abcdef" * 3

PARSERS: list[Callable[[Sequence[str]], object]] = [
    protocol.parse_name, protocol.parse_profile, protocol.parse_expecting, protocol.parse_infer,
    lambda lines: protocol.parse_tf_output(lines), lambda lines: protocol.parse_tf_output(lines, 6),
    protocol.parse_tf_cycles, protocol.parse_tf_profile, protocol.parse_tf_info,
    lambda lines: protocol.raise_on_error("infer", lines),
    lambda lines: [protocol.parse_results(line) for line in lines],
    lambda lines: [protocol.raise_on_fault(line, lines) for line in lines],
]


def _mutate(rng: random.Random, line: str) -> str:
    kind = rng.randrange(8)
    if kind == 0:                                  # truncated anywhere (a cut cable, a reset mid-line)
        return line[:rng.randrange(len(line) + 1)]
    if kind == 1:                                  # one character replaced
        i = rng.randrange(len(line) or 1)
        return line[:i] + rng.choice(ALPHABET) + line[i + 1:]
    if kind == 2:                                  # a character dropped (odd hex digits, lost ']')
        i = rng.randrange(len(line) or 1)
        return line[:i] + line[i + 1:]
    if kind == 3:                                  # numbers far past any counter
        return "".join(c * rng.choice([1, 30, 5000]) if c.isdigit() else c for c in line)
    if kind == 4:                                  # random junk of any length
        return "".join(rng.choice(ALPHABET) for _ in range(rng.choice([0, 1, 5, 40, 3000])))
    if kind == 5:                                  # two lines run together
        return line + rng.choice(GOOD)
    if kind == 6:
        return line.replace("-", "--", 1)
    return line


def _transcript(rng: random.Random) -> list[str]:
    lines = rng.sample(GOOD, rng.randrange(1, len(GOOD)))
    return [_mutate(rng, line) if rng.random() < 0.5 else line for line in lines]




@dataclass
class ProtocolFuzzReport:
    cases: int = 0
    failures: list[str] = field(default_factory=list)    # "ExceptionType: message on [lines]"

    def summary(self) -> str:
        return f"protocol fuzz: {self.cases} cases, {len(self.failures)} internal errors"


def fuzz_protocol(seed: int = 11_9, transcripts: int = 1500) -> ProtocolFuzzReport:
    """Every parser on ``transcripts`` random transcripts of good and mangled lines."""
    rng = random.Random(seed)
    report = ProtocolFuzzReport()
    for _ in range(transcripts):
        lines = _transcript(rng)
        for parser in PARSERS:
            report.cases += 1
            try:
                parser(lines)
            except DeviceError:          # ProtocolError and DeviceReportedError are DeviceErrors
                pass
            except Exception as exc:     # noqa: BLE001 - the point of the fuzzer
                report.failures.append(f"{type(exc).__name__}: {exc} on {lines!r}"[:2000])
    return report
