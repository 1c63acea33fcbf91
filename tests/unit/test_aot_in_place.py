"""Outputs written over a dying input (OpSupport.overwrites, #14.2) and residual ADDs folded into the layer
before them (fusion.py): the planner's choices, the memory they save, and the generated C still equal to
TFLM's reference kernels."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tinyflash.generate.runtime.aot import ops as aot_ops
from tinyflash.generate.runtime.aot.codegen import plan_graph
from tinyflash.generate.runtime.aot.fusion import fuse_residual_adds
from tinyflash.model.graph import Graph

from ..support.model_builder import ModelBuilder, q
from ..support.op_harness import check_against_tflm
from ..support.synthetic_layers import assert_not_all_clamped


def residual_chain() -> Graph:
    """conv -> LOGISTIC -> HARD_SWISH -> ADD with the conv's input (a skip), then a QUANTIZE."""
    b = ModelBuilder(seed=21)
    x = b.model_input("x", (1, 10, 10, 8), quant=q(0.05, 3))
    y = b.conv(x, 8, kernel=3, name="conv")
    s = b.op("LOGISTIC", (y,), "sigmoid", (1, 10, 10, 8), quant=q(1 / 256, -128))
    h = b.op("HARD_SWISH", (s,), "hswish", (1, 10, 10, 8), calibrate=True)
    r = b.op("ADD", (h, x), "residual", (1, 10, 10, 8), calibrate=True, activation="RELU")
    out = b.op("QUANTIZE", (r,), "requantised", (1, 10, 10, 8), quant=q(b.like(r).quantization.scale * 1.5, -7))
    return b.graph(out)


def test_element_wise_outputs_take_the_buffer_of_the_input_that_dies_and_equal_tflm(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = residual_chain()
    plan = plan_graph(graph, dsp_kernels=True)
    # LOGISTIC over the conv output, HARD_SWISH over that, ADD over its first input (the skip, the model
    # input, is read by the conv and the ADD), QUANTIZE over the ADD's output: one buffer for all four
    assert plan.overwrites == {1: 0, 2: 0, 3: 0, 4: 0}
    offset = plan.memory.offset
    assert len({offset(op.outputs[0]) for op in plan.graph.operators}) == 1
    assert plan.memory.arena_bytes < _arena_without_overwrites(graph, monkeypatch)
    outputs = check_against_tflm(graph, tmp_path, inputs=100, name="residual_chain")
    assert_not_all_clamped(outputs)


def _arena_without_overwrites(graph: Graph, monkeypatch: pytest.MonkeyPatch) -> int:
    with monkeypatch.context() as m:
        for name, support in list(aot_ops.SUPPORTED.items()):
            m.setitem(aot_ops.SUPPORTED, name, replace(support, overwrites=None))
        plan = plan_graph(graph, dsp_kernels=True)
        assert plan.overwrites == {}
        return plan.memory.arena_bytes


def test_no_overwrite_of_an_input_read_later_or_read_twice() -> None:
    b = ModelBuilder(seed=22)
    x = b.model_input("x", (1, 16), quant=q(0.05, 0))
    s = b.op("LOGISTIC", (x,), "sigmoid", (1, 16), quant=q(1 / 256, -128))
    t = b.op("TANH", (s,), "tanh", (1, 16), quant=q(1 / 128, 0))
    twice = b.op("ADD", (t, t), "twice", (1, 16), quant=q(1 / 64, 0), activation="NONE")
    both = b.op("ADD", (twice, s), "both", (1, 16), quant=q(1 / 32, 0), activation="NONE")
    plan = plan_graph(b.graph(both))
    # node 1 keeps s (node 3 reads it), node 2 reads t at both inputs, node 3 takes 'twice'
    assert plan.overwrites == {0: 0, 3: 0}


def test_a_residual_add_folds_into_the_layer_that_feeds_it_only() -> None:
    b = ModelBuilder(seed=23)
    x = b.model_input("x", (1, 6, 6, 4), quant=q(0.05, 0))
    y = b.conv(x, 4, kernel=3, name="c1")
    z = b.conv(y, 4, kernel=3, name="c2")
    r = b.op("ADD", (z, x), "residual", (1, 6, 6, 4), quant=q(0.1, 0), activation="RELU")
    graph = b.graph(r)
    fused = fuse_residual_adds(graph, lambda layer, add: layer.opcode == "CONV_2D")
    assert [op.opcode for op in fused.operators] == ["CONV_2D", "CONV_2D"]
    c2 = fused.operators[1]
    assert c2.inputs[-1] == x and c2.outputs == (r,)
    assert c2.options["residual"] == {"add": 2, "layer_output": z, "position": 0, "activation": "RELU"}
    assert fuse_residual_adds(graph, lambda layer, add: False) is graph
