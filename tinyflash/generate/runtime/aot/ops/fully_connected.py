"""FULLY_CONNECTED, int8 activations and per-tensor int8 weights (TFLM reference semantics)."""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops import mve
from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport, require_int8
from tinyflash.generate.runtime.aot.quant import activation_range, fc_real_multiplier, quantize_multiplier


def _check(ctx: EmitContext) -> None:
    require_int8(ctx, 0, 1)
    weights = ctx.tensor(1)
    bias = ctx.tensor(2)
    if weights is None or not weights.is_constant:
        raise ctx.unsupported("weights must be a constant tensor")
    if weights.quantization is None or weights.quantization.per_channel:
        raise ctx.unsupported("per-channel weights are not supported (per-tensor only)")
    if any(z != 0 for z in weights.quantization.zero_points):
        raise ctx.unsupported("weights with a non-zero zero point are not supported")
    if bias is not None and (bias.dtype != "int32" or not bias.is_constant):
        raise ctx.unsupported(f"bias '{bias.name}' must be a constant int32 tensor")
    if ctx.op.options.get("weights_format", 0) != 0:
        raise ctx.unsupported("shuffled weights format is not supported")
    if ctx.op.options.get("activation", "NONE") not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        raise ctx.unsupported(f"fused activation {ctx.op.options.get('activation')} is not supported")


def _emit(ctx: EmitContext) -> Emitted:
    inp, weights, bias, out = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2), ctx.output()
    assert inp is not None and weights is not None and weights.quantization
    assert inp.quantization is not None and out.quantization is not None
    out_depth, in_depth = weights.shape[0], weights.shape[-1]
    batches = inp.elements // in_depth
    w = weights.array().reshape(out_depth, in_depth)
    b = bias.array().astype(np.int64) if bias is not None else np.zeros(out_depth, np.int64)
    # fold the input offset into the bias: sum((x - zp) * w) = sum(x * w) - zp * sum(w)
    folded = b - inp.quantization.zero_point * w.astype(np.int64).sum(axis=1)
    folded = ((folded + 2**31) % 2**32 - 2**31).astype(np.int32)   # int32 wrap, as the device computes
    multiplier, shift = quantize_multiplier(fc_real_multiplier(
        inp.quantization.scale, weights.quantization.scale, out.quantization.scale))
    act_min, act_max = activation_range(ctx.op.options.get("activation", "NONE"),
                                        out.quantization.scale, out.quantization.zero_point)
    if ctx.mve_kernels:
        return mve.emit_fully_connected(ctx, batches, w, folded, multiplier, shift, inp.quantization.zero_point,
                                        out.quantization.zero_point, act_min, act_max)
    params = ctx.params("tf_fc_params_t", {
        "batches": batches, "in_depth": in_depth, "out_depth": out_depth, "multiplier": multiplier,
        "shift": shift, "output_offset": out.quantization.zero_point, "act_min": act_min, "act_max": act_max})
    w_name = ctx.constant("weights", np.ascontiguousarray(w))
    b_name = ctx.constant("bias", folded)
    code = (f"tf_fully_connected_s8(&{params}, {ctx.pointer(inp.index)}, {w_name}, {b_name}, "
            f"{ctx.pointer(out.index)});")
    return Emitted(code, frozenset({"tf_fully_connected.c"}), macs=batches * in_depth * out_depth)


FULLY_CONNECTED = OpSupport(emit=_emit, check=_check)
