"""CONV_2D with the residual ADD after it folded in (#14.2, ops/conv_residual.py) and the CONV_2D kernel
variants of tf_fast_conv.h (int16 pre-widened weights, int8 weights): equal to TFLM's reference kernels
on the host, portable and DSP paths, with the output written over the skip tensor where it dies."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyflash.generate.runtime.aot.codegen import plan_graph
from tinyflash.generate.runtime.aot.ops import conv as conv_ops
from tinyflash.model.graph import Graph

from ..support.model_builder import ModelBuilder, q
from ..support.op_harness import check_against_tflm
from ..support.synthetic_layers import assert_not_all_clamped


def resnet_block(seed: int, shape: tuple[int, int, int], mid: int, position: int, activation: str) -> Graph:
    """x -> conv -> conv (+ x): the second convolution feeds ADD input `position`."""
    b = ModelBuilder(seed=seed)
    h, w, c = shape
    x = b.model_input("x", (1, h, w, c), quant=q(0.05, 3))
    y = b.conv(x, mid, kernel=3, activation="RELU", name="c1")
    z = b.conv(y, c, kernel=3, name="c2")
    inputs = (z, x) if position == 0 else (x, z)
    r = b.op("ADD", inputs, "residual", (1, h, w, c), calibrate=True, activation=activation)
    return b.graph(r)


BLOCKS = [
    # (name, input h w c, middle depth, ADD input the conv feeds, ADD activation)
    ("c8-even", (6, 6, 8), 8, 0, "RELU"),
    ("c4-odd-pixels", (5, 5, 4), 8, 1, "NONE"),
    ("c5-odd-channels-wide", (5, 7, 5), 4, 0, "RELU"),     # input depth 5: the natural-order int16 path
    ("c3-rgb", (7, 5, 3), 6, 1, "RELU6"),
]


@pytest.mark.parametrize("case", BLOCKS, ids=[c[0] for c in BLOCKS])
def test_a_fused_residual_equals_tflm_and_writes_over_the_skip(case: tuple, tmp_path: Path) -> None:
    name, shape, mid, position, activation = case
    graph = resnet_block(40 + BLOCKS.index(case), shape, mid, position, activation)
    for dsp in (False, True):
        plan = plan_graph(graph, dsp_kernels=dsp)
        assert [op.opcode for op in plan.graph.operators] == ["CONV_2D", "CONV_2D"]
        fused = plan.graph.operators[1]
        assert fused.options["residual"]["position"] == position
        # x dies at the fused conv: its output takes x's buffer; peak two tensors, not three
        assert plan.overwrites == {fused.index: len(fused.inputs) - 1}
        assert plan.memory.offset(fused.outputs[0]) == plan.memory.offset(fused.inputs[-1])
    outputs = check_against_tflm(graph, tmp_path, inputs=100, name=name)
    assert_not_all_clamped(outputs)


@pytest.mark.parametrize("position", [0, 1])
def test_helium_fuses_and_writes_over_the_skip(position: int) -> None:
    """Helium folds the ADD too (tf_mve_conv.h tf_mve_res_t); its kernels are checked on the emulated
    Cortex-M55 (tests/integration/test_mve_conv_device.py)."""
    graph = resnet_block(50, (6, 6, 8), 8, position, "RELU")
    plan = plan_graph(graph, mve_kernels=True)
    assert [op.opcode for op in plan.graph.operators] == ["CONV_2D", "CONV_2D"]
    fused = plan.graph.operators[1]
    assert fused.options["residual"]["position"] == position
    assert plan.overwrites == {fused.index: len(fused.inputs) - 1}


def test_int8_weights_when_the_flash_budget_is_spent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WIDEN_FLASH_BUDGET 0: the unfused convolutions keep int8 weights (SXTB16 in the loop)."""
    b = ModelBuilder(seed=60)
    x = b.model_input("x", (1, 5, 7, 8), quant=q(0.05, -2))
    y = b.conv(x, 7, kernel=3, name="c1")
    z = b.conv(y, 12, kernel=1, activation="RELU", name="c2")
    graph = b.graph(z)
    monkeypatch.setattr(conv_ops, "WIDEN_FLASH_BUDGET", 0)
    assert conv_ops.widen_layers(graph) == frozenset()
    outputs = check_against_tflm(graph, tmp_path, inputs=100, name="int8-weights", kernel_sets=("auto",))
    assert_not_all_clamped(outputs)


def test_widened_layers_are_the_most_macs_per_extra_byte_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    b = ModelBuilder(seed=61)
    x = b.model_input("x", (1, 8, 8, 8), quant=q(0.05, 0))
    y = b.conv(x, 8, kernel=3, name="big")                 # 576 weights, 64 pixels
    z = b.conv(y, 8, kernel=3, stride=2, name="strided")   # 576 weights, 16 pixels
    graph = b.graph(z)
    monkeypatch.setattr(conv_ops, "WIDEN_FLASH_BUDGET", 600)
    assert conv_ops.widen_layers(graph) == frozenset({graph.operators[0].index})
