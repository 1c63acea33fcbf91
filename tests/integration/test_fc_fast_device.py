"""tf_fast_fc.h's FULLY_CONNECTED kernel over int16-widened weights on the real instructions (LDRD,
LDM into r8-r11, SMLAD in inline assembly, which the host harness replaces by C models) of the
emulated Cortex-M7 and Cortex-M4, on the odd shapes of tests/support/fc_cases.py, against TFLM's
reference kernels on the host."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyflash.board import BoardCatalog
from tinyflash.model import resolve_model
from tinyflash.pipeline import build, started_board
from tinyflash.run.golden import Golden

from ..support.budget import first_by_default
from ..support.tflite_writer import write_tflite
from ..support.fc_cases import CASES, fc_graph

pytestmark = pytest.mark.qemu

INPUTS = 6


@pytest.mark.parametrize("board_name", ["mps2-an500", "mps2-an386"])
@pytest.mark.parametrize("case", first_by_default(CASES, 1, ids=lambda c: c[0]))
def test_widened_fc_on_the_core(board_name: str, case: tuple, qemu: None, tmp_path: Path,
                                scons_cache: Path) -> None:
    board = BoardCatalog().load(board_name)
    graph = fc_graph(*case)
    model = write_tflite(graph, tmp_path / f"{case[0]}.tflite")
    golden = Golden(model)
    firmware = build(board, resolve_model(str(model)), out_dir=tmp_path / "fw", cache_dir=scons_cache)
    model_c = (firmware.project.directory / "src" / "runtime" / "model.c").read_text()
    assert "tf_fast_fc_w16_s8(" in model_c, f"{case[0]} did not take the widened kernel; it tests nothing"
    rng = np.random.default_rng(2)
    with started_board(board, firmware.elf, log_path=tmp_path / "serial.log") as session:
        for k in range(INPUTS):
            x = rng.integers(-128, 128, size=graph.input.shape, dtype=np.int8)
            session.load(x.tobytes())
            session.infer(1, 0)
            device = np.frombuffer(session.tf_output(graph.output.elements), dtype=np.int8)
            expected = golden.run(x)
            assert np.array_equal(device, expected), \
                f"input {k}: {int((device != expected).sum())} of {device.size} bytes differ"
