"""Values the CLI must refuse with a clear message (#11.8), before any build or QEMU start.

Every case here used to be accepted: a zero, negative or NaN deadline, a port QEMU cannot bind, a custom model
with nothing to verify it on (an IndexError: "internal error"), an --out that is a file (NotADirectoryError).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyflash.cli.main import main

from ..support.synthetic_layers import CASE_NAMES, case_graph
from ..support.tflite_writer import write_tflite


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """argparse's refusal: exit 1 (a user failure; 2 is kept for internal errors) with 'argument --x: ...'."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 1
    return capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "bench"])
@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "-inf", "soon"])
def test_a_timeout_must_be_a_finite_positive_number(command: str, value: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    err = usage_error([command, "-b", "mps2-an500", "-m", "ad", f"--timeout={value}"], capsys)
    assert "argument --timeout: expected a" in err and repr(value) in err


def test_a_good_timeout_is_kept() -> None:
    from tinyflash.cli.main import build_parser

    args = build_parser().parse_args(["bench", "-b", "mps2-an500", "-m", "ad", "--timeout", "2.5"])
    assert args.timeout == 2.5


@pytest.mark.parametrize("value", ["70000", "65536", "-1", "http"])
def test_emulate_refuses_a_port_outside_0_to_65535(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    err = usage_error(["emulate", "-b", "mps2-an500", "-m", "ad", f"--port={value}"], capsys)
    assert "argument --port: expected a TCP port" in err and repr(value) in err


@pytest.mark.parametrize("argv", [["bench", "-b", "mps2-an500", "-m", "ad"],
                                  ["farm", "run", "-i", "f.yaml", "--matrix", "m.yaml", "--out", "o"]])
def test_a_negative_verify_count_is_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    err = usage_error([*argv, "--verify-count=-1"], capsys)
    assert "argument --verify-count: expected 0 or more, got '-1'" in err


@pytest.mark.parametrize("command", ["run", "bench"])
def test_verify_count_0_on_a_custom_model_is_refused_before_building(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = write_tflite(case_graph(CASE_NAMES[0], "NONE"), tmp_path / "custom.tflite")
    out = tmp_path / "out"
    assert main([command, "-b", "mps2-an500", "-m", str(model), "--verify-count", "0", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "tinyflash: error: --verify-count 0 leaves no input to verify or measure custom with" in err
    assert "hint: pass --verify-count 1 or more" in err and "internal error" not in err
    assert not out.exists()          # refused before anything was generated


OUT_COMMANDS = {
    "build": ["build", "-b", "mps2-an500", "-m", "ad"],
    "run": ["run", "-b", "mps2-an500", "-m", "ad"],
    "bench": ["bench", "-b", "mps2-an500", "-m", "ad"],
    "farm run": ["farm", "run", "-i", "farm.yaml", "--matrix", "matrix.yaml"],
    "report": ["report", "--history", "history.sqlite"],
}


@pytest.mark.parametrize("command", OUT_COMMANDS)
@pytest.mark.parametrize("under", [False, True], ids=["the-file", "under-the-file"])
def test_an_out_that_is_a_file_is_refused(command: str, under: bool, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "results.json"
    afile.write_text("{}")
    out = afile / "night" if under else afile
    assert main([*OUT_COMMANDS[command], "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"tinyflash: error: --out {out} " in err and "a file, not a directory" in err
    assert "hint: pass a directory for --out" in err
    assert afile.read_text() == "{}"
