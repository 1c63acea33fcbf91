"""DEQUANTIZE int8/int16 -> float32 (TFLM dequantize.cc, reference_ops::Dequantize): float(double scale *
(x - zero point)). From int8 a table of the 256 floats (ops/lut.py); from int16 a float product, which the
double one equals (tf_quantize.c)."""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.lut import INPUT_BYTES, emit_float_lut
from tinyflash.generate.runtime.aot.ops.quantize import elementwise_tensors, per_tensor


def _check(ctx: EmitContext) -> None:
    inp, out = elementwise_tensors(ctx)
    if inp.dtype not in ("int8", "int16") or out.dtype != "float32":
        raise ctx.unsupported(f"{inp.dtype} -> {out.dtype} is not supported; supported: int8 -> float32, "
                              "int16 -> float32")
    per_tensor(ctx, inp)


def _emit(ctx: EmitContext) -> Emitted:
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None and inp.quantization is not None
    scale, zero_point = float(np.float32(inp.quantization.scale)), inp.quantization.zero_point
    if inp.dtype == "int8":
        # exactly TFLM's double product, rounded once to float32
        return emit_float_lut(ctx, np.array([scale * (v - zero_point) for v in INPUT_BYTES.tolist()],
                                            dtype=np.float64).astype(np.float32))
    code = (f"tf_dequantize_s16_f32((const int16_t *){ctx.pointer(inp.index)}, (float *){ctx.pointer(out.index)}, "
            f"{inp.elements}, {scale.hex()}f, {zero_point});")
    return Emitted(code, frozenset({"tf_quantize.c", "tf_quantize.h"}))


DEQUANTIZE = OpSupport(emit=_emit, check=_check)
