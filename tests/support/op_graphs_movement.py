"""Small graphs of the data-movement operators (TRANSPOSE, CONCATENATION, PAD/PADV2, STRIDED_SLICE,
SQUEEZE, EXPAND_DIMS, RESIZE_NEAREST_NEIGHBOR) in int8, int16 and float32, for comparing the aot
runtime's C with TFLM (tests/unit/test_aot_ops_movement.py). The AOT runtime takes one model input,
so operators with several activation inputs get them from operators on that input."""

from __future__ import annotations

import zlib
from typing import Any, Optional, Sequence

import numpy as np

from tinyflash.model.graph import Graph, Operator, Quantization, Tensor


def _f32(value: float) -> float:
    """A scale as a .tflite file stores it (float32), so a graph equals its written file's."""
    return float(np.float32(value))


def quant_for(dtype: str, rng: np.random.Generator) -> Optional[Quantization]:
    """int8: a random zero point; int16: symmetric (TFLM's int16 kernels want zero point 0)."""
    if dtype == "int8":
        return Quantization((_f32(0.05),), (int(rng.integers(-20, 20)),))
    if dtype == "int16":
        return Quantization((_f32(0.002),), (0,))
    return None


def rng_for(*key: Any) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


class _Builder:
    """Tensors and operators appended in order; the first tensor is the model input."""

    def __init__(self) -> None:
        self.tensors: list[Tensor] = []
        self.operators: list[Operator] = []

    def tensor(self, name: str, shape: Sequence[int], dtype: str, quant: Optional[Quantization] = None,
               data: Optional[np.ndarray] = None) -> int:
        index = len(self.tensors)
        raw = None if data is None else np.ascontiguousarray(data, dtype=dtype).tobytes()
        self.tensors.append(Tensor(index, name, tuple(int(d) for d in shape), dtype, quant, raw))
        return index

    def ints(self, name: str, values: Sequence[int], shape: Optional[Sequence[int]] = None) -> int:
        data = np.asarray(values, dtype=np.int32)
        return self.tensor(name, data.shape if shape is None else shape, "int32", None, data)

    def op(self, opcode: str, inputs: Sequence[int], outputs: Sequence[int], **options: Any) -> None:
        self.operators.append(Operator(len(self.operators), opcode, 1, tuple(inputs), tuple(outputs), options))

    def graph(self, output: int) -> Graph:
        return Graph(tuple(self.tensors), tuple(self.operators), (0,), (output,))


def random_values(dtype: str, shape: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    if dtype == "float32":
        return rng.uniform(-4, 4, size=shape).astype(np.float32)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, size=shape, dtype=dtype)


def transpose_graph(shape: Sequence[int], perm: Sequence[int], dtype: str) -> Graph:
    q = quant_for(dtype, rng_for("transpose", shape, perm, dtype))
    b = _Builder()
    x = b.tensor("input", shape, dtype, q)
    p = b.ints("perm", perm)
    y = b.tensor("output", [shape[k] for k in perm], dtype, q)
    b.op("TRANSPOSE", [x, p], [y])
    return b.graph(y)


def sliced_shape(shape: Sequence[int], begin: Sequence[int], end: Sequence[int], strides: Sequence[int],
                 masks: dict[str, int]) -> tuple[int, ...]:
    """The output shape by numpy's own slicing (Python's slice rules are TensorFlow's), not by the
    code under test."""
    index: list[Any] = []
    for k in range(len(shape)):
        bit = 1 << k
        if masks.get("shrink_axis_mask", 0) & bit:
            index.append(begin[k])
        else:
            index.append(slice(None if masks.get("begin_mask", 0) & bit else begin[k],
                               None if masks.get("end_mask", 0) & bit else end[k], strides[k]))
    return np.empty(shape, dtype=np.int8)[tuple(index)].shape


def strided_slice_graph(shape: Sequence[int], begin: Sequence[int], end: Sequence[int], strides: Sequence[int],
                        dtype: str, out_shape: Optional[Sequence[int]] = None, **masks: int) -> Graph:
    q = quant_for(dtype, rng_for("strided_slice", shape, begin, end, strides, dtype))
    b = _Builder()
    x = b.tensor("input", shape, dtype, q)
    ins = [x, b.ints("begin", begin), b.ints("end", end), b.ints("strides", strides)]
    if out_shape is None:
        out_shape = sliced_shape(shape, begin, end, strides, masks)
    y = b.tensor("output", out_shape, dtype, q)
    options = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0,
               "offset": False}
    b.op("STRIDED_SLICE", ins, [y], **{**options, **masks})
    return b.graph(y)


def concat_graph(shape: Sequence[int], axis: int, parts: Sequence[Any], dtype: str,
                 activation: str = "NONE", other_quant: bool = False) -> Graph:
    """CONCATENATION on ``axis`` of ``parts``: "x" the model input (of ``shape``), "s" every other
    element of it along the axis (a STRIDED_SLICE: a second activation tensor), an int n a constant
    of n elements on the axis. ``other_quant``: constants quantised unlike the output."""
    rng = rng_for("concat", shape, axis, parts, dtype)
    q = quant_for(dtype, rng)
    rank = len(shape)
    a = axis + rank if axis < 0 else axis
    b = _Builder()
    x = b.tensor("input", shape, dtype, q)
    inputs, sizes = [], []
    for k, part in enumerate(parts):
        if part == "x":
            inputs.append(x)
            sizes.append(shape[a])
        elif part == "s":
            half = list(shape)
            half[a] = (shape[a] + 1) // 2
            steps = [1] * rank
            steps[a] = 2
            s = b.tensor(f"half{k}", half, dtype, q)
            b.op("STRIDED_SLICE", [x, b.ints(f"b{k}", [0] * rank), b.ints(f"e{k}", shape), b.ints(f"s{k}", steps)],
                 [s], begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0, offset=False)
            inputs.append(s)
            sizes.append(half[a])
        else:
            cshape = list(shape)
            cshape[a] = int(part)
            cq = q
            if other_quant and q is not None:
                cq = Quantization((_f32(q.scale * 2),), q.zero_points)
            inputs.append(b.tensor(f"const{k}", cshape, dtype, cq, random_values(dtype, cshape, rng)))
            sizes.append(int(part))
    out_shape = list(shape)
    out_shape[a] = sum(sizes)
    y = b.tensor("output", out_shape, dtype, q)
    b.op("CONCATENATION", inputs, [y], axis=axis, activation=activation)
    return b.graph(y)


def pad_graph(shape: Sequence[int], paddings: Sequence[tuple[int, int]], dtype: str,
              value: Optional[float] = None, out_shape: Optional[Sequence[int]] = None,
              value_quant: Optional[Quantization] = None) -> Graph:
    """PAD, or PADV2 when a constant ``value`` is given (int8/int16: in the output's quantised units)."""
    q = quant_for(dtype, rng_for("pad", shape, paddings, dtype))
    b = _Builder()
    x = b.tensor("input", shape, dtype, q)
    ins = [x, b.ints("paddings", [v for pair in paddings for v in pair], (len(shape), 2))]
    if value is not None:
        ins.append(b.tensor("value", (), dtype, value_quant or q, np.asarray(value, dtype=dtype)))
    if out_shape is None:
        out_shape = [d + p0 + p1 for d, (p0, p1) in zip(shape, paddings)]
    y = b.tensor("output", out_shape, dtype, q)
    b.op("PAD" if value is None else "PADV2", ins, [y])
    return b.graph(y)


def resize_graph(shape: Sequence[int], size: Sequence[int], dtype: str, align_corners: bool = False,
                 half_pixel_centers: bool = False) -> Graph:
    q = quant_for(dtype, rng_for("resize", shape, size, dtype))
    b = _Builder()
    x = b.tensor("input", shape, dtype, q)
    s = b.ints("size", size)
    y = b.tensor("output", (shape[0], size[0], size[1], shape[3]), dtype, q)
    b.op("RESIZE_NEAREST_NEIGHBOR", [x, s], [y], align_corners=align_corners, half_pixel_centers=half_pixel_centers)
    return b.graph(y)


def _reshaping_graph(opcode: str, shape: Sequence[int], out_shape: Sequence[int], dtype: str, chained: bool,
                     extra_inputs: Sequence[tuple[str, Sequence[int]]] = (), **options: Any) -> Graph:
    """``opcode`` (SQUEEZE, EXPAND_DIMS) on the model input, or, ``chained``, between a TRANSPOSE
    (reversing the axes) and a PAD, so its in-place output is read and written by other kernels."""
    q = quant_for(dtype, rng_for(opcode, shape, out_shape, dtype, chained))
    b = _Builder()
    x = b.tensor("input", shape, dtype, q)
    source, shape_in = x, list(shape)
    if chained:
        shape_in = list(reversed(shape))
        # the operator's shapes are given for its own input: reverse them back
        source = b.tensor("transposed", shape_in, dtype, q)
        b.op("TRANSPOSE", [x, b.ints("perm", list(reversed(range(len(shape)))))], [source])
    ins = [source] + [b.ints(name, values) for name, values in extra_inputs]
    y = b.tensor("reshaped", out_shape, dtype, q)
    b.op(opcode, ins, [y], **options)
    if not chained:
        return b.graph(y)
    pads = [(1, 0)] + [(0, 1)] * (len(out_shape) - 1)
    padded = b.tensor("output", [d + p0 + p1 for d, (p0, p1) in zip(out_shape, pads)], dtype, q)
    b.op("PAD", [y, b.ints("paddings", [v for pair in pads for v in pair], (len(out_shape), 2))], [padded])
    return b.graph(padded)


def squeeze_graph(shape: Sequence[int], squeeze_dims: Sequence[int], dtype: str, chained: bool = False,
                  out_shape: Optional[Sequence[int]] = None) -> Graph:
    """SQUEEZE of an input whose shape, once ``chained`` reverses it, is ``shape``."""
    rank = len(shape)
    axes = {d + rank if d < 0 else d for d in squeeze_dims} or {a for a, d in enumerate(shape) if d == 1}
    if out_shape is None:
        out_shape = [d for a, d in enumerate(shape) if a not in axes]
    model_shape = list(reversed(shape)) if chained else shape
    return _reshaping_graph("SQUEEZE", model_shape, out_shape, dtype, chained, squeeze_dims=tuple(squeeze_dims))


def expand_dims_graph(shape: Sequence[int], axis: int, dtype: str, chained: bool = False) -> Graph:
    """EXPAND_DIMS of an input whose shape, once ``chained`` reverses it, is ``shape``."""
    at = axis + len(shape) + 1 if axis < 0 else axis
    out_shape = list(shape[:at]) + [1] + list(shape[at:])
    model_shape = list(reversed(shape)) if chained else shape
    return _reshaping_graph("EXPAND_DIMS", model_shape, out_shape, dtype, chained, extra_inputs=[("axis", [axis])])


def chain_graph(dtype: str = "int8") -> Graph:
    """Every data-movement operator in one model, each feeding the next (for the host harness and
    a device build): PAD, RESIZE_NEAREST_NEIGHBOR, TRANSPOSE, STRIDED_SLICE, CONCATENATION with a
    constant, SQUEEZE, EXPAND_DIMS."""
    rng = rng_for("chain", dtype)
    q = quant_for(dtype, rng)
    b = _Builder()
    x = b.tensor("input", (1, 8, 8, 3), dtype, q)
    p = b.tensor("padded", (1, 10, 10, 3), dtype, q)
    b.op("PAD", [x, b.ints("paddings", [0, 0, 1, 1, 1, 1, 0, 0], (4, 2))], [p])
    r = b.tensor("resized", (1, 5, 7, 3), dtype, q)
    b.op("RESIZE_NEAREST_NEIGHBOR", [p, b.ints("size", [5, 7])], [r], align_corners=False, half_pixel_centers=True)
    t = b.tensor("nchw", (1, 3, 5, 7), dtype, q)
    b.op("TRANSPOSE", [r, b.ints("perm", [0, 3, 1, 2])], [t])
    s = b.tensor("reversed", (1, 3, 5, 7), dtype, q)
    bounds = [b.ints("begin", [0, 0, 0, -1]), b.ints("end", [1, 3, 5, 0]), b.ints("strides", [1, 1, 1, -1])]
    b.op("STRIDED_SLICE", [t, *bounds], [s], begin_mask=0, end_mask=0b1000, ellipsis_mask=0, new_axis_mask=0,
         shrink_axis_mask=0, offset=False)
    c = b.tensor("const", (1, 3, 5, 2), dtype, q, random_values(dtype, (1, 3, 5, 2), rng))
    j = b.tensor("joined", (1, 3, 5, 9), dtype, q)
    b.op("CONCATENATION", [s, c], [j], axis=-1, activation="NONE")
    sq = b.tensor("squeezed", (3, 5, 9), dtype, q)
    b.op("SQUEEZE", [j], [sq], squeeze_dims=(0,))
    y = b.tensor("output", (1, 3, 5, 9), dtype, q)
    b.op("EXPAND_DIMS", [sq, b.ints("axis", [0])], [y])
    return b.graph(y)
