"""The real-board path without hardware: pyOCD's real API answers "no probe"; a thin fake stands in
for a pyOCD session only where a probe would be; port discovery runs on pyserial's own port-info
objects; board descriptors are checked against pyOCD's target database."""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from serial.tools.list_ports_common import ListPortInfo

from tinyflash.board import BoardCatalog
from tinyflash.board.schema import PyocdFlash
from tinyflash.errors import FlashError
from tinyflash.flash import discovery
from tinyflash.flash.pyocd_flasher import PyocdFlasher

from ..conftest import REPO


def test_flash_without_probe_fails_fast_with_a_hint(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "tinyflash", "flash", "--board", "stm32h7",
                           "--firmware", str(tmp_path / "missing.elf")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert time.monotonic() - started < 5.0
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "no debug probe found" in proc.stderr and "hint:" in proc.stderr


class FakeTarget:
    def __init__(self) -> None:
        self.resets: list[Any] = []

    def reset(self, kind: Any = None) -> None:
        self.resets.append(kind)


class FakeSession:
    def __init__(self) -> None:
        self.target = FakeTarget()
        self.opened = self.closed = False

    def open(self) -> None:
        self.opened = True

    def close(self) -> None:
        self.closed = True


def test_pyocd_flasher_calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import pyocd.flash.file_programmer as fp
    from pyocd.core.target import Target

    calls: dict[str, Any] = {}
    session = FakeSession()

    def connect(**kwargs: Any) -> FakeSession:
        calls["connect"] = kwargs
        return session

    class RecordingProgrammer:
        def __init__(self, sess: Any, **kwargs: Any) -> None:
            calls["programmer"] = (sess, kwargs)

        def program(self, path: str) -> None:
            calls["program"] = path

    monkeypatch.setattr(fp, "FileProgrammer", RecordingProgrammer)
    board = BoardCatalog().load("stm32h7")
    flasher = PyocdFlasher(board, probe_uid="066DFF485457725187092317", port="/dev/ttyACM7", connect=connect)
    flasher.program(tmp_path / "fw.elf")
    flasher.reset()
    assert flasher.serial_url() == "/dev/ttyACM7"
    flasher.close()
    kwargs = calls["connect"]
    assert kwargs["unique_id"] == "066DFF485457725187092317" and kwargs["blocking"] is False
    assert kwargs["options"]["target_override"] == "stm32h743xx"
    assert kwargs["options"]["frequency"] == 4_000_000
    assert calls["programmer"][0] is session and calls["programmer"][1]["chip_erase"] == "sector"
    assert calls["program"] == str(tmp_path / "fw.elf")
    assert session.target.resets == [Target.ResetType.HARDWARE]
    assert session.opened and session.closed


def test_missing_probe_uid_is_an_error() -> None:
    flasher = PyocdFlasher(BoardCatalog().load("stm32h7"), probe_uid="nope", connect=lambda **kw: None)
    with pytest.raises(FlashError, match="no debug probe with unique ID 'nope'"):
        flasher.program(Path("fw.elf"))


def _port(device: str, serial: str | None, vid: int = 0x0483, pid: int = 0x374E) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.serial_number, info.vid, info.pid = serial, vid, pid
    return info


class FakeProbe:
    def __init__(self, uid: str, target: str) -> None:
        self.unique_id, self.vendor_name, self.product_name = uid, "STMicroelectronics", "STLINK-V3"
        self.associated_board_info = type("Info", (), {"name": "NUCLEO-H743ZI2", "target": target})()


def test_probe_to_port_by_usb_serial_number() -> None:
    ports = [_port("/dev/ttyACM0", "0670FF3231"), _port("/dev/ttyACM1", "066DFF485457725187092317"),
             _port("/dev/ttyS0", None)]
    probes = discovery.list_probes(probes=lambda: [FakeProbe("066DFF485457725187092317", "stm32h743xx")],
                                   ports=lambda: ports)
    assert probes[0].ports == ("/dev/ttyACM1",)
    assert probes[0].board_target == "stm32h743xx"
    assert discovery.port_for_probe("066DFF485457725187092317", "stm32h7", ports=lambda: ports) == "/dev/ttyACM1"
    with pytest.raises(FlashError, match="pass --port"):
        discovery.port_for_probe("FFFF", "stm32h7", ports=lambda: ports)


def _pyocd_memory_map(target: str) -> Any:
    from pyocd.core.memory_map import MemoryMap
    from pyocd.target import TARGET

    for klass in TARGET[target].__mro__:
        for value in vars(klass).values():
            if isinstance(value, MemoryMap):
                return value
    return None


@pytest.mark.parametrize("name", [n for n in BoardCatalog().names()
                                  if isinstance(BoardCatalog().load(n).flash, PyocdFlash)])
def test_board_matches_pyocd_target(name: str) -> None:
    from pyocd.core.memory_map import MemoryType
    from pyocd.target import TARGET

    board = BoardCatalog().load(name)
    assert isinstance(board.flash, PyocdFlash)
    target = board.flash.target
    if target not in TARGET:
        # not builtin: the board must say which CMSIS pack provides it
        assert board.flash.pack, f"{name}: target {target} is not builtin and no pack is declared"
        return
    memory = _pyocd_memory_map(target)
    assert memory is not None
    flash = board.memory.flash
    regions = [r for r in memory if r.type == MemoryType.FLASH]
    covered = sum(max(0, min(r.end + 1, flash.end) - max(r.start, flash.origin)) for r in regions)
    assert covered == flash.size, f"{name}: flash {flash.origin:#x}+{flash.size} not inside pyOCD's flash"
    ram = board.memory.ram
    ram_regions = [r for r in memory if r.type == MemoryType.RAM]
    covered = sum(max(0, min(r.end + 1, ram.end) - max(r.start, ram.origin)) for r in ram_regions)
    if name in KNOWN_RAM_GAPS:
        warnings.warn(f"{name}: RAM {ram.origin:#x}+{ram.size} not in pyOCD's map: {KNOWN_RAM_GAPS[name]}")
    else:
        assert covered == ram.size, f"{name}: RAM {ram.origin:#x}+{ram.size} not inside pyOCD's RAM regions"


# RAM pyOCD's builtin maps leave out, though the chip has it (one-directional check: shared docs
# ecosystem.md §1.3)
KNOWN_RAM_GAPS = {"stm32h7": "pyOCD's STM32H743 map omits the AXI SRAM at 0x24000000"}


def test_rp2040_is_a_builtin_pyocd_target() -> None:
    from pyocd.target import TARGET

    board = BoardCatalog().load("rp2040")
    assert isinstance(board.flash, PyocdFlash) and board.flash.pack is None
    assert board.flash.target in TARGET


def test_the_boards_pack_reaches_the_pyocd_session(tmp_path: Path) -> None:
    # #15.4: pack: in the board YAML was never passed to pyOCD; the newest installed version is
    board = BoardCatalog().load("disco-f746ng")
    assert isinstance(board.flash, PyocdFlash) and board.flash.pack == "Keil.STM32F7xx_DFP"
    packs = tmp_path / "cmsis-pack-manager" / "Keil" / "STM32F7xx_DFP"
    packs.mkdir(parents=True)
    for version in ("2.9.0", "2.15.0", "2.10.1"):
        (packs / f"{version}.pack").write_bytes(b"PK")
    calls: list[dict[str, Any]] = []

    def connect(**kwargs: Any) -> FakeSession:
        calls.append(kwargs)
        return FakeSession()

    flasher = PyocdFlasher(board, probe_uid="0670FF3", packs=("/extra/own.pack",), connect=connect,
                           pack_dirs=[tmp_path / "elsewhere", tmp_path / "cmsis-pack-manager"])
    flasher.open()
    flasher.open()                      # one session, opened once
    flasher.close()
    assert len(calls) == 1
    assert calls[0]["options"]["pack"] == ["/extra/own.pack", str(packs / "2.15.0.pack")]
    assert calls[0]["options"]["target_override"] == board.flash.target


def test_a_pack_not_installed_is_left_to_pyocd_and_a_missing_pack_file_is_an_error(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []

    def connect(**kwargs: Any) -> FakeSession:
        calls.append(kwargs)
        return FakeSession()

    board = BoardCatalog().load("disco-f746ng")
    PyocdFlasher(board, probe_uid="0670FF3", connect=connect, pack_dirs=[tmp_path]).open()
    assert "pack" not in calls[0]["options"]
    assert isinstance(board.flash, PyocdFlash)
    missing = board.model_copy(update={"flash": board.flash.model_copy(update={"pack": str(tmp_path / "x.pack")})})
    with pytest.raises(FlashError, match="x.pack does not exist") as info:
        PyocdFlasher(missing, probe_uid="0670FF3", connect=connect, pack_dirs=[tmp_path]).open()
    assert "pyocd pack install" in str(info.value.hint)


def test_every_flasher_has_open() -> None:
    # the CLI calls open() before building; QEMU has nothing to find, so it starts nothing
    from tinyflash.flash.base import Flasher
    from tinyflash.flash.qemu import QemuFlasher

    qemu = QemuFlasher(BoardCatalog().load("mps2-an386"))
    assert Flasher in type(qemu).__mro__ and qemu.open() is None and qemu.pid is None
    qemu.close()
    assert Flasher in PyocdFlasher.__mro__
