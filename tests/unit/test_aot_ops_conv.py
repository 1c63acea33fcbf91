"""The convolution family against TFLM's reference kernels (#13): DEPTHWISE_CONV_2D with depth multipliers
on small input depths through the SMLAD path (tf_fast.h, C models of the intrinsics) and portable C, and
CONV_2D / DEPTHWISE_CONV_2D 16x8, each on 100 random inputs (tests/support/op_harness.py). The Helium
path of the same layers runs on the emulated Cortex-M55 in tests/integration/test_kernel_shapes_device.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tinyflash.errors import UnsupportedOperatorError
from tinyflash.generate.runtime.aot.codegen import check_graph
from tinyflash.model.graph import Graph, Quantization

from ..support.budget import first_by_default
from ..support.op_graphs_conv import CONV16_CASES, MULTIPLIER_CASES, WIDE_SUMS, conv16_graph, multiplier_graph
from ..support.op_harness import check_against_tflm, generated_c
from ..support.synthetic_layers import assert_not_all_clamped

SLOW_MULTIPLIER = {"dwm-c2-m6-5x5-dil2-same"}     # 25 unrolled taps x 12 channels: long host compiles


def _marked(names: list[str], slow: set[str]) -> list:
    return [pytest.param(n, marks=pytest.mark.slow) if n in slow else n for n in names]


@pytest.mark.parametrize("activation", ["NONE", "RELU"])
@pytest.mark.parametrize("case", _marked([c[0] for c in MULTIPLIER_CASES], SLOW_MULTIPLIER))
def test_depthwise_multiplier_equals_tflm(case: str, activation: str, tmp_path: Path) -> None:
    outputs = check_against_tflm(multiplier_graph(case, activation), tmp_path, name=case)
    assert_not_all_clamped(outputs)
    model_c = generated_c(tmp_path)     # the rows kernel where it takes the shape (#14), else the multiplier kernel
    assert "tf_fast_dw_rows_s8" in model_c or "tf_fast_depthwise_m_s8" in model_c, \
        "the SIMD path was not taken; it tests nothing"


@pytest.mark.parametrize("activation", ["NONE", "RELU"])
@pytest.mark.parametrize("case", first_by_default([c[0] for c in CONV16_CASES], 3))
def test_16x8_equals_tflm(case: str, activation: str, tmp_path: Path) -> None:
    graph = conv16_graph(case, activation)
    outputs = check_against_tflm(graph, tmp_path, name=case)
    assert_not_all_clamped(outputs)
    path = "tf_fast_depthwise_s16" if case.startswith("dw") else "tf_fast_conv_s16"
    if case in WIDE_SUMS:
        path = "tf_conv_s16("      # int32 sums could overflow: the int64 portable kernel on DSP cores too
    assert path in generated_c(tmp_path), f"{path} was not taken; the case tests something else"


def _with_tensor(graph: Graph, index: int, **changes: object) -> Graph:
    tensors = tuple(replace(t, **changes) if t.index == index else t for t in graph.tensors)
    return replace(graph, tensors=tensors)


@pytest.mark.parametrize(("opcode", "graph", "message"), [
    ("DEPTHWISE_CONV_2D",
     _with_tensor(multiplier_graph("dwm-c3-m2-3x3-s1-same", "NONE"), 1,
                  quantization=Quantization((0.01,) * 6, (1,) * 6, 3)),
     "non-zero zero point"),
    ("CONV_2D", _with_tensor(conv16_graph("c16-c8-3x3-s1-same", "NONE"), 0,
                             quantization=Quantization((1.0 / 4096,), (3,))),
     "zero point 0"),
    ("CONV_2D", _with_tensor(conv16_graph("c16-c8-3x3-s1-same", "NONE"), 3,
                             quantization=Quantization((0.5,), (-2,))),
     "zero point 0"),
    ("DEPTHWISE_CONV_2D", _with_tensor(conv16_graph("dw16-c8-3x3-s1-same", "NONE"), 2, dtype="int16"),
     "constant int64 tensor"),
])
def test_refused_variants_name_the_operator(opcode: str, graph: Graph, message: str) -> None:
    with pytest.raises(UnsupportedOperatorError) as err:
        check_graph(graph, dsp_kernels=True)
    assert opcode in str(err.value) and message in str(err.value)
