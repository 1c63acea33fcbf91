"""The shape-specialised SIMD kernels (tf_fast.h) against the generic portable kernels (tf_conv.c,
tf_fully_connected.c: bit-exact with TFLM on every MLPerf Tiny model) on synthetic one-layer graphs:
the shapes the reference models never have (dilation, odd depths, VALID padding, odd pixel counts,
strides of 2 on odd sizes, batches, output depths not a multiple of 4), with and without a ReLU (the
requantisation forms). Both compile for the host; outputs must be equal."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tinyflash.board import BoardCatalog
from tinyflash.generate.runtime.aot.codegen import AotRuntime
from tinyflash.generate.runtime.aot.host_harness import build_host_model

from ..synthetic_layers import CONV_CASES, FC_CASES, case_graph, rng_for


@pytest.mark.parametrize("activation", ["NONE", "RELU"])
@pytest.mark.parametrize("case", CONV_CASES + FC_CASES, ids=[c[0] for c in CONV_CASES + FC_CASES])
def test_fast_kernel_equals_generic(case: tuple, activation: str, tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    rng = rng_for(case[0], activation)
    graph = case_graph(case[0], activation, rng)
    board = BoardCatalog().load("mps2-an500")
    models = {}
    for kernels in ("auto", "portable"):
        dest = tmp_path / kernels
        out = AotRuntime().generate(graph, board, dest, options={"kernels": kernels})
        models[kernels] = build_host_model(list(out.sources), [dest], dest)
    model_c = (tmp_path / "auto" / "model.c").read_text()
    assert "tf_fast_" in model_c, "the case did not take the SIMD path; it tests nothing"
    if case[0].startswith("fc-"):
        assert "tf_fast_fc_s8" in model_c
    elif not case[1] and case[2][2] % 4:
        assert "tf_fast_conv16_s8" in model_c
    outputs = []
    for _ in range(8):
        x = rng.integers(-128, 128, size=graph.input.shape, dtype=np.int8)
        fast, generic = models["auto"].invoke(x), models["portable"].invoke(x)
        assert np.array_equal(fast, generic), f"{int((fast != generic).sum())} of {fast.size} bytes differ"
        outputs.append(generic)
    values = np.concatenate(outputs)
    # the comparison means something only if the outputs are not all clamped
    assert len(np.unique(values)) > min(20, values.size // 4)
