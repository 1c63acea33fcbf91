"""The aot runtime's data-movement operators (#13) against TFLM's reference kernels, on 100 random
inputs each (tests/support/op_harness.py): TRANSPOSE, CONCATENATION, PAD, PADV2, STRIDED_SLICE,
SQUEEZE, EXPAND_DIMS and RESIZE_NEAREST_NEIGHBOR over ranks, axes, masks, negative values, odd sizes
and element types; and every variant TFLM has that the runtime refuses on purpose, refused by name.

These operators carry no MACs and have no SIMD path: the DSP board's "auto" kernel set emits the
same C as "portable" (test_no_simd_path_the_kernel_sets_agree), so the cases run one set. int32
shares the 4-byte kernels of float32 (a model input is never int32, so float32 stands for both)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest

from tinyflash.board import BoardCatalog
from tinyflash.errors import UnsupportedOperatorError
from tinyflash.generate.runtime.aot.codegen import AotRuntime, graph_problems
from tinyflash.generate.runtime.aot.ops import SUPPORTED, EmitContext
from tinyflash.model.graph import Graph, Quantization

from ..support import op_graphs_movement as graphs
from ..support.op_harness import check_against_tflm, generated_c
from ..support.synthetic_layers import assert_not_all_clamped

KERNELS = ("auto",)


def _check(graph: Graph, tmp_path: Path, name: str) -> list[np.ndarray]:
    outputs = check_against_tflm(graph, tmp_path, kernel_sets=KERNELS, name=name)
    assert_not_all_clamped(outputs)
    return outputs


def _refused(graph: Graph, opcode: str, words: str) -> None:
    """The operator's own check refuses the graph, naming the operator and what it refuses."""
    problems = [str(p) for p in graph_problems(graph) if isinstance(p, UnsupportedOperatorError)]
    assert any(opcode in p and words in p for p in problems), problems


def typed(cases: Sequence[tuple], ids: Sequence[str], wide: int = 2,
          dtypes: Sequence[str] = ("int8", "int16", "float32")) -> list[Any]:
    """(case, dtype) parameters: every case in int8, the first ``wide`` also in the other types; the
    other types of the rest are marked slow (the default run's budget)."""
    params = []
    for k, (case, name) in enumerate(zip(cases, ids)):
        for dtype in dtypes:
            marks = [pytest.mark.slow] if dtype != dtypes[0] and k >= wide else []
            params.append(pytest.param(case, dtype, marks=marks, id=f"{name}-{dtype}"))
    return params


# -- TRANSPOSE: (shape, perm); 1-D to 5-D, the last two axes, reversals, odd sizes
TRANSPOSE_CASES: list[tuple[Sequence[int], Sequence[int]]] = [
    ((7, 5), (1, 0)),
    ((3, 9, 5), (0, 2, 1)),
    ((3, 9, 5), (2, 0, 1)),
    ((2, 3, 5, 7), (0, 3, 1, 2)),        # NHWC -> NCHW
    ((2, 5, 3, 7), (3, 2, 1, 0)),
    ((1, 4, 6, 3), (0, 1, 3, 2)),        # the last two axes
    ((2, 3, 1, 4, 5), (4, 2, 0, 3, 1)),
    ((3, 2, 4, 2, 3), (0, 1, 2, 4, 3)),
    ((13,), (0,)),
]


@pytest.mark.parametrize("case,dtype", typed(TRANSPOSE_CASES, [f"{s}-{p}" for s, p in TRANSPOSE_CASES]))
def test_transpose(tmp_path: Path, case: tuple, dtype: str) -> None:
    shape, perm = case
    _check(graphs.transpose_graph(shape, perm, dtype), tmp_path, "transpose")


def test_transpose_refusals() -> None:
    _refused(graphs.transpose_graph((2, 3, 4), (0, 2, 1), "int32"), "TRANSPOSE", "int32")
    _refused(graphs.transpose_graph((2, 3, 4, 1, 2, 2), (0, 2, 1, 3, 4, 5), "int8"), "TRANSPOSE", "1 to 5")


# -- STRIDED_SLICE: (shape, begin, end, strides, masks)
SLICE_CASES: list[tuple[Sequence[int], Sequence[int], Sequence[int], Sequence[int], dict[str, int]]] = [
    ((9, 7), (1, 0), (8, 7), (1, 1), {}),
    ((9, 7), (-2, 6), (0, -8), (-2, -1), {}),                       # negative indices and strides
    ((4, 9, 5), (0, 1, 0), (4, 9, 5), (1, 3, 2), {}),
    ((4, 9, 5), (3, -1, 1), (0, 0, 4), (-1, -2, 1), {"begin_mask": 0b001, "end_mask": 0b100}),
    ((2, 6, 7, 3), (1, 1, 0, 0), (2, 5, 7, 2), (1, 1, 2, 1), {"shrink_axis_mask": 0b0001}),
    ((2, 6, 7, 3), (0, -3, 0, 2), (2, 0, 7, 3), (1, 1, 1, 1), {"shrink_axis_mask": 0b1010, "end_mask": 0b0100}),
    ((3, 5, 8, 4), (0, 100, -100, 0), (3, -100, 100, 4), (1, -2, 3, 1), {}),   # clamped out-of-range indices
    ((3, 5, 8, 4), (0, 0, 0, 0), (0, 0, 0, 0), (1, 1, 1, -1), {"begin_mask": 0b1111, "end_mask": 0b1111}),
    ((17,), (-15,), (16,), (4,), {}),
]


@pytest.mark.parametrize("case,dtype", typed(SLICE_CASES, [f"{c[0]}-{c[1]}-{c[2]}-{c[3]}-{c[4]}" for c in SLICE_CASES]))
def test_strided_slice(tmp_path: Path, case: tuple, dtype: str) -> None:
    shape, begin, end, strides, masks = case
    _check(graphs.strided_slice_graph(shape, begin, end, strides, dtype, **masks), tmp_path, "strided_slice")


def test_strided_slice_refusals() -> None:
    shape, begin, end, strides = (4, 6, 5), (0, 1, 0), (4, 5, 5), (1, 1, 1)
    for mask in ("ellipsis_mask", "new_axis_mask"):
        graph = graphs.strided_slice_graph(shape, begin, end, strides, "int8", out_shape=(4, 4, 5), **{mask: 1})
        _refused(graph, "STRIDED_SLICE", mask)
    graph = graphs.strided_slice_graph(shape, begin, end, strides, "int8", offset=True)
    _refused(graph, "STRIDED_SLICE", "offset")
    graph = graphs.strided_slice_graph((2, 2, 3, 4, 5), (0,) * 5, (1,) * 5, (1,) * 5, "int8")
    _refused(graph, "STRIDED_SLICE", "1 to 4")
    graph = graphs.strided_slice_graph((5, 6), (2, 0), (0, 6), (-1, 1), "int8", shrink_axis_mask=1)
    _refused(graph, "STRIDED_SLICE", "negative stride")


# -- CONCATENATION: (input shape, axis, parts: "x" the input, "s" a slice of it, n a constant of n on the axis)
CONCAT_CASES: list[tuple[Sequence[int], int, Sequence[object]]] = [
    ((5, 7), 0, ("x", 3)),
    ((5, 7), -1, ("x", "x")),
    ((3, 4, 5), 1, ("x", "s", 2, "x")),
    ((3, 4, 5), -3, (1, "x", "s")),
    ((2, 5, 3, 7), 3, ("s", "x", 1, 5, "x")),
    ((2, 5, 3, 7), -2, ("x", 4)),
    ((2, 3, 2, 3, 5), 2, ("x", 2, "x", 3)),          # STRIDED_SLICE has no 5-D
    ((2, 1, 3, 2, 2, 3), -1, ("x", 2, "x")),          # six axes
    ((2, 3, 2, 3), 0, ("x", "x", "x", 1, 1, 1, "s", 2, "x", "x")),      # ten inputs
]


@pytest.mark.parametrize("case,dtype", typed(CONCAT_CASES, [f"{c[0]}-axis{c[1]}-{''.join(map(str, c[2]))}"
                                                            for c in CONCAT_CASES]))
def test_concatenation(tmp_path: Path, case: tuple, dtype: str) -> None:
    shape, axis, parts = case
    _check(graphs.concat_graph(shape, axis, parts, dtype), tmp_path, "concatenation")


def test_concatenation_refusals() -> None:
    _refused(graphs.concat_graph((3, 4), 1, ("x", 2), "int8", other_quant=True), "CONCATENATION", "rescale")
    _refused(graphs.concat_graph((3, 4), 1, ("x", 2), "int8", activation="RELU"), "CONCATENATION", "RELU")
    _refused(graphs.concat_graph((3, 4), 0, ("x",) * 11, "int8"), "CONCATENATION", "at most 10")


# -- PAD / PADV2: (shape, paddings); PADV2's value per type
PAD_CASES: list[tuple[Sequence[int], Sequence[tuple[int, int]]]] = [
    ((5, 7), ((1, 2), (0, 3))),
    ((4, 3, 5), ((0, 0), (2, 1), (1, 1))),
    ((1, 5, 6, 3), ((0, 0), (1, 1), (2, 2), (0, 0))),       # image style
    ((2, 4, 3, 5), ((1, 0), (0, 2), (3, 0), (2, 1))),        # every axis, batch too
    ((1, 3, 2, 2, 3), ((1, 1), (0, 1), (1, 0), (0, 0), (1, 2))),
    ((9,), ((4, 0),)),
]
PADV2_VALUES = {"int8": -77, "int16": 1234, "float32": -1.5}


PAD_PARAMS = typed([(*c, v2) for c in PAD_CASES for v2 in (False, True)],
                   [f"{c[0]}-{c[1]}-{'PADV2' if v2 else 'PAD'}" for c in PAD_CASES for v2 in (False, True)])


@pytest.mark.parametrize("case,dtype", PAD_PARAMS)
def test_pad(tmp_path: Path, case: tuple, dtype: str) -> None:
    shape, paddings, v2 = case
    graph = graphs.pad_graph(shape, paddings, dtype, value=PADV2_VALUES[dtype] if v2 else None)
    _check(graph, tmp_path, "pad")


def test_pad_uses_the_output_zero_point_in_int8_only(tmp_path: Path) -> None:
    """TFLM pads int8 with the output zero point, int16 with 0 whatever its zero point."""
    for dtype in ("int8", "int16"):
        graph = graphs.pad_graph((3, 4), ((1, 1), (2, 0)), dtype)
        out = graph.output
        q = Quantization(out.quantization.scales, (9,)) if out.quantization else None
        tensors = tuple(replace(t, quantization=q) for t in graph.tensors[:1]) + graph.tensors[1:-1] + \
            (replace(out, quantization=q),)
        graph = replace(graph, tensors=tensors)
        (tmp_path / dtype).mkdir()
        outputs = check_against_tflm(graph, tmp_path / dtype, kernel_sets=KERNELS, name="pad-zp")
        assert outputs[0].reshape(5, 6)[0, 0] == (9 if dtype == "int8" else 0)


def test_pad_refusals() -> None:
    _refused(graphs.pad_graph((3, 4), ((1, -1), (0, 0)), "int8", out_shape=(3, 4)), "PAD", "negative")
    _refused(graphs.pad_graph((2, 2, 2, 2, 2, 2), ((1, 0),) * 6, "int8"), "PAD", "1 to 5")
    other = Quantization((0.5,), (3,))
    _refused(graphs.pad_graph((3, 4), ((1, 1), (0, 0)), "int8", value=5, value_quant=other), "PADV2", "quantised")


# -- RESIZE_NEAREST_NEIGHBOR: (input shape, size): up, down, mixed, odd ratios, to and from one pixel
RESIZE_CASES: list[tuple[Sequence[int], Sequence[int]]] = [
    ((1, 4, 5, 3), (8, 10)),
    ((1, 5, 7, 2), (13, 11)),
    ((2, 9, 8, 3), (4, 3)),
    ((1, 6, 4, 5), (3, 9)),
    ((1, 1, 3, 4), (5, 1)),
    ((1, 7, 7, 1), (7, 7)),
]
RESIZE_MODES = [(False, False), (True, False), (False, True), (True, True)]


MODE_NAMES = ("plain", "align_corners", "half_pixel", "both")
RESIZE_PARAMS = typed([(*c, *m) for m in RESIZE_MODES for c in RESIZE_CASES],
                      [f"{c[0]}-to-{c[1]}-{n}" for n in MODE_NAMES for c in RESIZE_CASES])


@pytest.mark.parametrize("case,dtype", RESIZE_PARAMS)
def test_resize_nearest_neighbor(tmp_path: Path, case: tuple, dtype: str) -> None:
    shape, size, corners, half = case
    graph = graphs.resize_graph(shape, size, dtype, align_corners=corners, half_pixel_centers=half)
    _check(graph, tmp_path, "resize")


def test_resize_nearest_neighbor_refusals() -> None:
    _refused(graphs.resize_graph((1, 4, 4, 2), (8, 8), "int32"), "RESIZE_NEAREST_NEIGHBOR", "int32")


# -- SQUEEZE / EXPAND_DIMS: in place; alone (the model input is the output) and between two kernels
SQUEEZE_CASES: list[tuple[Sequence[int], Sequence[int]]] = [
    ((1, 7, 1, 5), ()),                  # every axis of size 1
    ((1, 7, 1, 5), (2,)),
    ((3, 1, 4, 1, 1), (-1, 1)),
    ((1, 1, 9), (0,)),
]
EXPAND_CASES: list[tuple[Sequence[int], int]] = [((5, 7), 0), ((5, 7), -1), ((3, 4, 5), 2), ((2, 3, 4, 5), -3)]


@pytest.mark.parametrize("case,dtype", typed([(*c, ch) for ch in (True, False) for c in SQUEEZE_CASES],
                                             [f"{c[0]}-{c[1]}-{'chained' if ch else 'alone'}"
                                              for ch in (True, False) for c in SQUEEZE_CASES]))
def test_squeeze(tmp_path: Path, case: tuple, dtype: str) -> None:
    shape, dims, chained = case
    _check(graphs.squeeze_graph(shape, dims, dtype, chained), tmp_path, "squeeze")
    assert "SQUEEZE" not in generated_c(tmp_path), "in place: no code"


@pytest.mark.parametrize("case,dtype", typed([(*c, ch) for ch in (True, False) for c in EXPAND_CASES],
                                             [f"{c[0]}-axis{c[1]}-{'chained' if ch else 'alone'}"
                                              for ch in (True, False) for c in EXPAND_CASES]))
def test_expand_dims(tmp_path: Path, case: tuple, dtype: str) -> None:
    shape, axis, chained = case
    _check(graphs.expand_dims_graph(shape, axis, dtype, chained), tmp_path, "expand_dims")
    assert "EXPAND_DIMS" not in generated_c(tmp_path), "in place: no code"


def test_squeeze_and_expand_dims_refusals() -> None:
    _refused(graphs.squeeze_graph((1, 7, 2), (2,), "int8", out_shape=(7, 2)), "SQUEEZE", "squeeze_dims")
    _refused(graphs.expand_dims_graph((3, 4), 1, "int32"), "EXPAND_DIMS", "int32")


def _one_of_each(dtype: str) -> list[Graph]:
    return [graphs.transpose_graph((2, 3, 5, 7), (0, 3, 1, 2), dtype),
            graphs.strided_slice_graph((4, 9, 5), (3, -1, 1), (0, 0, 4), (-1, -2, 1), dtype, begin_mask=1),
            graphs.concat_graph((3, 4, 5), 1, ("x", "s", 2, "x"), dtype),
            graphs.pad_graph((2, 4, 3, 5), ((1, 0), (0, 2), (3, 0), (2, 1)), dtype),
            graphs.resize_graph((1, 5, 7, 2), (13, 11), dtype, half_pixel_centers=True),
            graphs.squeeze_graph((3, 1, 4, 1, 1), (-1, 1), dtype, chained=True),
            graphs.expand_dims_graph((3, 4, 5), 2, dtype, chained=True)]


def test_no_simd_path_the_kernel_sets_agree(tmp_path: Path) -> None:
    """No MACs, no SIMD kernels: on a DSP core "auto" emits what "portable" does, so one set is run."""
    board = BoardCatalog().load("mps2-an500")
    for k, graph in enumerate(_one_of_each("int8")):
        texts = []
        for kernels in ("auto", "portable"):
            dest = tmp_path / f"{k}-{kernels}"
            AotRuntime().generate(graph, board, dest, options={"kernels": kernels})
            texts.append((dest / "model.c").read_text())
        assert texts[0] == texts[1], graph.operators[-1].opcode


@pytest.mark.parametrize("opcode,graph", [
    ("STRIDED_SLICE", graphs.strided_slice_graph((4, 9, 5), (0, 1, 0), (4, 9, 5), (1, 3, 2), "int32")),
    ("CONCATENATION", graphs.concat_graph((3, 4, 5), -1, ("x", 3, "x"), "int32")),
    ("PAD", graphs.pad_graph((2, 4, 3), ((1, 0), (0, 2), (3, 1)), "int32")),
    ("PADV2", graphs.pad_graph((2, 4, 3), ((1, 0), (0, 2), (3, 1)), "int32", value=-70000)),
    ("SQUEEZE", graphs.squeeze_graph((3, 1, 4), (), "int32")),
], ids=lambda v: v if isinstance(v, str) else "")
def test_int32_takes_the_float32_kernels(opcode: str, graph: Graph) -> None:
    """TFLM has int32 for these; a model input is never int32, so its check and emitted call are
    looked at here and its arithmetic-free 4-byte kernel is the float32 one tested above."""
    op = graph.operators[-1]
    constants: list[str] = []
    ctx = EmitContext(graph, op, pointer=lambda i: f"(tf_arena + {i})", constants=constants)
    SUPPORTED[opcode].check(ctx)
    if SUPPORTED[opcode].in_place:
        return
    code = SUPPORTED[opcode].emit(ctx).code
    assert "tf_concat(" in code or "_s32(" in code
    if opcode == "PADV2":
        assert any(".value = -70000" in c for c in constants)


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_every_operator_in_one_chain(tmp_path: Path, dtype: str) -> None:
    _check(graphs.chain_graph(dtype), tmp_path, "chain")


@pytest.mark.parametrize("opcode,graph,position", [
    ("TRANSPOSE", graphs.transpose_graph((3, 4), (1, 0), "int8"), 1),
    ("STRIDED_SLICE", graphs.strided_slice_graph((4, 6), (0, 1), (4, 5), (1, 1), "int8"), 2),
    ("PAD", graphs.pad_graph((3, 4), ((1, 1), (0, 2)), "int8"), 1),
    ("RESIZE_NEAREST_NEIGHBOR", graphs.resize_graph((1, 3, 4, 2), (6, 8), "int8"), 1),
    ("EXPAND_DIMS", graphs.expand_dims_graph((3, 4), 1, "int8"), 1),
], ids=lambda v: v if isinstance(v, str) else "")
def test_index_tensors_computed_by_the_graph_are_refused(opcode: str, graph: Graph, position: int) -> None:
    """TFLM refuses them too ("Non-constant >perm< tensor is not supported", ...)."""
    op = graph.operators[-1]
    index = op.inputs[position]
    tensors = tuple(replace(t, data=None) if t.index == index else t for t in graph.tensors)
    _refused(replace(graph, tensors=tensors), opcode, "not a constant")
