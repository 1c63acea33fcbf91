"""#11.9: the host protocol parser on random and truncated device lines. Whatever a device sends, a
parser returns a value or raises ProtocolError/DeviceError (exit 1 with the last lines); never another
exception (exit 2, "internal error"). Fixed seed, a few thousand cases, well under ten seconds."""

from __future__ import annotations

from tests.support.fuzz.protocol import fuzz_protocol
from tinyflash.errors import DeviceError
from tinyflash.run import protocol


def test_parsers_never_fail_with_an_internal_error() -> None:
    report = fuzz_protocol()
    assert not report.failures, report.failures[0]
    assert report.cases > 10_000


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
