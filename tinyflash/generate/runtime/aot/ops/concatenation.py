"""CONCATENATION (TFLM concatenation.cc / reference_ops::Concatenation): int8, int16, int32 and
float32, any axis (negative counts from the end), one to ten inputs of up to six axes, activation
inputs or constants. TFLM does no arithmetic: its int8 inputs must share the output's scale and zero
point, its int16 ones have zero point 0, so the kernel (tf_concat.c) copies, for each index before
the axis, one whole block of every input in turn."""

from __future__ import annotations

import math

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.movement import pointer, require_types, tensor_params
from tinyflash.model.graph import DTYPE_SIZES, Tensor

TYPES = ("int8", "int16", "int32", "float32")
MAX_INPUTS = 10                   # concatenation.cc kMaxInputNum
MAX_RANK = 6                      # RuntimeShape::kMaxSmallSize
KERNELS = frozenset({"tf_concat.c", "tf_concat.h"})


def _inputs(ctx: EmitContext) -> list[Tensor]:
    inputs = [ctx.tensor(k) for k in range(len(ctx.op.inputs))]
    if not inputs or any(t is None for t in inputs):
        raise ctx.unsupported("an input is missing")
    return [t for t in inputs if t is not None]


def _axis(ctx: EmitContext) -> int:
    rank = len(ctx.output().shape)
    axis = int(ctx.op.options.get("axis", 0))
    if not -rank <= axis < rank:
        raise ctx.unsupported(f"axis {axis} is out of range for {rank} dimensions")
    return axis + rank if axis < 0 else axis


def _check(ctx: EmitContext) -> None:
    inputs, out = _inputs(ctx), ctx.output()
    dtype = require_types(ctx, TYPES, *range(len(inputs)))
    if len(inputs) > MAX_INPUTS:
        raise ctx.unsupported(f"{len(inputs)} inputs; TFLM's CONCATENATION takes at most {MAX_INPUTS}")
    if ctx.op.options.get("activation", "NONE") != "NONE":
        raise ctx.unsupported(f"fused activation {ctx.op.options['activation']} (TFLM requires NONE)")
    rank = len(out.shape)
    if not 1 <= rank <= MAX_RANK:
        raise ctx.unsupported(f"output has {rank} dimensions; TFLM's CONCATENATION supports 1 to {MAX_RANK}")
    axis = _axis(ctx)
    for t in inputs:
        if len(t.shape) != rank or t.shape[:axis] + t.shape[axis + 1:] != out.shape[:axis] + out.shape[axis + 1:]:
            raise ctx.unsupported(f"input '{t.name}' {t.shape} does not fit output {out.shape} on axis {axis}")
    if sum(t.shape[axis] for t in inputs) != out.shape[axis]:
        raise ctx.unsupported(f"the inputs' sizes on axis {axis} do not add up to the output's {out.shape[axis]}")
    if all(t.is_constant for t in inputs):
        raise ctx.unsupported("every input is a constant; fold it when converting the model")
    if dtype == "int8":
        # TFLM: "no re-scaling needed for Int8 quantized kernel"
        for t in inputs:
            if tensor_params(t) != tensor_params(out):
                raise ctx.unsupported(f"int8 input '{t.name}' is not quantised as the output (TFLM's int8 "
                                      "CONCATENATION does not rescale)")
    if dtype == "int16":
        for t in (*inputs, out):
            if tensor_params(t)[1] != 0:
                raise ctx.unsupported(f"int16 tensor '{t.name}' has a zero point; TFLM requires 0")


def _emit(ctx: EmitContext) -> Emitted:
    inputs, out = _inputs(ctx), ctx.output()
    axis = _axis(ctx)
    size = DTYPE_SIZES[out.dtype]
    addresses: dict[int, str] = {}       # one array per constant even if it is given twice
    for t in inputs:
        if t.index not in addresses:
            addresses[t.index] = pointer(ctx, t, "s8", const=True)
    blocks = np.array([math.prod(t.shape[axis:]) * size for t in inputs], dtype=np.int32)
    index = ctx.op.index
    block_name = ctx.constant("blocks", blocks)
    ctx.constants.append(f"static const int8_t *const tf_n{index}_inputs[{len(inputs)}] = "
                         f"{{{', '.join(addresses[t.index] for t in inputs)}}};")
    ctx.constants.append(f"static const tf_concat_params_t tf_n{index}_params = {{.count = {len(inputs)}, "
                         f".outer = {math.prod(out.shape[:axis])}, .block_bytes = {block_name}, "
                         f".inputs = tf_n{index}_inputs}};")
    return Emitted(f"tf_concat(&tf_n{index}_params, {ctx.pointer(out.index)});", KERNELS, macs=0)


CONCATENATION = OpSupport(emit=_emit, check=_check)
