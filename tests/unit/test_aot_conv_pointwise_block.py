"""tf_fast_conv_pw_s8 (shallow pointwise CONV_2D, channel-outer over blocks of TF_PW_BLOCK pixels) against
TFLM's reference kernel: input depths 4, 12 and 16, full blocks with and without a short last block (its
pixel loop is not unrolled), odd output depths, with and without a ReLU. The host build runs the kernel's
C models of SMLAD / SMMLA / SSAT; tests/integration/test_kernel_shapes_device.py's c8-1x1 runs the real
instructions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tinyflash.board import BoardCatalog
from tinyflash.generate.runtime.aot.codegen import AotRuntime
from tinyflash.generate.runtime.aot.host_harness import build_host_model
from tinyflash.run.golden import Golden

from ..support.op_harness import equal_on_random_inputs
from ..support.synthetic_layers import assert_not_all_clamped, conv_graph, rng_for
from ..support.tflite_writer import write_tflite

# (name, depthwise, in (h, w, c), out_c, filter, stride, dilation, padding), as synthetic_layers.CONV_CASES
CASES = [
    ("pw-c16-35px", False, (5, 7, 16), 9, (1, 1), 1, 1, "VALID"),    # 2 blocks + 3 pixels, odd depth
    ("pw-c12-32px", False, (4, 8, 12), 20, (1, 1), 1, 1, "SAME"),    # exactly 2 blocks
    ("pw-c4-9px", False, (3, 3, 4), 3, (1, 1), 1, 1, "VALID"),       # the short block only
]
INPUTS = 6


@pytest.mark.parametrize("activation", ["NONE", "RELU"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_pointwise_blocks_equal_tflm(case: tuple, activation: str, tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    rng = rng_for(case[0], activation)
    graph = conv_graph(case, activation, rng)
    golden = Golden(write_tflite(graph, tmp_path / f"{case[0]}.tflite"))
    out = AotRuntime().generate(graph, BoardCatalog().load("mps2-an500"), tmp_path, options={"kernels": "auto"})
    assert "tf_fast_conv_pw_s8" in (tmp_path / "model.c").read_text()
    model = build_host_model(list(out.sources), [tmp_path], tmp_path)
    assert_not_all_clamped(equal_on_random_inputs(model, golden, graph, rng, INPUTS))
