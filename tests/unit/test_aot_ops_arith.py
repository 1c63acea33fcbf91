"""The aot runtime's arithmetic and reduction operators (ADD, SUB, MUL, SQUARED_DIFFERENCE, MEAN,
ARG_MAX) against TFLM's reference kernels, bit for bit on 100 random inputs each, through the portable
kernels and the DSP build (#13); and the variants refused on purpose, refused at build time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyflash.errors import UnsupportedOperatorError
from tinyflash.generate.runtime.aot.codegen import graph_problems
from tinyflash.generate.runtime.aot.ops.broadcast import loop_nest
from tinyflash.model.graph import Graph

from tests.support.op_graphs_arith import Operand, arg_max_graph, binary_graph, mean_graph
from tests.support.op_harness import check_against_tflm, generated_c
from tests.support.synthetic_layers import assert_not_all_clamped

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
# (name, operand 1, operand 2): same shape, scalar, last axis, middle axes, 4-D both sides, first input
# broadcast, lower rank; constants on either side
SHAPES = {
    "same": ((1, 4, 5, 6), (1, 4, 5, 6)),
    "scalar": ((1, 4, 5, 6), ()),
    "last-axis": ((1, 4, 5, 6), (6,)),
    "middle": ((2, 4, 5, 6), (1, 4, 1, 6)),
    "both-4d": ((1, 4, 1, 6), (1, 1, 5, 6)),
    "first-broadcasts": ((1, 1, 1, 6), (2, 3, 5, 6)),
    "rank5": ((2, 1, 3, 4, 5), (3, 1, 5)),
}
# (input 1 scale, input 2 scale, output scale): output multipliers below and above one
# the default run takes these (dtype, shape) pairs of the shape matrix; the rest are marked slow (CI budget)
QUICK_SHAPES = {("int8", "same"), ("int8", "last-axis"), ("int8", "both-4d"), ("int16", "scalar"),
                ("int16", "middle")}
SLOW = pytest.mark.slow
SHAPE_MATRIX = [pytest.param(dtype, shape, marks=() if (dtype, shape) in QUICK_SHAPES else SLOW, id=f"{dtype}-{shape}")
                for dtype in ("int8", "int16") for shape in SHAPES]
# every activation for int8, one for int16 by default
ACTIVATION_MATRIX = [pytest.param(dtype, act, marks=() if dtype == "int8" or act == "RELU6" else SLOW,
                                  id=f"{dtype}-{act}") for dtype in ("int8", "int16") for act in ACTIVATIONS]
SCALES = {"even": (0.05, 0.05, 0.08), "skewed": (0.1, 0.013, 0.04), "fine-out": (0.02, 0.07, 0.011)}


def _operands(shape_name: str, dtype: str, scales: tuple[float, float, float], const: int | None,
              zps: tuple[int, int, int] = (3, -7, 5)) -> tuple[Operand, Operand, float, int]:
    a_shape, b_shape = SHAPES[shape_name]
    if dtype == "int16":          # symmetric, and a range like int8's: scales 1/256 of int8's
        zps = (0, 0, 0)
        scales = (scales[0] / 256, scales[1] / 256, scales[2] / 256)
    return (Operand(a_shape, scales[0], zps[0], const == 0), Operand(b_shape, scales[1], zps[1], const == 1),
            scales[2], zps[2])


def _check(graph: Graph, tmp_path: Path, name: str) -> list[np.ndarray]:
    outputs = check_against_tflm(graph, tmp_path, name=name)
    assert_not_all_clamped(outputs)
    return outputs


# --- loop nest ------------------------------------------------------------------------------------
def test_loop_nest_fuses_as_tflm() -> None:
    assert loop_nest((1, 4, 5, 6), (6,), (1, 4, 5, 6)) == [(6, 1, 1), (20, 6, 0)]
    assert loop_nest((2, 3), (2, 3), (2, 3)) == [(6, 1, 1)]
    assert loop_nest((4, 1), (1, 5), (4, 5)) == [(5, 0, 1), (4, 1, 0)]
    assert loop_nest((), (), ()) == [(1, 1, 1)]


# --- ADD -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,shape", SHAPE_MATRIX)
def test_add_broadcasts_as_tflm(tmp_path: Path, shape: str, dtype: str) -> None:
    a, b, so, zo = _operands(shape, dtype, SCALES["skewed"], None)
    _check(binary_graph("ADD", dtype, a, b, so, zo), tmp_path, f"add-{dtype}-{shape}")


@pytest.mark.parametrize("dtype,activation", ACTIVATION_MATRIX)
def test_add_activations_and_constants(tmp_path: Path, activation: str, dtype: str) -> None:
    const = ACTIVATIONS.index(activation) % 2
    shape = "last-axis" if activation in ("RELU", "RELU6") else "same"
    a, b, so, zo = _operands(shape, dtype, SCALES["fine-out"], const)
    _check(binary_graph("ADD", dtype, a, b, so, zo, activation=activation), tmp_path, f"add-{activation}")


def test_add_same_shape_int8_keeps_its_kernel(tmp_path: Path) -> None:
    a, b, so, zo = _operands("same", "int8", SCALES["even"], None)
    _check(binary_graph("ADD", "int8", a, b, so, zo), tmp_path, "add-same")
    assert "tf_add_s8(&tf_n1_params" in generated_c(tmp_path, "portable")


@pytest.mark.parametrize("pot", [True, pytest.param(False, marks=SLOW)])
def test_add_int16_ignores_pot_scale_as_tflm(tmp_path: Path, pot: bool) -> None:
    # power-of-two scales, as a pot_scale_int16 model has them: TFLM still rescales generally
    a, b, so, zo = _operands("same", "int16", (2.0 ** -12, 2.0 ** -10, 2.0 ** -11), None)
    _check(binary_graph("ADD", "int16", a, b, so, zo, options={"pot_scale_int16": pot}), tmp_path, "add-pot")


# --- SUB ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,shape", SHAPE_MATRIX)
def test_sub_broadcasts_as_tflm(tmp_path: Path, shape: str, dtype: str) -> None:
    scales = SCALES["even"] if shape in ("same", "middle") else SCALES["fine-out"]
    a, b, so, zo = _operands(shape, dtype, scales, None)
    _check(binary_graph("SUB", dtype, a, b, so, zo, options={"pot_scale_int16": False}), tmp_path, "sub")


@pytest.mark.parametrize("dtype,activation", ACTIVATION_MATRIX)
def test_sub_activations_and_constants(tmp_path: Path, activation: str, dtype: str) -> None:
    const = ACTIVATIONS.index(activation) % 2
    a, b, so, zo = _operands("scalar" if const else "middle", dtype, SCALES["skewed"], const)
    _check(binary_graph("SUB", dtype, a, b, so, zo, activation=activation), tmp_path, f"sub-{activation}")


def test_sub_int16_pot_scale(tmp_path: Path) -> None:
    a, b, so, zo = _operands("last-axis", "int16", (2.0 ** -12, 2.0 ** -12, 2.0 ** -11), None)
    _check(binary_graph("SUB", "int16", a, b, so, zo, options={"pot_scale_int16": True}), tmp_path, "sub-pot")


# --- MUL ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,shape", SHAPE_MATRIX)
def test_mul_broadcasts_as_tflm(tmp_path: Path, shape: str, dtype: str) -> None:
    s1, s2 = SCALES["skewed"][:2]
    out = s1 * s2 * (60.0 if dtype == "int8" else 6000.0)
    a, b, so, zo = _operands(shape, dtype, (s1, s2, out), None)
    _check(binary_graph("MUL", dtype, a, b, so, zo), tmp_path, "mul")


@pytest.mark.parametrize("dtype,activation", ACTIVATION_MATRIX)
def test_mul_activations_and_constants(tmp_path: Path, activation: str, dtype: str) -> None:
    # inputs within [-1, 1], the output finer than the activations' ranges
    const = ACTIVATIONS.index(activation) % 2
    a, b, so, zo = _operands("last-axis" if const else "same", dtype, (1 / 128, 1 / 100, 1 / 100), const)
    _check(binary_graph("MUL", dtype, a, b, so, zo, activation=activation), tmp_path, f"mul-{activation}")


@pytest.mark.parametrize("dtype", ["int8", pytest.param("int16", marks=SLOW)])
@pytest.mark.parametrize("multiplier", [3.3, 1 / 150])      # the output multiplier above and below one
def test_mul_scale_ratios(tmp_path: Path, dtype: str, multiplier: float) -> None:
    s1, s2 = 0.08, 0.03
    a, b, so, zo = _operands("middle", dtype, (s1, s2, s1 * s2 / multiplier * (256 if dtype == "int16" else 1)), 1)
    _check(binary_graph("MUL", dtype, a, b, so, zo), tmp_path, "mul-ratio")


# --- SQUARED_DIFFERENCE -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,shape", SHAPE_MATRIX)
def test_squared_difference_as_tflm(tmp_path: Path, shape: str, dtype: str) -> None:
    s1, s2 = SCALES["skewed"][:2]
    a, b, so, zo = _operands(shape, dtype, (s1, s2, s1 * s1 * (20.0 if dtype == "int8" else 2000.0)), None,
                             zps=(3, -7, -100))
    _check(binary_graph("SQUARED_DIFFERENCE", dtype, a, b, so, zo, activation=None), tmp_path, "sqd")


@pytest.mark.parametrize("const", [0, pytest.param(1, marks=SLOW)])
def test_squared_difference_constant_operand(tmp_path: Path, const: int) -> None:
    a, b, so, zo = _operands("last-axis", "int8", (0.05, 0.02, 0.01), const, zps=(3, -7, -128))
    _check(binary_graph("SQUARED_DIFFERENCE", "int8", a, b, so, zo, activation=None), tmp_path, "sqd-const")


# --- MEAN ---------------------------------------------------------------------------------------------------
MEAN_CASES = [
    # (shape, axes, keep_dims): TFLM's 4-D H,W case, negative and repeated axes, last axis, all axes
    ((1, 5, 7, 6), (1, 2), True),
    ((2, 5, 7, 6), (2, 1), False),
    ((1, 5, 7, 6), (-2, -3, 1), True),
    ((2, 3, 4, 5), (-1,), False),
    ((2, 3, 4, 5), (0, 2), True),
    ((3, 4, 5), (0, 1, 2), False),
    ((6, 9), (0,), True),
    ((2, 3, 4, 5, 3), (1, 3), False),
]


MEAN_MATRIX = [pytest.param(dtype, case, marks=() if (dtype == "int8" and k < 6) or (dtype == "int16" and k in (0, 3))
                             else SLOW, id=f"{dtype}-{case[0]}-{case[1]}-{case[2]}")
               for dtype in ("int8", "int16") for k, case in enumerate(MEAN_CASES)]


@pytest.mark.parametrize("dtype,case", MEAN_MATRIX)
def test_mean_as_tflm(tmp_path: Path, case: tuple, dtype: str) -> None:
    shape, axes, keep = case
    zp_in, zp_out = (5, -3) if dtype == "int8" else (0, 0)
    g = mean_graph(dtype, shape, axes, keep, in_scale=0.1, in_zp=zp_in, out_scale=0.1 / (2 + len(axes)), out_zp=zp_out)
    _check(g, tmp_path, "mean")


@pytest.mark.parametrize("ratio", [0.25, pytest.param(1.0, marks=SLOW), 3.0])
def test_mean_scale_ratios(tmp_path: Path, ratio: float) -> None:
    g = mean_graph("int8", (1, 4, 4, 8), (1, 2), True, in_scale=0.05, in_zp=-2, out_scale=0.05 * ratio / 8, out_zp=4)
    _check(g, tmp_path, "mean-ratio")


# --- ARG_MAX ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,axis", [((1, 10), 1), ((1, 10), -1), ((3, 4, 5), 0), ((2, 3, 4, 5), 2),
                                        pytest.param((2, 3, 4, 2), -3, marks=SLOW), pytest.param((1, 1000), 1, marks=SLOW)])
def test_arg_max_as_tflm(tmp_path: Path, shape: tuple[int, ...], axis: int) -> None:
    outputs = check_against_tflm(arg_max_graph(shape, axis), tmp_path, name="arg-max")
    assert len(np.unique(np.concatenate(outputs))) > 1


# --- refused on purpose -----------------------------------------------------------------------------------------------
def _refused(graph: Graph, opcode: str, words: str) -> None:
    """The operator's own check refuses the graph, saying why (other problems, such as an int64 model
    output, may be reported beside it)."""
    problems = [p for p in graph_problems(graph) if isinstance(p, UnsupportedOperatorError) and p.operator == opcode]
    assert problems and words in str(problems[0]), [str(p) for p in graph_problems(graph)]


def test_refusals_of_binary_operators() -> None:
    sixteen = Operand((1, 4, 6), 2.0 ** -10, 3)
    for opcode in ("ADD", "SUB", "MUL", "SQUARED_DIFFERENCE"):
        activation = None if opcode == "SQUARED_DIFFERENCE" else "NONE"
        _refused(_both_constant(opcode), opcode, "both inputs are constant")
        _refused(binary_graph(opcode, "int16", sixteen, Operand((6,), 2.0 ** -10), 2.0 ** -9,
                              activation=activation), opcode, "zero point 0")
    _refused(binary_graph("ADD", "int8", Operand((4, 6), 0.1), Operand((6,), 0.1), 0.1, activation="TANH"),
             "ADD", "fused activation TANH")


def _both_constant(opcode: str) -> Graph:
    from tests.support.op_graphs_arith import _Builder, quant
    b = _Builder()
    x = b.tensor("input", (4, 6), "int8", quant(0.1, 0))
    c1 = b.tensor("c1", (4, 6), "int8", quant(0.1, 0), bytes(24))
    c2 = b.tensor("c2", (6,), "int8", quant(0.1, 0), bytes(6))
    t = b.tensor("t", (4, 6), "int8", quant(0.1, 0))
    out = b.tensor("output", (4, 6), "int8", quant(0.1, 0))
    b.op(opcode, (c1, c2), (t,), {})
    b.op("ADD", (x, t), (out,), {"activation": "NONE"})
    return b.graph(x, out)


def test_refusals_of_mean_and_arg_max() -> None:
    g = mean_graph("int8", (2, 3), (1,), False, in_scale=0.1, in_zp=0, out_scale=0.1, out_zp=0)
    g = Graph(g.tensors[:1] + (g.tensors[1].__class__(1, "axes", (1,), "int64", None,
                                                      np.array([1], np.int64).tobytes()),) + g.tensors[2:],
              g.operators, g.inputs, g.outputs)
    _refused(g, "MEAN", "int64")
    _refused(arg_max_graph((2, 5), 1, output_type="int64"), "ARG_MAX", "int64")
    _refused(arg_max_graph((2, 5), 1, dtype="int16"), "ARG_MAX", "int16")
