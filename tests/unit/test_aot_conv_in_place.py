"""A pointwise CONV_2D written over its own input (#14.2, conv.py pointwise_in_place): the DSP kernel
gathers a block's pixels into the column buffer before it writes them, so a 1x1 stride-1 layer whose
output is no deeper than its input may take the input's buffer. Equal to TFLM's reference kernels on the
host (the portable kernels, which read while they write, keep two buffers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyflash.generate.runtime.aot.codegen import plan_graph
from tinyflash.model.graph import Graph

from ..support.budget import first_by_default
from ..support.model_builder import ModelBuilder, q
from ..support.op_harness import check_against_tflm
from ..support.synthetic_layers import assert_not_all_clamped


def pointwise_after_conv(seed: int, shape: tuple[int, int, int], mid: int, out_c: int, activation: str) -> Graph:
    """x -> 3x3 conv (mid channels) -> 1x1 conv (out_c): the pointwise layer's input dies at it."""
    b = ModelBuilder(seed=seed)
    h, w, c = shape
    x = b.model_input("x", (1, h, w, c), quant=q(0.05, 3))
    y = b.conv(x, mid, kernel=3, activation="RELU", name="c1")
    z = b.conv(y, out_c, kernel=1, activation=activation, name="pw")
    return b.graph(z)


CASES = [
    # (name, input h w c, pointwise input depth, output depth, activation)
    ("8to8-even-pixels", (4, 6, 4), 8, 8, "RELU"),
    ("8to8-odd-pixels", (5, 3, 4), 8, 8, "NONE"),           # the last pixel alone
    ("64to64-kws", (5, 5, 8), 64, 64, "RELU"),
    ("12to8-shrinks", (3, 5, 4), 12, 8, "RELU6"),
    ("8to7-odd-channels", (3, 3, 4), 8, 7, "NONE"),
    ("6to6-wide", (3, 5, 3), 6, 6, "RELU"),                # input depth not a multiple of 4
]


@pytest.mark.parametrize("case", first_by_default(CASES, 2, ids=lambda c: c[0]))
def test_pointwise_in_place_equals_tflm(case: tuple, tmp_path: Path) -> None:
    name, shape, mid, out_c, activation = case
    graph = pointwise_after_conv(60 + CASES.index(case), shape, mid, out_c, activation)
    pw = graph.operators[1]
    plan = plan_graph(graph, dsp_kernels=True)
    assert plan.overwrites == {pw.index: 0}
    assert plan.memory.offset(pw.outputs[0]) == plan.memory.offset(pw.inputs[0])
    assert plan_graph(graph, dsp_kernels=False).overwrites == {}
    assert plan_graph(graph, mve_kernels=True).overwrites == {}
    outputs = check_against_tflm(graph, tmp_path, inputs=100, name=name)
    assert_not_all_clamped(outputs)


def test_no_pointwise_in_place_when_the_output_is_deeper_or_strided() -> None:
    for out_c, stride in ((12, 1), (8, 2)):
        b = ModelBuilder(seed=70)
        x = b.model_input("x", (1, 4, 4, 4), quant=q(0.05, 3))
        y = b.conv(x, 8, kernel=3, activation="RELU", name="c1")
        z = b.conv(y, out_c, kernel=1, stride=stride, name="pw")
        assert plan_graph(b.graph(z), dsp_kernels=True).overwrites == {}
