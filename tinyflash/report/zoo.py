"""The model zoo check (#13.3): build and verify every ``.tflite`` of a folder on one board, one row each.

Each model goes through the same library calls as ``tinyflash bench`` (the runtime chosen as
``--runtime`` says, auto by default; the default output folder; the TFLM golden). A model that cannot
run is a row with the reason, never the end of the check: the point is to see which models of a
collection tinyflash takes, and how fast they run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from tinyflash.board.schema import Board
from tinyflash.errors import TinyflashError
from tinyflash.events import Progress, ProgressEvent, Stage, quiet
from tinyflash.generate.project import BuildOptions


@dataclass(frozen=True)
class ZooRow:
    model: str                          # file name
    operators: tuple[str, ...] = ()     # the operators the graph runs (distinct, sorted)
    nodes: int = 0
    runtime: Optional[str] = None       # the runtime that built it (None: none could)
    runtime_reason: str = ""
    verified: Optional[bool] = None     # device outputs within tolerance of the golden
    max_abs_diff: Optional[int] = None
    instructions: Optional[int] = None  # per inference (emulated boards: QEMU -icount)
    macs: int = 0
    arena_bytes: Optional[int] = None
    flash_bytes: Optional[int] = None
    stage: str = ""                     # where it stopped: read, runtime, build, run
    problem: str = ""                   # why it cannot run (the error, without its hint)

    @property
    def instructions_per_mac(self) -> Optional[float]:
        return self.instructions / self.macs if self.instructions is not None and self.macs else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "operators": list(self.operators),
                "instructions_per_mac": None if self.instructions_per_mac is None
                else round(self.instructions_per_mac, 3)}


def check_model(path: Path, board: Board, *, runtime: str = "auto", options: BuildOptions = BuildOptions(),
                verify_count: int = 3, out_root: Optional[Path] = None, progress: Progress = quiet) -> ZooRow:
    """Build, verify and measure one model on ``board``; any TinyflashError becomes the row's problem."""
    from tinyflash import pipeline
    from tinyflash.model import read_graph, resolve_model

    row = ZooRow(path.name)
    stage = "read"
    try:
        spec = resolve_model(str(path))
        graph = read_graph(path)
        row = ZooRow(path.name, graph.used_opcodes(), len(graph.operators))
        stage = "runtime"
        choice = pipeline.choose_runtime(board, spec, runtime, options)
        row = ZooRow(**{**asdict(row), "runtime": choice.name, "runtime_reason": choice.reason})
        out = pipeline.default_out_dir(board, spec, choice.name, options.kernels, options.profile)
        if out_root is not None:
            out = out_root / out.relative_to("tinyflash-out")
        with pipeline.exclusive_out_dir(out):
            stage = "build"
            firmware = pipeline.build(board, spec, runtime=choice, out_dir=out, options=options, progress=progress)
            row = ZooRow(**{**asdict(row), "macs": firmware.project.macs,
                            "arena_bytes": firmware.project.activation_bytes,
                            "flash_bytes": firmware.size.flash_bytes})
            stage = "run"
            result = pipeline.run(firmware, verify_count=verify_count, progress=progress)
    except TinyflashError as exc:
        return ZooRow(**{**asdict(row), "stage": stage, "problem": exc.message})
    return ZooRow(**{**asdict(row), "verified": result.verification.passed,
                     "max_abs_diff": result.verification.max_abs_diff,
                     "instructions": result.performance.instructions})


def check_models(directory: Path, board: Board, *, runtime: str = "auto", options: BuildOptions = BuildOptions(),
                 verify_count: int = 3, out_root: Optional[Path] = None, progress: Progress = quiet,
                 on_row: Callable[[ZooRow], None] = lambda row: None) -> list[ZooRow]:
    """Every ``*.tflite`` directly in ``directory``, sorted by name; ``on_row`` sees each row as it is done."""
    rows = []
    models = sorted(directory.glob("*.tflite"))
    for i, path in enumerate(models, 1):
        progress(ProgressEvent(Stage.BUILD, f"[{i}/{len(models)}] {path.name}"))
        row = check_model(path, board, runtime=runtime, options=options, verify_count=verify_count,
                          out_root=out_root, progress=progress)
        on_row(row)
        rows.append(row)
    return rows


COLUMNS = ("model", "operators", "runtime", "verification", "instructions", "per MAC", "arena", "flash",
           "cannot run because")


def _cells(row: ZooRow) -> tuple[str, ...]:
    if row.verified is None:
        verification = "-"
    else:
        verification = ("passed" if row.verified else "FAILED") + f" (max diff {row.max_abs_diff})"
    per_mac = row.instructions_per_mac
    return (row.model,
            f"{row.nodes}: {', '.join(row.operators)}" if row.operators else "-",
            row.runtime or "-",
            verification,
            f"{row.instructions:,}" if row.instructions is not None else "-",
            f"{per_mac:.2f}" if per_mac is not None else "-",
            f"{row.arena_bytes:,} B" if row.arena_bytes is not None else "-",
            f"{row.flash_bytes:,} B" if row.flash_bytes is not None else "-",
            f"{row.stage}: {row.problem}".replace("\n", " / ") if row.problem else "")


def markdown_table(rows: Sequence[ZooRow]) -> str:
    """The rows as a Markdown table (readable as plain text too); a cell never holds a '|' or a newline."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in _cells(row)) + " |")
    return "\n".join(lines)
