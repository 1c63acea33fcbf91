"""Checks of a linked image that boots through a second-stage bootloader (RP2040): boot2 is the first
256 bytes of flash and carries the CRC the bootrom demands, the vector table follows right after it.

A firmware failing these would load and then never start, silently, so the build refuses it.
The CRC itself is filled in by the SConstruct's post-link step; this is the independent check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from tinyflash.board.schema import Board
from tinyflash.errors import BuildError

_POLY = 0x04C11DB7


def crc32_mpeg2(data: bytes) -> int:
    """CRC-32/MPEG-2, what the RP2040 bootrom checks: poly 0x04c11db7, init 0xffffffff, MSB first
    (no reflection), no final xor (RP2040 datasheet §2.8.1.3.1)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


@dataclass(frozen=True)
class Boot2Facts:
    address: int
    size: int
    stored_crc: int
    computed_crc: int
    vectors: int
    initial_sp: int
    reset_handler: int


def boot2_facts(elf_path: Path) -> Boot2Facts:
    with open(elf_path, "rb") as fh:
        elf = ELFFile(fh)
        boot2 = elf.get_section_by_name(".boot2")
        vectors = elf.get_section_by_name(".isr_vector")
        if boot2 is None or vectors is None:
            raise BuildError(f"{elf_path}: no .boot2 or .isr_vector section",
                             hint="the board has boot2: but the linker script did not place it")
        data = boot2.data()
        table = vectors.data()
        return Boot2Facts(boot2["sh_addr"], len(data), int.from_bytes(data[-4:], "little"),
                          crc32_mpeg2(data[:-4]), vectors["sh_addr"], int.from_bytes(table[0:4], "little"),
                          int.from_bytes(table[4:8], "little"))


def check_boot2(elf_path: Path, board: Board) -> Boot2Facts:
    """Raise :class:`BuildError` unless boot2 and the vector table are where the bootrom looks."""
    assert board.boot2 is not None
    facts = boot2_facts(elf_path)
    origin = board.memory.flash.origin
    problems = []
    if facts.address != origin or facts.size != board.boot2.size:
        problems.append(f"boot2 is {facts.size} bytes at {facts.address:#x}, not {board.boot2.size} at {origin:#x}")
    if facts.stored_crc != facts.computed_crc:
        problems.append(f"boot2 CRC is {facts.stored_crc:#010x}, its bytes give {facts.computed_crc:#010x}")
    if facts.vectors != origin + board.boot2.size:
        problems.append(f"vector table at {facts.vectors:#x}, boot2 jumps to {origin + board.boot2.size:#x}")
    if not facts.reset_handler & 1:
        problems.append(f"reset vector {facts.reset_handler:#x} is not a Thumb address")
    if problems:
        raise BuildError(f"{elf_path} would not boot on {board.name}: " + "; ".join(problems),
                         hint="the bootrom refuses a boot2 with a wrong CRC; check the SConstruct's checksums step")
    return facts
