"""MUL int8 and int16 with broadcasting and a constant operand (TFLM mul_common.cc
CalculateOpDataMul / EvalMulQuantizedReference: MulElementwise and BroadcastMul6DSlow). The product of
the offset inputs is requantised by MultiplyByQuantizedMultiplier with s1 s2 / so (may exceed one).
TFLM requires zero points of 0 for int16."""

from __future__ import annotations

from tinyflash.generate.runtime.aot.ops import broadcast
from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.quant import quantize_multiplier

KERNELS = frozenset({"tf_mul.h", "tf_mul.c"})


def _multiplier(ctx: EmitContext) -> tuple[int, int]:
    a, b, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    assert a is not None and b is not None and a.quantization and b.quantization and out.quantization
    # in double from the float32 scales, as CalculateOpDataMul
    real = float(a.quantization.scale) * float(b.quantization.scale) / float(out.quantization.scale)
    return quantize_multiplier(real)


def _check(ctx: EmitContext) -> None:
    a, b, out = broadcast.check_binary(ctx, ("int8", "int16"))
    broadcast.check_symmetric_int16(ctx, a, b, out)
    _, shift = _multiplier(ctx)
    if shift > 30:
        raise ctx.unsupported("the output scale is too small for the inputs' (multiplier 2^30 or more)")


def _emit(ctx: EmitContext) -> Emitted:
    a, b, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    assert a is not None and b is not None and a.quantization and b.quantization and out.quantization
    act_min, act_max = broadcast.activation_bounds(ctx.op.options.get("activation", "NONE"), out.dtype,
                                                   out.quantization.scale, out.quantization.zero_point)
    mult, shift = _multiplier(ctx)
    values = {"in1_offset": -a.quantization.zero_point, "in2_offset": -b.quantization.zero_point,
              "out_mult": mult, "out_shift": shift, "output_offset": out.quantization.zero_point,
              "act_min": act_min, "act_max": act_max}
    _, suffix = broadcast.C_TYPES[out.dtype]
    return broadcast.emit_binary(ctx, f"tf_mul_row_{suffix}", "tf_mul_params_t", values, KERNELS)


MUL = OpSupport(emit=_emit, check=_check)
