"""The per-layer table of bench --profile: a row-band stage's layers are rows of their own, marked."""

from __future__ import annotations

from typing import Any, Optional

from tinyflash.run.profile import profile_lines


def _row(node: int, op: str, macs: int, instructions: int, stage: Optional[int] = None) -> dict[str, Any]:
    row: dict[str, Any] = {"node": node, "op": op, "output": [1, 4, 4, 8], "macs": macs, "cycles": instructions / 40,
                           "instructions": instructions, "share": 0.25, "per_mac": instructions / macs}
    return row if stage is None else {**row, "stage": stage}


def _profile(rows: list[dict[str, Any]], outside: int) -> dict[str, Any]:
    return {"iterations": 10, "cycles": 0.0, "instructions": sum(r["instructions"] for r in rows) + outside,
            "layers": rows}


def test_stage_layers_are_marked() -> None:
    rows = [_row(0, "CONV_2D", 100, 150, stage=0), _row(1, "DEPTHWISE_CONV_2D", 50, 120, stage=0),
            _row(2, "CONV_2D", 200, 210)]
    lines = profile_lines(_profile(rows, outside=30))
    assert lines[0].endswith("run")
    assert lines[1].split()[1] == "CONV_2D" and lines[1].endswith("bands@0")
    assert lines[2].split()[1] == "DEPTHWISE_CONV_2D" and lines[2].endswith("bands@0") and "2.40" in lines[2]
    assert lines[3].endswith("whole")
    assert "(outside layers: 30 instr)" in lines[4]
    assert lines[5].startswith("bands@0: nodes 0, 1 ran interleaved in row bands")


def test_no_stage_no_column() -> None:
    """A build without stages (and results from before stages) keeps the table it had."""
    lines = profile_lines(_profile([_row(0, "CONV_2D", 100, 150), _row(1, "SOFTMAX", 1, 9)], outside=5))
    assert len(lines) == 4 and not any("bands" in line or line.endswith("whole") for line in lines)
    assert lines[0].endswith("instr/MAC")
