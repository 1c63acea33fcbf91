"""PAD and PADV2 (TFLM pad.cc / reference_ops::Pad): int8, int16, int32 and float32 of one to five
axes, constant non-negative paddings. The padding element is as TFLM chooses it: PADV2's constant
value; for PAD the output zero point in int8, else 0 (TFLM pads int16 with 0 whatever the zero
point). The kernel (tf_pad.c) writes output rows: padding fills and one memcpy of an input row.

Refused: paddings that are not constants (TFLM refuses them), negative paddings (cropping: TFLM's
PadImpl would not compute it), a constant value computed by the graph."""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.movement import (SUFFIXES, VIEW_RANK, activation_input, c_array,
                                                         constant_ints, extended, pointer, require_types,
                                                         tensor_params)

TYPES = ("int8", "int16", "int32", "float32")
KERNELS = frozenset({"tf_pad.c", "tf_pad.h"})


def c_int32(value: int) -> str:
    """An int32 literal; INT32_MIN (the bits of -0.0f) has no literal of its own in C."""
    return "(-2147483647 - 1)" if value == -2**31 else str(value)


def _paddings(ctx: EmitContext) -> list[tuple[int, int]]:
    values = constant_ints(ctx, 1, "paddings")
    rank = len(ctx.output().shape)
    if len(values) != 2 * rank:
        raise ctx.unsupported(f"paddings has {len(values)} values; the output's {rank} dimensions need {2 * rank}")
    return [(values[2 * k], values[2 * k + 1]) for k in range(rank)]


def _value(ctx: EmitContext) -> int:
    """The padding element's bits as an int32 (the kernel casts it to the element type)."""
    out = ctx.output()
    given = ctx.tensor(2)
    if given is None:
        return tensor_params(out)[1] if out.dtype == "int8" else 0
    value = given.array().reshape(-1)
    return int(value.view(np.int32)[0]) if value.dtype == np.float32 else int(value[0])


def _check(ctx: EmitContext) -> None:
    if len(ctx.op.inputs) not in (2, 3):
        raise ctx.unsupported(f"{len(ctx.op.inputs)} inputs; TFLM's PAD takes 2 or 3")
    dtype = require_types(ctx, TYPES, 0)
    inp, out = activation_input(ctx), ctx.output()
    if not 1 <= len(inp.shape) <= VIEW_RANK or len(out.shape) != len(inp.shape):
        raise ctx.unsupported(f"input {inp.shape} and output {out.shape}: TFLM pads 1 to {VIEW_RANK} dimensions")
    pads = _paddings(ctx)
    if any(before < 0 or after < 0 for before, after in pads):
        raise ctx.unsupported(f"negative paddings {pads} (cropping) are not supported")
    expected = tuple(d + before + after for d, (before, after) in zip(inp.shape, pads))
    if out.shape != expected:
        raise ctx.unsupported(f"output shape {out.shape} is not the padded input's {expected}")
    given = ctx.tensor(2)
    if given is not None:
        if not given.is_constant:
            raise ctx.unsupported(f"the constant value '{given.name}' is computed by the graph; only a constant "
                                  "is supported")
        if given.dtype != dtype or given.elements != 1:
            raise ctx.unsupported(f"the constant value '{given.name}' must be one {dtype} (TFLM)")
        if dtype == "int8":
            if tensor_params(given) != tensor_params(out):
                raise ctx.unsupported(f"int8 constant value '{given.name}' is not quantised as the output (TFLM)")
    elif dtype == "int8" and not -128 <= tensor_params(out)[1] <= 127:
        raise ctx.unsupported("the output zero point is outside int8 (TFLM)")


def _emit(ctx: EmitContext) -> Emitted:
    inp, out = activation_input(ctx), ctx.output()
    pads = _paddings(ctx)
    suffix = SUFFIXES[out.dtype]
    before = extended([b for b, _ in pads], fill=0)
    ctx.constants.append(f"static const tf_pad_params_t tf_n{ctx.op.index}_params = {{"
                         f".in_dims = {c_array(extended(inp.shape))}, .out_dims = {c_array(extended(out.shape))}, "
                         f".before = {c_array(before)}, .value = {c_int32(_value(ctx))}}};")
    code = (f"tf_pad_{suffix}(&tf_n{ctx.op.index}_params, {pointer(ctx, inp, suffix, const=True)}, "
            f"{pointer(ctx, out, suffix, const=False)});")
    return Emitted(code, KERNELS, macs=0)


PAD = OpSupport(emit=_emit, check=_check)
PADV2 = PAD     # TFLM registers the same kernel for both
