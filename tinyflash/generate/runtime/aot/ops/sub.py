"""SUB int8 and int16 with broadcasting and a constant operand (TFLM sub.cc / sub_common.cc:
reference_ops::SubElementwise and BroadcastQuantSubSlow): ADD's rescaling with a difference. For
int16 TFLM ignores pot_scale_int16 (always the general rescaling, left shift 15), and so does this."""

from __future__ import annotations

from tinyflash.generate.runtime.aot.ops import broadcast
from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport

LEFT_SHIFT = {"int8": 20, "int16": 15}
KERNELS = frozenset({"tf_sub.h", "tf_sub.c"})


def _fields(ctx: EmitContext) -> dict[str, int]:
    a, b, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    assert a is not None and b is not None and a.quantization and b.quantization and out.quantization
    return broadcast.rescale_params(a.quantization.scale, b.quantization.scale, out.quantization.scale,
                                    LEFT_SHIFT[a.dtype])


def _check(ctx: EmitContext) -> None:
    a, b, out = broadcast.check_binary(ctx, ("int8", "int16"))
    broadcast.check_symmetric_int16(ctx, a, b, out)
    try:
        _fields(ctx)
    except ValueError as exc:
        raise ctx.unsupported(f"scales not supported: {exc}") from None


def _emit(ctx: EmitContext) -> Emitted:
    a, b, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    assert a is not None and b is not None and a.quantization and b.quantization and out.quantization
    act_min, act_max = broadcast.activation_bounds(ctx.op.options.get("activation", "NONE"), out.dtype,
                                                   out.quantization.scale, out.quantization.zero_point)
    values = {"size": out.elements, "in1_offset": -a.quantization.zero_point,
              "in2_offset": -b.quantization.zero_point, **_fields(ctx),
              "output_offset": out.quantization.zero_point, "act_min": act_min, "act_max": act_max}
    _, suffix = broadcast.C_TYPES[out.dtype]
    return broadcast.emit_binary(ctx, f"tf_sub_row_{suffix}", "tf_add_params_t", values, KERNELS)


SUB = OpSupport(emit=_emit, check=_check)
