"""The model zoo check (#13.3) without a device: a model that cannot be read or has no runtime is a row
with its reason, and the check goes on to the next one; the table has one row per model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyflash.board import BoardCatalog
from tinyflash.deps.sources import TFLM_DIR_ENV
from tinyflash.generate.runtime.aot import ops as aot_ops
from tinyflash.report.zoo import ZooRow, check_models, markdown_table

from ..support.synthetic_layers import case_graph
from ..support.tflite_writer import write_tflite


def test_failures_are_rows_and_never_stop_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "a_corrupt.tflite").write_bytes(b"not a flatbuffer at all")
    write_tflite(case_graph("fc-b1-20x7", "RELU"), zoo / "b_fc.tflite")
    write_tflite(case_graph("c8-1x1", "NONE"), zoo / "c_conv.tflite")
    (zoo / "notes.txt").write_text("not a model")
    monkeypatch.setenv(TFLM_DIR_ENV, str(tmp_path / "no-tflm"))
    monkeypatch.delitem(aot_ops.SUPPORTED, "FULLY_CONNECTED")
    monkeypatch.delitem(aot_ops.SUPPORTED, "CONV_2D")
    seen: list[str] = []
    rows = check_models(zoo, BoardCatalog(environ={}).load("mps2-an500"), out_root=tmp_path / "out",
                        on_row=lambda row: seen.append(row.model))
    assert seen == [row.model for row in rows] == ["a_corrupt.tflite", "b_fc.tflite", "c_conv.tflite"]
    corrupt, fc, conv = rows
    assert corrupt.stage == "read" and corrupt.problem and corrupt.operators == ()
    assert fc.stage == "runtime" and fc.operators == ("FULLY_CONNECTED",) and fc.nodes == 1
    assert fc.problem.startswith("no runtime can run b_fc (--runtime auto):")
    assert "FULLY_CONNECTED (node 0)" in fc.problem
    assert conv.stage == "runtime" and "CONV_2D (node 0)" in conv.problem
    assert all(row.runtime is None and row.verified is None for row in rows)
    table = markdown_table(rows).splitlines()
    assert len(table) == 2 + 3
    assert table[3].startswith("| b_fc.tflite | 1: FULLY_CONNECTED | - | - | - | - | - | - | runtime: no runtime")
    assert all("\n" not in line for line in table)
    assert not (tmp_path / "out").exists()        # nothing was generated for a model no runtime takes


def test_a_verified_row_shows_its_numbers() -> None:
    row = ZooRow("ad01_int8.tflite", ("FULLY_CONNECTED",), 10, "aot", "aot runs every operator", True, 0,
                 411_801, 264_192, 768, 311_652)
    assert markdown_table([row]).splitlines()[2] == \
        "| ad01_int8.tflite | 10: FULLY_CONNECTED | aot | passed (max diff 0) | 411,801 | 1.56 | 768 B | 311,652 B |  |"
    assert row.to_json()["instructions_per_mac"] == 1.559
    failed = ZooRow("x.tflite", verified=False, max_abs_diff=7, problem="a | b\nc", stage="run")
    assert "FAILED (max diff 7)" in markdown_table([failed]) and "run: a / b / c" in markdown_table([failed])
