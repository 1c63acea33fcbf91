"""Both AOT kernel sets against TFLM's reference kernels on synthetic one-layer graphs
(tests/support/synthetic_layers.py): the shapes the MLPerf Tiny models never have (dilation, odd depths, VALID
padding, odd pixel counts, strides of 2 on odd sizes, batches, output depths not a multiple of 4,
depth multipliers, padded pools), with and without a ReLU (the requantisation forms).

Each graph is written to a .tflite file (tests/support/tflite_writer.py), the golden is the tflite-micro
package's interpreter on that file, and the generated C, SIMD (tf_fast.h, through C models of the
intrinsics) and portable, is compiled for the host. The Helium kernels and the real SMLAD
instructions are checked on emulated cores in tests/integration/test_kernel_shapes_device.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tinyflash.board import BoardCatalog
from tinyflash.generate.runtime.aot.codegen import AotRuntime
from tinyflash.generate.runtime.aot.host_harness import build_host_model
from tinyflash.model import read_graph
from tinyflash.run.golden import Golden

from ..support.synthetic_layers import (CASE_NAMES, MULTIPLIED, SMLAD_CASES, assert_not_all_clamped, case_graph,
                                        rng_for)
from ..support.tflite_writer import write_tflite

INPUTS = 8


def test_a_written_graph_reads_back_as_itself(tmp_path: Path) -> None:
    for name in CASE_NAMES:
        graph = case_graph(name, "RELU")
        back = read_graph(write_tflite(graph, tmp_path / f"{name}.tflite"))
        assert [(t.shape, t.dtype, t.quantization, t.data) for t in back.tensors] == \
            [(t.shape, t.dtype, t.quantization, t.data) for t in graph.tensors], name
        assert [(o.opcode, o.inputs, o.outputs, o.options) for o in back.operators] == \
            [(o.opcode, o.inputs, o.outputs, o.options) for o in graph.operators], name


@pytest.mark.parametrize("activation", ["NONE", "RELU"])
@pytest.mark.parametrize("case", CASE_NAMES)
def test_both_kernel_sets_equal_tflm(case: str, activation: str, tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    rng = rng_for(case, activation)
    graph = case_graph(case, activation, rng)
    golden = Golden(write_tflite(graph, tmp_path / f"{case}.tflite"))
    board = BoardCatalog().load("mps2-an500")
    models = {}
    for kernels in ("auto", "portable"):
        dest = tmp_path / kernels
        out = AotRuntime().generate(graph, board, dest, options={"kernels": kernels})
        models[kernels] = build_host_model(list(out.sources), [dest], dest)
    model_c = (tmp_path / "auto" / "model.c").read_text()
    if case in SMLAD_CASES:
        assert "tf_fast_" in model_c, "the case did not take the SIMD path; it tests nothing"
        if case.startswith("fc-"):
            assert "tf_fast_fc_w16_s8" in model_c       # the board's flash has room for int16 weights
        elif case in MULTIPLIED:   # the rows kernel where it takes the shape (#14), else the multiplier kernel
            assert "tf_fast_dw_rows_s8" in model_c or "tf_fast_depthwise_m_s8" in model_c
        elif not case.startswith("dw-") and graph.input.shape[-1] % 4:
            assert "tf_fast_conv16_s8" in model_c
    else:
        assert "tf_fast_" not in model_c
    outputs = []
    for _ in range(INPUTS):
        x = rng.integers(-128, 128, size=graph.input.shape, dtype=np.int8)
        expected = golden.run(x)
        for kernels, model in models.items():
            got = model.invoke(x)
            assert np.array_equal(got, expected), \
                f"{kernels}: {int((got != expected).sum())} of {got.size} bytes differ from TFLM"
        outputs.append(expected)
    assert_not_all_clamped(outputs)
