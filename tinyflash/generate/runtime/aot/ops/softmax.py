"""SOFTMAX int8 -> int8 (TFLM reference_ops::Softmax, gemmlowp fixed point)."""

from __future__ import annotations

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport, require_int8
from tinyflash.generate.runtime.aot.quant import softmax_params

MAX_DEPTH = 256     # beyond this the reciprocal's shift could exceed 31 (undefined in the reference)


def _check(ctx: EmitContext) -> None:
    require_int8(ctx, 0)
    inp, out = ctx.tensor(0), ctx.output()
    if inp is None or inp.is_constant:
        raise ctx.unsupported("the input must be an activation tensor")
    if inp.quantization is None or out.quantization is None or inp.quantization.per_channel:
        raise ctx.unsupported("input and output must be per-tensor quantised")
    if out.quantization.zero_point != -128 or out.quantization.scale != 1.0 / 256:
        raise ctx.unsupported(f"int8 output must have scale 1/256 and zero point -128 (has "
                              f"{out.quantization.scale}, {out.quantization.zero_point})")
    if not inp.shape or inp.elements != out.elements:
        raise ctx.unsupported(f"input {inp.shape} and output {out.shape} differ")
    depth = inp.shape[-1]
    if depth < 1 or depth > MAX_DEPTH:
        raise ctx.unsupported(f"depth {depth} is not supported (1..{MAX_DEPTH})")
    try:
        softmax_params(ctx.op.options.get("beta", 1.0), inp.quantization.scale)
    except ValueError as exc:
        raise ctx.unsupported(str(exc)) from None


def _emit(ctx: EmitContext) -> Emitted:
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None and inp.quantization is not None
    multiplier, left_shift, diff_min = softmax_params(ctx.op.options.get("beta", 1.0), inp.quantization.scale)
    depth = inp.shape[-1]
    params = ctx.params("tf_softmax_params_t", {
        "outer": inp.elements // depth, "depth": depth, "input_multiplier": multiplier,
        "input_left_shift": left_shift, "diff_min": diff_min})
    code = f"tf_softmax_s8(&{params}, {ctx.pointer(inp.index)}, {ctx.pointer(out.index)});"
    return Emitted(code, frozenset({"tf_softmax.c"}), macs=0)


SOFTMAX = OpSupport(emit=_emit, check=_check)
