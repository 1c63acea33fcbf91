"""ADD int8 and int16 (TFLM add.cc / add_common.cc: reference_integer_ops::Add and AddFunc for int8,
reference_ops::AddElementwise for int16).

Two inputs of the same shape, both activations, int8: the portable tf_add_s8 and Helium tf_mve_add_s8
of the MLPerf Tiny models, unchanged. Everything else (broadcasting, a constant operand, int16) takes
the element-wise row kernels of tf_add16.c through broadcast.py. int16 ADD in TFLM ignores
pot_scale_int16 and always rescales generally (left shift 15), and so does this."""

from __future__ import annotations

from tinyflash.generate.runtime.aot.ops import broadcast
from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.mve_requant import ATTRS as MVE_ATTRS, kernels as mve_kernels
from tinyflash.generate.runtime.aot.quant import activation_range, add_params

ACTIVATIONS = broadcast.ACTIVATIONS
MVE_KERNEL = "tf_mve_add.h"
LEFT_SHIFT = {"int8": 20, "int16": 15}     # add_common.cc: room for the sum of two shifted inputs
ROW_KERNELS = frozenset({"tf_add16.h", "tf_add16.c"})


def _same_shape_int8(ctx: EmitContext) -> bool:
    """The original path: same-shape int8 activations (the MLPerf Tiny models' residual ADDs)."""
    a, b = ctx.tensor(0), ctx.tensor(1)
    assert a is not None and b is not None
    return a.dtype == "int8" and a.shape == b.shape and not a.is_constant and not b.is_constant


def _check(ctx: EmitContext) -> None:
    a, b, out = broadcast.check_binary(ctx, ("int8", "int16"))
    broadcast.check_symmetric_int16(ctx, a, b, out)
    try:
        add_params(a.quantization.scale, b.quantization.scale, out.quantization.scale,  # type: ignore[union-attr]
                   LEFT_SHIFT[a.dtype])
    except ValueError as exc:
        raise ctx.unsupported(f"scales not supported: {exc}") from None


def _emit(ctx: EmitContext) -> Emitted:
    a, b, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    assert a is not None and b is not None
    assert a.quantization and b.quantization and out.quantization
    fields = add_params(a.quantization.scale, b.quantization.scale, out.quantization.scale, LEFT_SHIFT[a.dtype])
    activation = ctx.op.options.get("activation", "NONE")
    if not _same_shape_int8(ctx):
        act_min, act_max = broadcast.activation_bounds(activation, out.dtype, out.quantization.scale,
                                                       out.quantization.zero_point)
        _, suffix = broadcast.C_TYPES[out.dtype]
        values = {"size": out.elements, "in1_offset": -a.quantization.zero_point, "in2_offset": -b.quantization.zero_point,
                  **fields, "output_offset": out.quantization.zero_point, "act_min": act_min, "act_max": act_max}
        return broadcast.emit_binary(ctx, f"tf_add_row_{suffix}", "tf_add_params_t", values, ROW_KERNELS)
    act_min, act_max = activation_range(activation, out.quantization.scale, out.quantization.zero_point)
    values = {
        "size": out.elements, "in1_offset": -a.quantization.zero_point, "in1_mult": fields["in1_mult"],
        "in1_shift": fields["in1_shift"], "in2_offset": -b.quantization.zero_point,
        "in2_mult": fields["in2_mult"], "in2_shift": fields["in2_shift"], "left_shift": fields["left_shift"],
        "out_mult": fields["out_mult"], "out_shift": fields["out_shift"],
        "output_offset": out.quantization.zero_point, "act_min": act_min, "act_max": act_max}
    params = ctx.params("tf_add_params_t", values)
    if ctx.mve_kernels:
        # Helium, four elements per vector, the same parameters as the portable kernel
        code = ctx.layer_function(MVE_ATTRS, f"tf_mve_add_s8(&{params}, a, b, out);",
                                  {"a": a.index, "b": b.index, "out": out.index})
        return Emitted(code, mve_kernels(MVE_KERNEL), macs=0)
    code = (f"tf_add_s8(&{params}, {ctx.pointer(a.index)}, {ctx.pointer(b.index)}, "
            f"{ctx.pointer(out.index)});")
    return Emitted(code, frozenset({"tf_add.c"}), macs=0)


def _overwrites(ctx: EmitContext) -> tuple[int, ...]:
    """The same-shape int8 kernels (tf_add_s8, tf_mve_add_s8) read both elements before writing one:
    the output may take either input's buffer."""
    return (0, 1) if _same_shape_int8(ctx) else ()


ADD = OpSupport(emit=_emit, check=_check, overwrites=_overwrites)
