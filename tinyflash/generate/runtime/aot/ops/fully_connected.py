"""FULLY_CONNECTED, int8 activations and per-tensor int8 weights (TFLM reference semantics)."""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport, require_int8, rq_table
from tinyflash.generate.runtime.aot.ops.conv import MVE_KERNEL, conv_weights
from tinyflash.generate.runtime.aot.ops.mve_requant import emit_layer, quant_fields
from tinyflash.generate.runtime.aot.quant import (activation_range, fc_real_multiplier, quantize_multiplier,
                                                  requant_rows)


def _check(ctx: EmitContext) -> None:
    require_int8(ctx, 0, 1)
    inp, weights, bias, out = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2), ctx.output()
    # shapes and quantisation _emit relies on (found by the model fuzzer, #11): refused here, not crashed on
    if inp is None or inp.is_constant:
        raise ctx.unsupported("the input must be an activation tensor")
    if weights is None or not weights.is_constant:
        raise ctx.unsupported("weights must be a constant tensor")
    if len(weights.shape) != 2 or min(weights.shape) < 1:
        raise ctx.unsupported(f"weights {weights.shape} must be 2-D [units, depth]")
    out_depth, in_depth = weights.shape
    if inp.elements % in_depth or out.elements != inp.elements // in_depth * out_depth:
        raise ctx.unsupported(f"input {inp.shape} and output {out.shape} do not fit weights {weights.shape}")
    for t, what in ((inp, "input"), (out, "output")):
        if t.quantization is None or t.quantization.per_channel:
            raise ctx.unsupported(f"{what} '{t.name}' must be per-tensor quantised")
    if bias is not None and bias.elements != out_depth:
        raise ctx.unsupported(f"bias has {bias.elements} values for {out_depth} units")
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
        return _emit_mve(ctx, batches, w, folded, multiplier, shift, inp.quantization.zero_point,
                         out.quantization.zero_point, act_min, act_max)
    macs = batches * in_depth * out_depth
    if ctx.dsp_kernels and in_depth % 4 == 0:
        abs_sums = np.abs(w.astype(np.int64)).sum(axis=1)
        rq = requant_rows(np.full(out_depth, multiplier, np.int32), np.full(out_depth, shift, np.int32),
                          folded, abs_sums, out.quantization.zero_point, act_min)
        if rq is not None:
            return _emit_fast(ctx, w, folded, rq, batches, act_min, act_max, macs)
    params = ctx.params("tf_fc_params_t", {
        "batches": batches, "in_depth": in_depth, "out_depth": out_depth, "multiplier": multiplier,
        "shift": shift, "output_offset": out.quantization.zero_point, "act_min": act_min, "act_max": act_max})
    w_name = ctx.constant("weights", np.ascontiguousarray(w))
    b_name = ctx.constant("bias", folded)
    code = (f"tf_fully_connected_s8(&{params}, {ctx.pointer(inp.index)}, {w_name}, {b_name}, "
            f"{ctx.pointer(out.index)});")
    return Emitted(code, frozenset({"tf_fully_connected.c"}), macs=macs)


def _emit_fast(ctx: EmitContext, w: np.ndarray, folded: np.ndarray, requant: tuple[np.ndarray, int],
               batches: int, act_min: int, act_max: int, macs: int) -> Emitted:
    """tf_fast.h's tf_fast_fc_s8 in a per-layer function with constant parameters (see conv.py)."""
    rq, mode = requant
    out_depth, in_depth = w.shape
    index = ctx.op.index
    ctx.constants.append(
        f"static const tf_fast_fc_t tf_n{index}_params = {{.batches = {batches}, .in_depth = {in_depth}, "
        f".out_depth = {out_depth}, .act_min = {act_min}, .act_max = {act_max}, .rq_mode = {mode}}};")
    w_name = ctx.constant("weights", np.ascontiguousarray(w))
    b_name = ctx.constant("bias", folded)
    rq_name = rq_table(ctx, rq)
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    code = ctx.layer_function(
        "TF_LAYER_ATTRS", f"tf_fast_fc_s8(&tf_n{index}_params, in, {w_name}, {b_name}, {rq_name}, "
                          f"(int16_t *)tf_scratch, out);", {"in": inp.index, "out": out.index})
    return Emitted(code, frozenset({"tf_fast.h"}), macs=macs, scratch_bytes=in_depth * 2)


def _emit_mve(ctx: EmitContext, batches: int, w: np.ndarray, bias: np.ndarray, multiplier: int, shift: int,
              in_zp: int, out_zp: int, act_min: int, act_max: int) -> Emitted:
    """Helium: a 1x1 CONV_2D over 'batches' pixels (tf_mve_conv.h), the per-tensor multiplier
    repeated per output channel."""
    out_depth, in_depth = w.shape
    geom = {"batches": batches, "in_h": 1, "in_w": 1, "in_c": in_depth, "out_h": 1, "out_w": 1,
            "out_c": out_depth, "k_h": 1, "k_w": 1, "stride_h": 1, "stride_w": 1, "dil_h": 1, "dil_w": 1,
            "pad_h": 0, "pad_w": 0}
    mult = np.full(out_depth, multiplier, dtype=np.int64)
    shifts = np.full(out_depth, shift, dtype=np.int64)
    fields = {"k": in_depth, "direct": 1, "strip_w": 0, "strip_rows": 0,
              **quant_fields(mult, shifts, in_zp, out_zp, act_min, act_max)}
    inp, out = ctx.op.inputs[0], ctx.op.outputs[0]
    return emit_layer(ctx, MVE_KERNEL, geom, fields, conv_weights(w), bias, mult, shifts,
                      "tf_mve_conv_s8({params}, in, {weights}, {rq}, (int8_t *)0, out);",
                      batches * in_depth * out_depth, 0, inp, out)


FULLY_CONNECTED = OpSupport(emit=_emit, check=_check)
