"""QUANTIZE (TFLM quantize_common.cc): float32 -> int8/int16 by AffineQuantize, int8/int16 -> int8/int16/int32
by Requantize. From int8 the output depends only on the input byte: a table (ops/lut.py); from float32 and
int16 a kernel in tf_quantize.c. TFLM's uint8 and int32 inputs are not model types here."""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.lut import INPUT_BYTES, emit_lut, lut_overwrites, requantize_values
from tinyflash.generate.runtime.aot.quant import quantize_multiplier
from tinyflash.model.graph import Tensor

# (input, output) types TFLM's QUANTIZE computes, among the types the AOT runtime has
PAIRS = {("float32", "int8"), ("float32", "int16"), ("int8", "int8"), ("int8", "int16"), ("int8", "int32"),
         ("int16", "int8"), ("int16", "int16"), ("int16", "int32")}
RANGES = {"int8": (-128, 127), "int16": (-32768, 32767), "int32": (-2**31, 2**31 - 1)}


def elementwise_tensors(ctx: EmitContext) -> tuple[Tensor, Tensor]:
    """Input 0 and the output of a one-input element-wise operator, checked: an activation input with as
    many elements as the output."""
    inp, out = ctx.tensor(0), ctx.output()
    if inp is None or inp.is_constant:
        raise ctx.unsupported("the input must be an activation tensor")
    if inp.elements != out.elements:
        raise ctx.unsupported(f"input {inp.shape} and output {out.shape} differ in size")
    return inp, out


def per_tensor(ctx: EmitContext, *tensors: Tensor) -> None:
    for t in tensors:
        if t.quantization is None or t.quantization.per_channel:
            raise ctx.unsupported(f"'{t.name}' must be quantised per tensor (one scale and zero point)")


def requant_multiplier(ctx: EmitContext, inp: Tensor, out: Tensor) -> tuple[int, int]:
    """PrepareQuantizeReference: QuantizeMultiplier(double(input scale) / double(output scale))."""
    assert inp.quantization is not None and out.quantization is not None
    multiplier, shift = quantize_multiplier(float(np.float32(inp.quantization.scale)) /
                                            float(np.float32(out.quantization.scale)))
    if shift > 30:
        raise ctx.unsupported(f"scale ratio {inp.quantization.scale / out.quantization.scale:g} is too large")
    return multiplier, shift


def _check(ctx: EmitContext) -> None:
    inp, out = elementwise_tensors(ctx)
    if (inp.dtype, out.dtype) not in PAIRS:
        raise ctx.unsupported(f"{inp.dtype} -> {out.dtype} is not supported; supported: "
                              + ", ".join(f"{a} -> {b}" for a, b in sorted(PAIRS)))
    per_tensor(ctx, out)
    if out.quantization is not None and out.quantization.scale <= 0:
        raise ctx.unsupported(f"output scale {out.quantization.scale} is not positive")
    if inp.dtype != "float32":
        per_tensor(ctx, inp)
        requant_multiplier(ctx, inp, out)


def _emit(ctx: EmitContext) -> Emitted:
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None and out.quantization is not None
    kernels = frozenset({"tf_quantize.c", "tf_quantize.h"})
    src, dst = ctx.pointer(inp.index), ctx.pointer(out.index)
    ctype = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t"}[out.dtype]
    suffix = {"int8": "s8", "int16": "s16", "int32": "s32"}[out.dtype]
    if inp.dtype == "float32":
        scale = float(np.float32(out.quantization.scale)).hex() + "f"
        code = (f"tf_quantize_f32_{suffix}((const float *){src}, ({ctype} *){dst}, {inp.elements}, {scale}, "
                f"{out.quantization.zero_point});")
        return Emitted(code, kernels)
    assert inp.quantization is not None
    multiplier, shift = requant_multiplier(ctx, inp, out)
    if inp.dtype == "int8":
        return emit_lut(ctx, requantize_values(INPUT_BYTES, multiplier, shift, inp.quantization.zero_point,
                                               out.quantization.zero_point, *RANGES[out.dtype]))
    params = ctx.params("tf_requant_params_t", {
        "multiplier": multiplier, "shift": shift, "input_offset": inp.quantization.zero_point,
        "output_offset": out.quantization.zero_point})
    code = f"tf_requantize_s16_{suffix}(&{params}, (const int16_t *){src}, ({ctype} *){dst}, {inp.elements});"
    return Emitted(code, kernels)


QUANTIZE = OpSupport(emit=_emit, check=_check, overwrites=lut_overwrites)
