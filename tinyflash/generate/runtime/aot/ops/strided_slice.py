"""STRIDED_SLICE (TFLM strided_slice.cc / reference_ops::StridedSlice): int8, int16, int32 and float32
of one to four axes, constant begin/end/strides (negative indices and strides), begin_mask, end_mask
and shrink_axis_mask. The start and stop of every axis are resolved at generation time as TFLM's
StridedSliceStartForAxis/EndForAxis do; the kernel copies the strided view (tf_slice.c).

Refused: ellipsis_mask and new_axis_mask, which TFLM's kernel zeroes (it would not compute the
model's slice), the offset flag, which TFLM ignores for the same reason, and a shrunk axis with a
negative stride, for which TFLM's kernel writes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.movement import (SUFFIXES, activation_input, c_array, constant_ints,
                                                         pointer, require_types, row_major_strides,
                                                         strided_view)

TYPES = ("int8", "int16", "int32", "float32")
MAX_RANK = 4                     # strided_slice_common.cc kMaxDim: "input dim should not exceed 4"
KERNELS = frozenset({"tf_slice.c", "tf_slice.h"})


@dataclass(frozen=True)
class _Axis:
    start: int
    stride: int
    count: int
    shrink: bool


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else lo if v < lo else v


def _axis(size: int, begin: int, end: int, stride: int, axis: int, options: dict) -> _Axis:
    """One axis as StridedSliceStartForAxis / StridedSliceEndForAxis resolve it, and its length."""
    bit = 1 << axis
    lo, hi = (0, size) if stride > 0 else (-1, size - 1)
    start = _clamp(begin + size if begin < 0 else begin, lo, hi)
    if options.get("begin_mask", 0) & bit:
        start = 0 if stride > 0 else size - 1
    shrink = bool(options.get("shrink_axis_mask", 0) & bit)
    if shrink:
        stop = start if start >= size else start + 1
    else:
        stop = _clamp(end + size if end < 0 else end, lo, hi)
        if options.get("end_mask", 0) & bit:
            stop = size if stride > 0 else -1
    span = stop - start if stride > 0 else start - stop
    count = max(0, -(-span // abs(stride)))
    return _Axis(start, stride, count, shrink)


def _axes(ctx: EmitContext) -> list[_Axis]:
    inp = activation_input(ctx)
    rank = len(inp.shape)
    begin, end, strides = (constant_ints(ctx, k, what) for k, what in ((1, "begin"), (2, "end"), (3, "strides")))
    for what, values in (("begin", begin), ("end", end), ("strides", strides)):
        if len(values) != rank:
            raise ctx.unsupported(f"{what} has {len(values)} values for an input of {rank} dimensions")
    if 0 in strides:
        raise ctx.unsupported(f"strides {strides} has a zero (TFLM: stride value has to be non-zero)")
    return [_axis(inp.shape[k], begin[k], end[k], strides[k], k, ctx.op.options) for k in range(rank)]


def _check(ctx: EmitContext) -> None:
    require_types(ctx, TYPES, 0)
    inp, out = activation_input(ctx), ctx.output()
    if not 1 <= len(inp.shape) <= MAX_RANK:
        raise ctx.unsupported(f"input has {len(inp.shape)} dimensions; TFLM's STRIDED_SLICE supports 1 to {MAX_RANK}")
    o = ctx.op.options
    for mask in ("ellipsis_mask", "new_axis_mask"):
        if o.get(mask, 0):
            raise ctx.unsupported(f"{mask} {o[mask]} is not supported (TFLM's kernel ignores it, so it would "
                                  "not compute the model's slice)")
    if o.get("offset", False):
        raise ctx.unsupported("offset=true is not supported (TFLM's kernel ignores it)")
    axes = _axes(ctx)
    expected = tuple(a.count for a in axes if not a.shrink)
    if out.shape != expected:
        raise ctx.unsupported(f"output shape {out.shape} is not the slice's {expected}")
    if any(a.shrink and a.count == 0 for a in axes):
        # StridedSliceEndForAxis stops a shrunk axis at start + 1, which a negative stride never reaches
        raise ctx.unsupported("shrink_axis_mask on an axis with a negative stride is not supported (TFLM's "
                              "kernel writes no output for it)")
    if out.elements == 0:
        raise ctx.unsupported("the slice is empty")


def _emit(ctx: EmitContext) -> Emitted:
    inp, out = activation_input(ctx), ctx.output()
    axes = _axes(ctx)
    strides = row_major_strides(inp.shape)
    start = sum(a.start * s for a, s in zip(axes, strides))
    dims, steps = strided_view([a.count for a in axes], [a.stride * s for a, s in zip(axes, strides)])
    suffix = SUFFIXES[out.dtype]
    ctx.constants.append(f"static const tf_slice_params_t tf_n{ctx.op.index}_params = "
                         f"{{.start = {start}, .dims = {c_array(dims)}, .steps = {c_array(steps)}}};")
    code = (f"tf_slice_{suffix}(&tf_n{ctx.op.index}_params, {pointer(ctx, inp, suffix, const=True)}, "
            f"{pointer(ctx, out, suffix, const=False)});")
    return Emitted(code, KERNELS, macs=0)


STRIDED_SLICE = OpSupport(emit=_emit, check=_check)
