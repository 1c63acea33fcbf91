"""#11.9: the host protocol parser on random and truncated device lines. Whatever a device sends, a
parser returns a value or raises ProtocolError/DeviceError (exit 1 with the last lines); never another
exception (exit 2, "internal error"). Fixed seed, a few thousand cases, well under ten seconds."""

from __future__ import annotations

import random
import string
from typing import Callable, Sequence

import pytest

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


def test_parsers_never_fail_with_an_internal_error() -> None:
    rng = random.Random(11_9)
    cases = 0
    for _ in range(1500):
        lines = _transcript(rng)
        for parser in PARSERS:
            cases += 1
            try:
                parser(lines)
            except DeviceError:          # ProtocolError and DeviceReportedError are DeviceErrors
                pass
            except Exception as exc:     # noqa: BLE001 - the point of the test
                pytest.fail(f"{type(exc).__name__}: {exc} on {lines!r}"[:2000])
    assert cases > 10_000


def test_truncations_of_a_valid_infer_answer() -> None:
    answer = ["m-warmup-start-5", "m-warmup-done", "m-infer-start-20", "m-lap-us-8899717", "m-lap-us-20947668",
              "m-infer-done", "m-results-[0.000,0.004,0.996,]"]
    for n in range(len(answer) + 1):
        for cut in range(len(answer[n - 1]) + 1 if n else 1):
            lines = answer[:n - 1] + [answer[n - 1][:cut]] if n else []
            try:
                protocol.parse_infer(lines)
            except DeviceError:
                pass
    assert protocol.parse_infer(answer).iterations == 20
