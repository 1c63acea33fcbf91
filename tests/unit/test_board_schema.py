"""Board descriptors: every shipped board is valid; every broken one fails with a located error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tinyflash.board import BoardCatalog, load_board_file
from tinyflash.errors import BoardFileError, BoardNotFoundError

from ..conftest import DATA, EMULATED_BOARDS, REAL_BOARDS, REPO

BAD = DATA / "bad_boards"

# file -> (dotted key, line, words the message must contain)
EXPECTED = {
    "unknown_key": ("bogus_key", 8, "unknown key"),
    "missing_core": ("core", None, "required key is missing"),
    "uart_base_string": ("uart.base", 16, "integer address"),
    "clock_not_int": ("clock_hz", 9, "expected an integer"),
    "stack_overflow": ("stack_size", 13, "does not fit memory.ram"),
    "ram_past_4g": ("memory.ram", 12, "4 GiB"),
    "regions_overlap": ("memory", 10, "overlap"),
    "fpu_wrong_for_core": ("fpu", 8, "no 'dp' FPU"),
    "bad_flash_method": ("flash", 25, "'qemu' or 'pyocd'"),
    "bad_size": ("memory.flash.size", 11, "expected a size"),
    "not_yaml": ("", 2, "not valid YAML"),
    # clock trees (issue #5): limits of the family, and agreement with the clocks the file states
    "pll_vco_too_high": ("clock.pll.n", 15, "VCO output 864 MHz outside 100 MHz..432 MHz"),
    "pll_wrong_core_clock": ("clock", 11, "gives a 200000000 Hz core clock"),
    "uart_clock_not_bus": ("uart.clock_hz", 30, "the clock tree gives pclk1 = 54000000"),
    "flash_latency_too_low": ("clock.flash_latency", 21, "needs at least 7 wait states"),
    "overdrive_missing": ("clock.overdrive", 20, "needs over-drive"),
    "clock_family_unknown": ("clock", 11, "family must be 'stm32f7' or"),
    # #11.8: a silent UART waited (nearly) forever; a Latin-1 file was an internal UnicodeDecodeError
    "timeout_multiplier_inf": ("timeout_multiplier", 28, "finite number at most 1000, got inf"),
    "timeout_multiplier_huge": ("timeout_multiplier", 28, "finite number at most 1000, got 1e+308"),
    "not_utf8": ("", 3, "not UTF-8 text: byte 0xa7 at offset 227"),
}


def test_every_shipped_board_loads() -> None:
    names = BoardCatalog().names()
    for name in EMULATED_BOARDS + REAL_BOARDS:
        assert name in names
        board = BoardCatalog().load(name)
        assert board.name == name
        assert board.memory.flash.size > 0 and board.memory.ram.size > board.stack_size


def test_corpus_is_complete() -> None:
    assert {p.stem for p in BAD.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_bad_board_gives_located_error(stem: str) -> None:
    key, line, words = EXPECTED[stem]
    with pytest.raises(BoardFileError) as info:
        load_board_file(BAD / f"{stem}.yaml")
    err = info.value
    assert err.key == key
    if line is not None:
        assert err.line == line
    assert words in str(err)
    assert str(err).startswith(f"{BAD / stem}.yaml:")


@pytest.mark.parametrize("stem", ["unknown_key", "missing_core", "uart_base_string", "stack_overflow", "not_utf8"])
def test_cli_reports_bad_board_without_traceback(stem: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "tinyflash", "boards", "show", stem, "--board-dir", str(BAD)],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"{stem}.yaml:" in proc.stderr and EXPECTED[stem][0] in proc.stderr


def test_flash_methods_are_the_enum() -> None:
    # the discriminator tags of the flash union, the loader's list of them and FlashMethod are one fact
    from typing import get_args

    from tinyflash.board.loader import _FLASH_METHODS
    from tinyflash.board.schema import FlashMethod, PyocdFlash, QemuFlash

    tags = {get_args(cls.model_fields["method"].annotation)[0] for cls in (QemuFlash, PyocdFlash)}
    assert tags == {m.value for m in FlashMethod} == set(_FLASH_METHODS)


def _board_with(tmp_path: Path, shipped: str, old: str, new: str) -> Path:
    text = (REPO / "boards" / f"{shipped}.yaml").read_text()
    assert old in text
    path = tmp_path / f"{shipped}.yaml"
    path.write_text(text.replace(old, new))
    return path


def test_unknown_qemu_machine_is_refused_when_the_board_loads(tmp_path: Path) -> None:
    import shutil

    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm not found: the machine check is skipped without it")
    path = _board_with(tmp_path, "mps2-an386", "machine: mps2-an386", "machine: mps2-an999")
    with pytest.raises(BoardFileError) as info:
        load_board_file(path)
    assert info.value.key == "flash.machine" and info.value.line == 27
    assert "no machine 'mps2-an999'" in str(info.value) and "mps2-an" in str(info.value.hint)
    # options after the name are QEMU's to check (at boot); the name is known
    load_board_file(_board_with(tmp_path, "mps2-an386", "machine: mps2-an386", "machine: mps2-an386,x=1"))


def test_board_multiplier_of_1000_is_the_limit(tmp_path: Path) -> None:
    load_board_file(_board_with(tmp_path, "mps2-an386", "timeout_multiplier: 1.0", "timeout_multiplier: 1000"))
    with pytest.raises(BoardFileError, match="timeout_multiplier: "):
        load_board_file(_board_with(tmp_path, "mps2-an386", "timeout_multiplier: 1.0", "timeout_multiplier: .nan"))


@pytest.mark.parametrize("seconds, multiplier", [(float("inf"), 1.0), (float("nan"), 1.0), (5.0, float("inf")),
                                                 (1e308, 1000.0), (-1.0, 1.0)])
def test_deadlines_and_timeouts_refuse_non_finite_values(seconds: float, multiplier: float) -> None:
    from tinyflash.deadline import Deadline
    from tinyflash.errors import InvalidTimeoutError
    from tinyflash.run.session import Timeouts

    with pytest.raises(InvalidTimeoutError, match="finite number of seconds"):
        Deadline.after(seconds, multiplier=multiplier)
    if multiplier == 1.0:
        with pytest.raises(InvalidTimeoutError):
            Timeouts(command=seconds)
    assert Deadline.after(0.0).remaining() == 0.0


def test_name_must_match_file(tmp_path: Path) -> None:
    text = (REPO / "boards" / "mps2-an386.yaml").read_text()
    (tmp_path / "other.yaml").write_text(text)
    with pytest.raises(BoardFileError, match="differs from the file name"):
        load_board_file(tmp_path / "other.yaml")


def test_board_dir_adds_and_overrides(tmp_path: Path) -> None:
    text = (REPO / "boards" / "mps2-an386.yaml").read_text()
    (tmp_path / "my-m4.yaml").write_text(text.replace("name: mps2-an386", "name: my-m4"))
    (tmp_path / "mps2-an386.yaml").write_text(text.replace("stack_size: 16K", "stack_size: 32K"))
    catalog = BoardCatalog(extra_dirs=[tmp_path], environ={})
    assert catalog.load("my-m4").core.value == "cortex-m4"
    assert catalog.load("mps2-an386").stack_size == 32 * 1024
    env_catalog = BoardCatalog(environ={"TINYFLASH_BOARD_PATH": str(tmp_path)})
    assert "my-m4" in env_catalog.names()


def test_unknown_board_suggests() -> None:
    with pytest.raises(BoardNotFoundError, match="no board named 'an386'") as info:
        BoardCatalog(environ={}).load("an386")
    assert "mps2-an386" in str(info.value)


def test_gcc_flags_follow_the_core() -> None:
    catalog = BoardCatalog(environ={})
    assert catalog.load("mps2-an500").gcc_cpu_flags() == ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16",
                                                          "-mfloat-abi=hard")
    assert catalog.load("mps3-an547").gcc_cpu_flags()[0] == "-mcpu=cortex-m55"


def test_without_qemu_the_machine_is_not_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a machine for a QEMU the user has not installed yet is not an error in the board file
    monkeypatch.setenv("PATH", str(tmp_path))
    board = load_board_file(_board_with(tmp_path, "mps2-an386", "machine: mps2-an386", "machine: mps2-an999"))
    assert board.flash.method == "qemu"
