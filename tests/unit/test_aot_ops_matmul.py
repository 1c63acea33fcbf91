"""The matrix-multiply family of the AOT runtime against TFLM's reference kernels (#13): FULLY_CONNECTED
16x8, TRANSPOSE_CONV and BATCH_MATMUL, one-layer graphs (tests/support/op_graphs_matmul.py), each on 100
random inputs with both kernel sets (SIMD through tf_fast.h's C models of the instructions, and portable),
plus the variants refused at build time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tinyflash.errors import UnsupportedOperatorError
from tinyflash.generate.runtime.aot.codegen import check_graph

from ..support.op_graphs_matmul import batch_matmul_graph, fc16_graph, transpose_conv_graph
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


# TRANSPOSE_CONV: (name, input (h, w, c), out_c, kernel (h, w), stride (h, w), padding, options)
TCONV_CASES = [
    ("tconv-c3-3x3-s2-same", (4, 5, 3), 6, (3, 3), (2, 2), "SAME", {}),
    ("tconv-c8-3x3-s1-valid-no-bias", (3, 4, 8), 5, (3, 3), (1, 1), "VALID", {"bias": False}),
    ("tconv-c4-4x2-s3x2-same-relu-per-tensor", (3, 3, 4), 4, (4, 2), (3, 2), "SAME",
     {"activation": "RELU", "per_channel": False}),
    ("tconv-c5-2x2-s2-valid-relu6", (5, 4, 5), 7, (2, 2), (2, 2), "VALID", {"activation": "RELU6"}),
    ("tconv-c3-3x3-s2-same-odd-out", (4, 5, 3), 6, (3, 3), (2, 2), "SAME", {"out_hw": (7, 9)}),
    ("tconv-c2-5x5-s3-same-batch2", (2, 3, 2), 3, (5, 5), (3, 3), "SAME", {"batches": 2}),
    ("tconv-c1-1x1-s1-valid", (5, 5, 1), 2, (1, 1), (1, 1), "VALID", {}),
    ("tconv16-c8-3x3-s2-same", (4, 3, 8), 3, (3, 3), (2, 2), "SAME", {"dtype": "int16"}),
    ("tconv16-c5-3x3-s2x1-valid-no-bias", (4, 3, 5), 3, (3, 3), (2, 1), "VALID", {"dtype": "int16", "bias": False}),
    ("tconv16-c4-2x2-s3-same-int16-bias-relu", (3, 3, 4), 5, (2, 2), (3, 3), "SAME",
     {"dtype": "int16", "bias_type": "int16", "activation": "RELU", "per_channel": False}),
]


@pytest.mark.parametrize("case", TCONV_CASES, ids=[c[0] for c in TCONV_CASES])
def test_transpose_conv_equals_tflm(case: tuple, tmp_path: Path) -> None:
    name, in_hwc, out_c, kernel, stride, padding, options = case
    graph = transpose_conv_graph(name, in_hwc, out_c, kernel, stride, padding, **options)
    assert_not_all_clamped(check_against_tflm(graph, tmp_path, name=name))
    # int8 always has the SIMD path (input widened in scratch); int16 reads its input in place: depth % 4
    simd = options.get("dtype", "int8") == "int8" or in_hwc[2] % 4 == 0
    assert ("tf_fast_tconv_s" in generated_c(tmp_path)) == simd
    assert "tf_fast_" not in generated_c(tmp_path, "portable")


def test_transpose_conv_16x8_with_a_zero_point_is_refused() -> None:
    graph = transpose_conv_graph("tconv16-zp", (3, 3, 4), 4, (3, 3), (2, 2), "SAME", dtype="int16")
    inp = graph.tensors[2]
    assert inp.quantization is not None
    shifted = dataclasses.replace(inp, quantization=dataclasses.replace(inp.quantization, zero_points=(5,)))
    graph = dataclasses.replace(graph, tensors=graph.tensors[:2] + (shifted,) + graph.tensors[3:])
    with pytest.raises(UnsupportedOperatorError, match="TRANSPOSE_CONV.*zero point 0"):
        check_graph(graph)


# BATCH_MATMUL: (name, lhs shape, rhs shape (None: the lhs tensor is both operands), options)
BMM_CASES = [
    ("bmm-rank2-const-rhs", (3, 5), (5, 4), {}),
    ("bmm-rank3-broadcast-rank2-rhs", (2, 3, 5), (5, 4), {}),
    ("bmm-rank3-adj-x-adj-y-broadcast", (2, 5, 3), (1, 4, 5), {"adj_x": True, "adj_y": True}),
    ("bmm-rank4-by-rank3", (2, 1, 3, 6), (3, 6, 5), {}),
    ("bmm-rank4-both-broadcast", (1, 3, 4, 5), (2, 1, 5, 3), {"adj_y": False}),
    ("bmm-x-xt-activation-rhs", (2, 3, 6), None, {"constant": "none", "adj_y": True}),
    ("bmm-const-lhs-adj-x", (7, 4), (2, 7, 3), {"constant": "lhs", "adj_x": True}),
    ("bmm-odd-depth-adj-y-const", (3, 2, 7), (3, 5, 7), {"adj_y": True}),
    ("bmm16-rank3-const-rhs", (2, 3, 8), (8, 5), {"dtype": "int16"}),
    ("bmm16-xt-x-activation-rhs", (2, 3, 7), None, {"dtype": "int16", "constant": "none", "adj_x": True}),
    ("bmm16-rank4-adj-y-broadcast", (2, 1, 3, 5), (1, 2, 4, 5), {"dtype": "int16", "adj_y": True}),
]


@pytest.mark.parametrize("case", BMM_CASES, ids=[c[0] for c in BMM_CASES])
def test_batch_matmul_equals_tflm(case: tuple, tmp_path: Path) -> None:
    name, lhs_shape, rhs_shape, options = case
    graph = batch_matmul_graph(name, lhs_shape, rhs_shape, **options)
    assert_not_all_clamped(check_against_tflm(graph, tmp_path, name=name))
    assert "tf_fast_bmm" in generated_c(tmp_path)
    assert "tf_batch_matmul_s" in generated_c(tmp_path, "portable")


def test_batch_matmul_int16_with_a_zero_point_is_refused() -> None:
    graph = batch_matmul_graph("bmm16-zp", (2, 3, 8), (8, 5), dtype="int16")
    rhs = graph.tensors[1]
    assert rhs.quantization is not None
    shifted = dataclasses.replace(rhs, quantization=dataclasses.replace(rhs.quantization, zero_points=(3,)))
    graph = dataclasses.replace(graph, tensors=(graph.tensors[0], shifted, graph.tensors[2]))
    with pytest.raises(UnsupportedOperatorError, match="BATCH_MATMUL.*zero point 0"):
        check_graph(graph)
