"""tf_fast_dw_rows_s8 (DEPTHWISE_CONV_2D by rows of int16 pairs) on the emulated Cortex-M7 and Cortex-M4
with the real SMLAD/SMLABT/SMLATB, PKHBT/PKHTB and LDRD (inline assembly the host harness replaces by
C), on the shapes of tests/unit/test_aot_depthwise_rows.py, against TFLM's reference kernels; the
single-layer graph's input dies at the layer, so the output is written in place. Slow (-m slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support.device_check import run_on_device
from ..support.synthetic_layers import assert_not_all_clamped, conv_graph, rng_for
from ..unit.test_aot_depthwise_rows import NAMES, ROWS_CASES

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

INPUTS = 4


@pytest.mark.parametrize("board_name", ["mps2-an500", "mps2-an386"])
@pytest.mark.parametrize("name", NAMES)
def test_rows_kernel_on_the_device(name: str, board_name: str, qemu: None, tmp_path: Path,
                                   scons_cache: Path) -> None:
    rng = rng_for(name, "RELU")
    graph = conv_graph(next(c for c in ROWS_CASES if c[0] == name), "RELU", rng)
    run = run_on_device(graph, name, board_name, rng, INPUTS, tmp_path, scons_cache)
    assert "tf_fast_dw_rows_s8" in run.model_c
    assert_not_all_clamped(run.outputs)
