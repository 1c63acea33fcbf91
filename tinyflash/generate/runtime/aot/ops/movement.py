"""What the data-movement operators share (TRANSPOSE, CONCATENATION, PAD/PADV2, STRIDED_SLICE,
SQUEEZE, EXPAND_DIMS, RESIZE_NEAREST_NEIGHBOR): they never look at element values, so their kernels
work by element size (float32 and int32 share the 4-byte one), and their index tensors must be
constants read at generation time, as TFLM requires of them too."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext
from tinyflash.model.graph import Tensor

# element type -> kernel suffix (tf_<op>_<suffix>) and the C type of its pointers
SUFFIXES = {"int8": "s8", "int16": "s16", "int32": "s32", "float32": "s32"}
_POINTER_TYPES = {"s8": "int8_t", "s16": "int16_t", "s32": "int32_t"}
# the tf_slice_params_t / tf_pad_params_t views have five axes (TFLM extends shapes to 5-D the same way)
VIEW_RANK = 5


def require_types(ctx: EmitContext, allowed: Sequence[str], *positions: int) -> str:
    """The common element type of the output and the inputs at ``positions``, which must be one of
    ``allowed`` (the types TFLM's kernel for the operator has); raises otherwise."""
    out = ctx.output()
    if out.dtype not in allowed:
        raise ctx.unsupported(f"output '{out.name}' is {out.dtype}; {ctx.op.opcode} supports "
                              f"{', '.join(allowed)} (as TFLM's kernel)")
    for pos in positions:
        t = ctx.tensor(pos)
        if t is None:
            raise ctx.unsupported(f"input {pos} is missing")
        if t.dtype != out.dtype:
            raise ctx.unsupported(f"input {pos} ('{t.name}') is {t.dtype} but the output is {out.dtype}")
    return out.dtype


def activation_input(ctx: EmitContext) -> Tensor:
    """Input 0, which must be computed by the graph (a constant input is folded by the converter)."""
    inp = ctx.tensor(0)
    if inp is None:
        raise ctx.unsupported("missing input")
    if inp.is_constant:
        raise ctx.unsupported(f"input '{inp.name}' is a constant; fold it when converting the model")
    return inp


def tensor_params(t: Tensor) -> tuple[float, int]:
    """(scale, zero point) as TFLM's TfLiteTensor.params holds them: an unquantised tensor has (0, 0),
    a per-channel one its first channel's."""
    q = t.quantization
    return (0.0, 0) if q is None else (q.scale, q.zero_point)


def constant_ints(ctx: EmitContext, position: int, what: str) -> tuple[int, ...]:
    """The values of a constant int32 index tensor (TFLM reads them as int32 and only from constants)."""
    t = ctx.tensor(position)
    if t is None:
        raise ctx.unsupported(f"missing {what} tensor (input {position})")
    if not t.is_constant:
        raise ctx.unsupported(f"the {what} tensor '{t.name}' is not a constant (TFLM requires one)")
    if t.dtype != "int32":
        raise ctx.unsupported(f"the {what} tensor '{t.name}' is {t.dtype}; TFLM reads it as int32")
    return tuple(int(v) for v in t.array().reshape(-1))


def row_major_strides(shape: Sequence[int]) -> list[int]:
    """Elements between neighbours along each axis of a contiguous tensor."""
    return [math.prod(shape[k + 1:]) for k in range(len(shape))]


def strided_view(dims: Sequence[int], steps: Sequence[int]) -> tuple[list[int], list[int]]:
    """An output-ordered view (extent and input step per axis) with unit axes dropped and neighbours
    that are contiguous in the input merged (so the kernel's inner run is as long as it can be),
    extended in front to VIEW_RANK axes. Raises ValueError if it still needs more axes."""
    merged: list[list[int]] = []
    for dim, step in zip(dims, steps):
        if dim == 1:
            continue
        if merged and merged[-1][1] == step * dim:
            merged[-1] = [merged[-1][0] * dim, step]
        else:
            merged.append([dim, step])
    if not merged:
        merged = [[1, 1]]
    if len(merged) > VIEW_RANK:
        raise ValueError(f"needs {len(merged)} axes")
    pad = VIEW_RANK - len(merged)
    return [1] * pad + [d for d, _ in merged], [0] * pad + [s for _, s in merged]


def extended(shape: Sequence[int], fill: int = 1) -> list[int]:
    """A shape of at most VIEW_RANK axes extended in front, as TFLM's RuntimeShape::ExtendedShape."""
    return [fill] * (VIEW_RANK - len(shape)) + list(shape)


def c_array(values: Sequence[int]) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def pointer(ctx: EmitContext, tensor: Tensor, suffix: str, *, const: bool) -> str:
    """A tensor's address as the kernel's element pointer (the arena is int8_t; offsets are 16-byte
    aligned by the planner). A constant tensor becomes a const array of its own."""
    ctype = _POINTER_TYPES[suffix]
    if tensor.is_constant:
        data = tensor.array()
        if data.dtype == np.float32:
            data = data.view(np.int32)      # its bits: the kernels never look at values
        address = ctx.constant(f"t{tensor.index}", data)
    else:
        address = ctx.pointer(tensor.index)
    qualifier = "const " if const else ""
    return f"({qualifier}{ctype} *)({qualifier}void *){address}"
