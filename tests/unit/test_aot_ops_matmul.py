"""The matrix-multiply family of the AOT runtime against TFLM's reference kernels (#13): FULLY_CONNECTED
16x8, TRANSPOSE_CONV and BATCH_MATMUL, one-layer graphs (tests/support/op_graphs_matmul.py), each on 100
random inputs with both kernel sets (SIMD through tf_fast.h's C models of the instructions, and portable),
plus the variants refused at build time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyflash.errors import UnsupportedOperatorError
from tinyflash.generate.runtime.aot.codegen import check_graph

from ..support.op_graphs_matmul import fc16_graph
from ..support.op_harness import check_against_tflm, generated_c
from ..support.synthetic_layers import assert_not_all_clamped

# FULLY_CONNECTED 16x8: (name, batches, in_depth, units, options)
FC16_CASES = [
    ("fc16-b1-d16-u7", 1, 16, 7, {}),
    ("fc16-b3-d20-u5-per-channel-keep-dims", 4, 20, 5, {"per_channel": True, "keep_num_dims": True}),
    ("fc16-b2-d9-u6-int32-bias-relu", 2, 9, 6, {"bias_type": "int32", "activation": "RELU"}),
    ("fc16-b2-d64-u8-offsets-relu6", 2, 64, 8, {"in_zp": 3, "out_zp": -5, "activation": "RELU6"}),
    ("fc16-b5-d36-u3-int32-bias-per-channel", 5, 36, 3, {"bias_type": "int32", "per_channel": True}),
]


@pytest.mark.parametrize("case", FC16_CASES, ids=[c[0] for c in FC16_CASES])
def test_fully_connected_16x8_equals_tflm(case: tuple, tmp_path: Path) -> None:
    name, batches, depth, units, options = case
    graph = fc16_graph(name, batches, depth, units, **options)
    assert_not_all_clamped(check_against_tflm(graph, tmp_path, name=name))
    # the SIMD kernel needs whole words of four weights
    assert ("tf_fast_fc_s16" in generated_c(tmp_path)) == (depth % 4 == 0)
    assert "tf_fully_connected_s16" in generated_c(tmp_path, "portable")


def test_fully_connected_16x8_without_bias_is_refused() -> None:
    graph = fc16_graph("fc16-no-bias", 1, 8, 4)
    op = graph.operators[0]
    no_bias = type(graph)(graph.tensors, (type(op)(0, op.opcode, 1, (0, 1, -1), (3,), op.options),), (0,), (3,))
    with pytest.raises(UnsupportedOperatorError, match="FULLY_CONNECTED.*without a bias"):
        check_graph(no_bias)
