"""The system description JSON (``systems/<system>.json``) with every field the v1.4 submission
checker reads (spec §8: Status, Board Name, Processor(s) Name/Frequencies, memory, Accelerator,
Inference Framework, Software Libraries, notes), filled from the validated board and the builds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from tinyflash.board.schema import Board, Fpu, Mve, QemuFlash

STATUS_AVAILABLE = "available"      # one of the checker's VALID_AVAILABILITIES


@dataclass(frozen=True)
class Pin:
    """One pinned third-party source (a west.yml project)."""

    name: str
    revision: str


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def _hz(n: int) -> str:
    return f"{n / 1e6:g} MHz"


def processor_name(board: Board) -> str:
    # "cortex-m0plus" -> "Cortex-M0+"
    name = "Arm " + board.core.value.replace("cortex-m", "Cortex-M").replace("plus", "+")
    extras = []
    if board.fpu is not Fpu.NONE:
        extras.append(f"{'double' if board.fpu is Fpu.DOUBLE else 'single'}-precision FPU")
    if board.mve is not Mve.NONE:
        extras.append("Helium (MVE" + ("-F" if board.mve is Mve.FLOAT else "-I") + ")")
    return name + (f" with {', '.join(extras)}" if extras else "")


def emulation_note(board: Board) -> Optional[str]:
    if not isinstance(board.flash, QemuFlash):
        return None
    return (f"Emulated board: QEMU machine {board.flash.machine} with -icount shift={board.flash.icount_shift}. "
            "Every timer counts executed instructions, so the times and throughputs are virtual time under "
            "-icount, not a measurement of hardware: a rehearsal of the submission, not a publishable result.")


def system_description(board: Board, *, runtimes: Sequence[str], kernels: Sequence[str], version: str,
                       pins: Sequence[Pin], toolchain: str, optimization: str,
                       runner_revision: Optional[str], status: str = STATUS_AVAILABLE) -> dict[str, Any]:
    runtime_text = ", ".join(sorted(set(runtimes)))
    hardware_notes = [f"{board.description or board.name}."]
    note = emulation_note(board)
    if note:
        hardware_notes.append(note)
    software_notes = [f"Firmware generated and built by tinyflash {version}: runtime {runtime_text}, "
                      f"kernels {', '.join(sorted(set(kernels)))}, {toolchain} {optimization}; "
                      "the same firmware ran the accuracy and performance modes.",
                      "Results from the MLCommons Python runner (benchmark/runner)"
                      + (f" at mlcommons/tiny {runner_revision}" if runner_revision else "") + "."]
    if note:
        software_notes.append("Emulated: times are virtual time under QEMU -icount.")
    return {
        "Status": status,
        "Board Name": board.description or board.name,
        "Processor(s) Name": processor_name(board),
        "Processor(s) Frequencies": _hz(board.clock_hz),
        "Processor memory type and capacity":
            f"{_size(board.memory.flash.size)} code memory, {_size(board.memory.ram.size)} RAM"
            + (f", {_size(board.memory.tcm.size)} TCM" if board.memory.tcm else ""),
        "Accelerator": "None",
        "Accelerator(s) Frequencies": "N/A",
        "Accelerator memory type and capacity": "N/A",
        "Hardware Notes": " ".join(hardware_notes),
        "Inference Framework": f"tinyflash {version} ({runtime_text})",
        "Software Libraries": ", ".join([f"{p.name} {p.revision}" for p in pins] + [toolchain]),
        "Software Notes": " ".join(software_notes),
    }
