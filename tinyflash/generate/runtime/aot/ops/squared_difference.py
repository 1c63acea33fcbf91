"""SQUARED_DIFFERENCE int8 and int16 with broadcasting and a constant operand (TFLM
squared_difference.cc: PrepareQuantized and SquaredDifference(x, y, params)): both inputs shifted
left (7 for int8, 0 for int16) and scaled to twice the larger input scale, the difference squared and
scaled to the output. No fused activation: the output clamps to its type."""

from __future__ import annotations

from tinyflash.generate.runtime.aot.ops import broadcast
from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport

LEFT_SHIFT = {"int8": 7, "int16": 0}
KERNELS = frozenset({"tf_squared_difference.h", "tf_squared_difference.c"})


def _fields(ctx: EmitContext) -> dict[str, int]:
    a, b, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    assert a is not None and b is not None and a.quantization and b.quantization and out.quantization
    return broadcast.rescale_params(a.quantization.scale, b.quantization.scale, out.quantization.scale,
                                    LEFT_SHIFT[a.dtype], squared=True)


def _check(ctx: EmitContext) -> None:
    a, b, out = broadcast.check_binary(ctx, ("int8", "int16"))
    broadcast.check_symmetric_int16(ctx, a, b, out)      # squared_difference.cc requires it for int16
    try:
        _fields(ctx)
    except ValueError as exc:
        raise ctx.unsupported(f"scales not supported: {exc}") from None


def _emit(ctx: EmitContext) -> Emitted:
    a, b, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    assert a is not None and b is not None and a.quantization and b.quantization and out.quantization
    act_min, act_max = broadcast.TYPE_BOUNDS[out.dtype]
    values = {"size": out.elements, "in1_offset": -a.quantization.zero_point,
              "in2_offset": -b.quantization.zero_point, **_fields(ctx),
              "output_offset": out.quantization.zero_point, "act_min": act_min, "act_max": act_max}
    _, suffix = broadcast.C_TYPES[out.dtype]
    return broadcast.emit_binary(ctx, f"tf_squared_difference_row_{suffix}", "tf_add_params_t", values, KERNELS)


SQUARED_DIFFERENCE = OpSupport(emit=_emit, check=_check)
