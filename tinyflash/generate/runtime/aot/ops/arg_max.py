"""ARG_MAX int8 -> int32 along a constant axis (TFLM arg_min_max.cc: reference_ops::ArgMinMax with
std::greater, so ties give the first index). TFLM's micro kernel takes int8 (and float32) inputs, an
int32 axis and int32 outputs only; the int16 inputs and int64 outputs of TFLite are refused as TFLM
refuses them."""

from __future__ import annotations

import math

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport

KERNELS = frozenset({"tf_arg_max.h", "tf_arg_max.c"})


def _axis(ctx: EmitContext) -> int:
    inp, axis = ctx.tensor(0), ctx.tensor(1)
    assert inp is not None
    if axis is None or not axis.is_constant:
        raise ctx.unsupported("the axis must be a constant tensor")
    if axis.dtype != "int32":
        raise ctx.unsupported(f"an axis of type {axis.dtype} is not supported (TFLM takes int32)")
    values = axis.array().reshape(-1).tolist()
    rank = len(inp.shape)
    if len(values) != 1 or not -rank <= values[0] < rank:
        raise ctx.unsupported(f"axis {values} is not one axis of a rank-{rank} input")
    return int(values[0]) % rank


def _check(ctx: EmitContext) -> None:
    inp, out = ctx.tensor(0), ctx.output()
    if inp is None or inp.is_constant:
        raise ctx.unsupported("the input must be an activation tensor")
    if inp.dtype != "int8":
        raise ctx.unsupported(f"input type {inp.dtype} is not supported (TFLM's ARG_MAX takes int8)")
    if out.dtype != "int32":
        raise ctx.unsupported(f"output type {out.dtype} is not supported (TFLM's ARG_MAX gives int32)")
    if not inp.shape or inp.elements == 0:
        raise ctx.unsupported(f"input shape {inp.shape} is not supported")
    axis = _axis(ctx)
    expected = inp.shape[:axis] + inp.shape[axis + 1:]
    if tuple(out.shape) != expected:
        raise ctx.unsupported(f"output shape {out.shape} is not {expected}")


def _emit(ctx: EmitContext) -> Emitted:
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    axis = _axis(ctx)
    params = ctx.params("tf_arg_max_params_t", {
        "outer": math.prod(inp.shape[:axis]), "axis": inp.shape[axis], "inner": math.prod(inp.shape[axis + 1:])})
    code = f"tf_arg_max_s8(&{params}, {ctx.pointer(inp.index)}, (int32_t *){ctx.pointer(out.index)});"
    return Emitted(code, KERNELS, macs=0)


ARG_MAX = OpSupport(emit=_emit, check=_check)
