"""SQUEEZE and EXPAND_DIMS (TFLM squeeze.cc, expand_dims.cc): a copy of the bytes in TFLM, so in
place here like RESHAPE (reshape.py): the output aliases the input, no code. Their shape rules are
TFLM's: SQUEEZE removes the listed axes of size 1 (all of them if none is listed), EXPAND_DIMS inserts
one at a constant axis (negative counts from the end)."""

from __future__ import annotations

from tinyflash.generate.runtime.aot.ops.base import EmitContext, OpSupport
from tinyflash.generate.runtime.aot.ops.movement import constant_ints, require_types
from tinyflash.generate.runtime.aot.ops.reshape import check_alias, emit_copy

SQUEEZE_TYPES = ("int8", "int16", "int32", "float32")   # TFLM copies any type but strings
EXPAND_DIMS_TYPES = ("int8", "int16", "float32")        # ExpandDimsEval's types
SQUEEZE_MAX_RANK = 8                                    # squeeze.cc max_squeeze_dims


def _check_squeeze(ctx: EmitContext) -> None:
    require_types(ctx, SQUEEZE_TYPES, 0)
    inp, out = check_alias(ctx), ctx.output()
    rank = len(inp.shape)
    if rank > SQUEEZE_MAX_RANK:
        raise ctx.unsupported(f"input has {rank} dimensions; TFLM's SQUEEZE supports at most {SQUEEZE_MAX_RANK}")
    dims = tuple(ctx.op.options.get("squeeze_dims", ()))
    if dims:
        axes = {d + rank if d < 0 else d for d in dims}
        if any(not 0 <= a < rank or inp.shape[a] != 1 for a in axes):
            raise ctx.unsupported(f"squeeze_dims {dims} must name axes of size 1 of {inp.shape}")
    else:
        axes = {a for a, d in enumerate(inp.shape) if d == 1}
    expected = tuple(d for a, d in enumerate(inp.shape) if a not in axes)
    if out.shape != expected:
        raise ctx.unsupported(f"output shape {out.shape} is not the squeezed input's {expected}")


def _check_expand_dims(ctx: EmitContext) -> None:
    require_types(ctx, EXPAND_DIMS_TYPES, 0)
    inp, out = check_alias(ctx), ctx.output()
    axis_values = constant_ints(ctx, 1, "axis")
    if len(axis_values) != 1:
        raise ctx.unsupported(f"axis {axis_values} is not one value")
    rank = len(inp.shape)
    axis = axis_values[0] + rank + 1 if axis_values[0] < 0 else axis_values[0]
    if not 0 <= axis <= rank:
        raise ctx.unsupported(f"axis {axis_values[0]} is out of range for {rank} dimensions")
    expected = inp.shape[:axis] + (1,) + inp.shape[axis:]
    if out.shape != expected:
        raise ctx.unsupported(f"output shape {out.shape} is not the input's with an axis at {axis} {expected}")


SQUEEZE = OpSupport(emit=emit_copy, check=_check_squeeze, in_place=True)
EXPAND_DIMS = OpSupport(emit=emit_copy, check=_check_expand_dims, in_place=True)
