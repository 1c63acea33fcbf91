"""Flash/RAM use of a linked ELF against the board's regions, and a check that every loadable
segment lies inside them (QEMU loads out-of-range bytes silently: shared docs qemu_cortexm.md §5)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from tinyflash.board.schema import Board
from tinyflash.errors import RegionOverflowError


@dataclass(frozen=True)
class SizeReport:
    flash_bytes: int        # code + constants + .data initialisers
    ram_bytes: int          # .data + .bss (incl. the activation arena) + stack
    flash_size: int
    ram_size: int
    sections: tuple[tuple[str, int, int], ...]   # (name, address, size) of allocated sections

    @property
    def flash_percent(self) -> float:
        return 100.0 * self.flash_bytes / self.flash_size

    @property
    def ram_percent(self) -> float:
        return 100.0 * self.ram_bytes / self.ram_size


def _in(addr: int, origin: int, size: int) -> bool:
    return origin <= addr < origin + size


def size_report(elf_path: Path, board: Board) -> SizeReport:
    flash = ram = 0
    sections = []
    fl, rm = board.memory.flash, board.memory.ram
    with open(elf_path, "rb") as fh:
        elf = ELFFile(fh)
        for sec in elf.iter_sections():
            if not sec["sh_flags"] & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0:
                continue
            addr, size = sec["sh_addr"], sec["sh_size"]
            sections.append((sec.name, addr, size))
            if _in(addr, fl.origin, fl.size):
                flash += size
            elif _in(addr, rm.origin, rm.size):
                ram += size
                if sec["sh_type"] != "SHT_NOBITS":
                    flash += size   # .data initialisers are stored in flash
    return SizeReport(flash, ram, fl.size, rm.size, tuple(sections))


def check_segments(elf_path: Path, board: Board) -> None:
    regions = [("FLASH", board.memory.flash), ("RAM", board.memory.ram)]
    if board.memory.tcm:
        regions.append(("TCM", board.memory.tcm))
    with open(elf_path, "rb") as fh:
        for seg in ELFFile(fh).iter_segments():
            if seg["p_type"] != "PT_LOAD" or seg["p_filesz"] == 0:
                continue
            start, end = seg["p_paddr"], seg["p_paddr"] + seg["p_filesz"]
            for name, region in regions:
                if region.origin <= start < region.end:
                    if end > region.end:
                        raise RegionOverflowError(name, end - region.end, board=board.name,
                                                  what=f"loadable segment at {start:#x}")
                    break
            else:
                raise RegionOverflowError("FLASH", seg["p_filesz"], board=board.name,
                                          what=f"loadable segment at {start:#x} (outside every region)")
