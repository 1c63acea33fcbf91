"""tf_fast_dw_rows_s8 (DEPTHWISE_CONV_2D by rows of int16 pairs) on the emulated Cortex-M7 and Cortex-M4
with the real SMLAD/SMLABT/SMLATB, PKHBT/PKHTB and LDRD (inline assembly the host harness replaces by
C), on the shapes of tests/unit/test_aot_depthwise_rows.py, against TFLM's reference kernels; the
single-layer graph's input dies at the layer, so the output is written in place. Slow (-m slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyflash.board import BoardCatalog
from tinyflash.model import resolve_model
from tinyflash.pipeline import build, started_board
from tinyflash.run.golden import Golden

from ..support.synthetic_layers import assert_not_all_clamped, conv_graph, rng_for
from ..support.tflite_writer import write_tflite
from ..unit.test_aot_depthwise_rows import NAMES, ROWS_CASES

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

INPUTS = 4


@pytest.mark.parametrize("board_name", ["mps2-an500", "mps2-an386"])
@pytest.mark.parametrize("name", NAMES)
def test_rows_kernel_on_the_device(name: str, board_name: str, qemu: None, tmp_path: Path,
                                   scons_cache: Path) -> None:
    board = BoardCatalog().load(board_name)
    rng = rng_for(name, "RELU")
    graph = conv_graph(next(c for c in ROWS_CASES if c[0] == name), "RELU", rng)
    model = write_tflite(graph, tmp_path / f"{name}.tflite")
    golden = Golden(model)
    firmware = build(board, resolve_model(str(model)), out_dir=tmp_path / "fw", cache_dir=scons_cache)
    model_c = (firmware.project.directory / "src" / "runtime" / "model.c").read_text()
    assert "tf_fast_dw_rows_s8" in model_c
    outputs = []
    with started_board(board, firmware.elf, log_path=tmp_path / "serial.log") as session:
        for k in range(INPUTS):
            x = rng.integers(-128, 128, size=graph.input.shape, dtype=np.int8)
            session.load(x.tobytes())
            session.infer(1, 0)
            device = np.frombuffer(session.tf_output(graph.output.elements), dtype=np.int8)
            expected = golden.run(x)
            assert np.array_equal(device, expected), \
                f"input {k}: {int((device != expected).sum())} of {device.size} bytes differ"
            outputs.append(expected)
    assert_not_all_clamped(outputs)
