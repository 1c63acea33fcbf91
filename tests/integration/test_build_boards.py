"""Builds for real boards (which cannot be flashed here) and build-time errors that name their cause."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinyflash.board import BoardCatalog

from ..conftest import REAL_BOARDS, REPO

pytestmark = pytest.mark.usefixtures("toolchain")


def _build(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "tinyflash", "build", *args], capture_output=True, text=True,
                          cwd=cwd, env=dict(os.environ, TINYFLASH_CACHE_DIR=str(cache)), timeout=300)


def _sections(elf: Path) -> list[tuple[str, int, int, str]]:
    out = subprocess.run(["arm-none-eabi-readelf", "-S", "-W", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    rows = []
    for m in re.finditer(r"\]\s+(\S+)\s+(\w+)\s+([0-9a-f]{8})\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\w*)", out):
        name, kind, addr, size, flags = m.groups()
        if "A" in flags and int(size, 16):
            rows.append((name, int(addr, 16), int(size, 16), kind))
    return rows


@pytest.mark.parametrize("board_name", REAL_BOARDS)
def test_real_board_links_inside_its_regions(board_name: str, model_dir: Path, tmp_path: Path,
                                             scons_cache: Path) -> None:
    board = BoardCatalog().load(board_name)
    proc = _build("--board", board_name, "--model", "ad", "--model-dir", str(model_dir), "--out", "fw",
                  cwd=tmp_path, cache=scons_cache)
    assert proc.returncode == 0, proc.stderr
    elf = tmp_path / "fw" / "build" / "firmware.elf"
    for suffix in ("bin", "hex", "map"):
        assert (tmp_path / "fw" / "build" / f"firmware.{suffix}").is_file()
    sections = _sections(elf)
    names = {s[0] for s in sections}
    assert {".isr_vector", ".text", ".bss", ".stack"} <= names
    flash, ram = board.memory.flash, board.memory.ram
    for name, addr, size, kind in sections:
        in_flash = flash.origin <= addr and addr + size <= flash.end
        in_ram = ram.origin <= addr and addr + size <= ram.end
        assert in_flash or in_ram, f"{name} at {addr:#x}+{size} outside {board_name}'s regions"
        if name in (".isr_vector", ".text"):
            assert in_flash
        if kind == "NOBITS":
            assert in_ram
    vectors = next(s for s in sections if s[0] == ".isr_vector")
    # the vector table is where the core boots from: the start of flash, or right after boot2 (RP2040)
    assert vectors[1] == flash.origin + (board.boot2.size if board.boot2 else 0)
    # the initial stack pointer (word 0) points at the top of the stack in RAM
    table = _section_bytes(elf, ".isr_vector")
    sp = int.from_bytes(table[0:4], "little")
    assert ram.origin < sp <= ram.end


def _section_bytes(elf: Path, name: str) -> bytes:
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as fh:
        return ELFFile(fh).get_section_by_name(name).data()


def _crc32_mpeg2_via_zlib(data: bytes) -> int:
    """CRC-32/MPEG-2 from zlib's reflected CRC-32: reflect every input byte and the result, undo the
    final xor. An implementation independent of the build's own (bitwise, MSB first)."""
    import zlib

    def reflect(value: int, bits: int) -> int:
        return int(f"{value:0{bits}b}"[::-1], 2)

    return reflect(zlib.crc32(bytes(reflect(b, 8) for b in data)), 32) ^ 0xFFFFFFFF


def test_rp2040_boots_through_boot2(model_dir: Path, tmp_path: Path, scons_cache: Path) -> None:
    """What the RP2040 bootrom needs: 256 bytes at 0x10000000 whose last word is the CRC of the first
    252, code that sets VTOR to the vector table at 0x10000100 and jumps through it."""
    proc = _build("--board", "rp2040", "--model", "ad", "--model-dir", str(model_dir), "--out", "fw",
                  cwd=tmp_path, cache=scons_cache)
    assert proc.returncode == 0, proc.stderr
    build = tmp_path / "fw" / "build"
    elf = build / "firmware.elf"
    sections = {s[0]: s for s in _sections(elf)}
    assert sections[".boot2"][1:3] == (0x10000000, 256)
    assert sections[".isr_vector"][1] == 0x10000100
    boot2 = _section_bytes(elf, ".boot2")
    assert int.from_bytes(boot2[252:], "little") == _crc32_mpeg2_via_zlib(boot2[:252]) != 0
    # the raw image pyOCD or a UF2 converter would take starts with the same 256 bytes
    assert (build / "firmware.bin").read_bytes()[:256] == boot2
    # boot2 loads the vector table address and VTOR's address from its literal pool
    assert (0x10000100).to_bytes(4, "little") in boot2 and (0xE000ED08).to_bytes(4, "little") in boot2
    table = _section_bytes(elf, ".isr_vector")
    reset = int.from_bytes(table[4:8], "little")
    assert reset & 1 and 0x10000100 < reset < 0x10000000 + 2 * 1024 * 1024
    # tinyflash's own check (run by every build) refuses an image whose boot2 bytes changed after the CRC
    from elftools.elf.elffile import ELFFile

    from tinyflash.build.boot2 import check_boot2
    from tinyflash.errors import BuildError

    board = BoardCatalog().load("rp2040")
    assert check_boot2(elf, board).stored_crc == int.from_bytes(boot2[252:], "little")
    with open(elf, "rb") as fh:
        offset = ELFFile(fh).get_section_by_name(".boot2")["sh_offset"]
    image = bytearray(elf.read_bytes())
    image[offset + 2] ^= 0x01
    broken = tmp_path / "broken.elf"
    broken.write_bytes(bytes(image))
    with pytest.raises(BuildError, match="boot2 CRC"):
        check_boot2(broken, board)
    # built for armv6-m (the Cortex-M0+), so the runtime took its portable kernels
    attributes = subprocess.run(["arm-none-eabi-readelf", "-A", str(elf)], capture_output=True, text=True,
                                check=True).stdout
    assert re.search(r"Tag_CPU_arch: v6S?-M", attributes), attributes


def _small_board(tmp_path: Path, flash: str, ram: str) -> Path:
    text = (REPO / "boards" / "mps2-an386.yaml").read_text().replace("name: mps2-an386", "name: tiny")
    text = text.replace("flash: {origin: 0x00000000, size: 4M}", f"flash: {{origin: 0x00000000, size: {flash}}}")
    text = text.replace("ram: {origin: 0x20000000, size: 4M}", f"ram: {{origin: 0x20000000, size: {ram}}}")
    text = text.replace("stack_size: 16K", "stack_size: 2K")
    boards = tmp_path / "boards"
    boards.mkdir()
    (boards / "tiny.yaml").write_text(text)
    return boards


def test_ram_overflow_found_before_compiling(model_dir: Path, tmp_path: Path, scons_cache: Path) -> None:
    boards = _small_board(tmp_path, "4M", "4K")
    proc = _build("--board", "tiny", "--board-dir", str(boards), "--model", "ad", "--model-dir", str(model_dir),
                  cwd=tmp_path, cache=scons_cache)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert re.search(r"region RAM overflowed by \d+ bytes", proc.stderr)
    assert not list(tmp_path.rglob("*.o"))     # nothing was compiled


def test_flash_overflow_reported_by_the_linker(model_dir: Path, tmp_path: Path, scons_cache: Path) -> None:
    boards = _small_board(tmp_path, "272K", "64K")   # weights (270,880 B) fit, the program does not
    proc = _build("--board", "tiny", "--board-dir", str(boards), "--model", "ad", "--model-dir", str(model_dir),
                  cwd=tmp_path, cache=scons_cache)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    m = re.search(r"region FLASH overflowed by (\d+) bytes", proc.stderr)
    assert m and 0 < int(m.group(1)) < 64 * 1024


def test_unsupported_operator_names_operator(model_dir: Path, tmp_path: Path, scons_cache: Path) -> None:
    import tflite

    data = bytearray((model_dir / "ad01_int8.tflite").read_bytes())
    model = tflite.Model.GetRootAsModel(data, 0)
    code = model.OperatorCodes(0)
    for field in (4, 10):      # deprecated_builtin_code (int8), builtin_code (int32)
        offset = code._tab.Offset(field)
        if offset:
            data[code._tab.Pos + offset] = 28     # FULLY_CONNECTED -> TANH
    patched = tmp_path / "tanh.tflite"
    patched.write_bytes(bytes(data))
    # the aot runtime's own error (auto's, which lists every runtime's, is in test_runtime_auto_bench.py)
    proc = _build("--board", "mps2-an386", "--model", str(patched), "--runtime", "aot", cwd=tmp_path,
                  cache=scons_cache)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "operator TANH (node 0) is not supported" in proc.stderr


def test_corrupt_model_is_a_clear_error(tmp_path: Path, scons_cache: Path) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    proc = _build("--board", "mps2-an386", "--model", str(bad), cwd=tmp_path, cache=scons_cache)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "not a TFLite model" in proc.stderr


@pytest.mark.parametrize("board_name", REAL_BOARDS)
def test_real_board_links_vww(board_name: str, model_dir: Path, tmp_path: Path, scons_cache: Path) -> None:
    proc = _build("--board", board_name, "--model", "vww", "--model-dir", str(model_dir), "--json",
                  cwd=tmp_path, cache=scons_cache)
    assert proc.returncode == 0, proc.stderr
    import json

    size = json.loads(proc.stdout)["size"]
    assert size["flash_bytes"] > size["weight_bytes"] and size["ram_bytes"] > size["activation_bytes"]
