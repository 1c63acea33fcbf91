"""ADD int8 with input rescaling, same-shape inputs (TFLM add.cc / reference_integer_ops::Add)."""

from __future__ import annotations

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport, require_int8
from tinyflash.generate.runtime.aot.ops.mve_requant import ATTRS as MVE_ATTRS, kernels as mve_kernels
from tinyflash.generate.runtime.aot.quant import activation_range, add_params

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
MVE_KERNEL = "tf_mve_add.h"


def _check(ctx: EmitContext) -> None:
    require_int8(ctx, 0, 1)
    a, b, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    if a is None or b is None or a.is_constant or b.is_constant:
        raise ctx.unsupported("both inputs must be activation tensors (constant operands are not supported)")
    if a.shape != b.shape or a.elements != out.elements:
        raise ctx.unsupported(f"broadcasting ({a.shape} + {b.shape} -> {out.shape}) is not supported")
    for t in (a, b, out):
        if t.quantization is None or t.quantization.per_channel:
            raise ctx.unsupported(f"'{t.name}' must be per-tensor quantised")
    if ctx.op.options.get("activation", "NONE") not in ACTIVATIONS:
        raise ctx.unsupported(f"fused activation {ctx.op.options.get('activation')} is not supported")
    try:
        add_params(a.quantization.scale, b.quantization.scale, out.quantization.scale)  # type: ignore[union-attr]
    except ValueError as exc:
        raise ctx.unsupported(f"scales not supported: {exc}") from None


def _emit(ctx: EmitContext) -> Emitted:
    a, b, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    assert a is not None and b is not None
    assert a.quantization and b.quantization and out.quantization
    fields = add_params(a.quantization.scale, b.quantization.scale, out.quantization.scale)
    act_min, act_max = activation_range(ctx.op.options.get("activation", "NONE"), out.quantization.scale,
                                        out.quantization.zero_point)
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


ADD = OpSupport(emit=_emit, check=_check)
