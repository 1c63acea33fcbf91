"""FULLY_CONNECTED, int8 activations and per-tensor int8 weights, and int16 activations with int8
weights ("16x8", per-tensor or per-channel, int64 or int32 bias) (TFLM reference semantics).

The int16 helpers here (int64 constants, int16 activation ranges, the SIMD weight pair order) are shared
with TRANSPOSE_CONV and BATCH_MATMUL's int16 and SIMD paths."""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport, require_int8, rq_table
from tinyflash.generate.runtime.aot.ops.conv import MVE_KERNEL, conv_weights
from tinyflash.generate.runtime.aot.ops.mve_requant import emit_layer, quant_fields
from tinyflash.generate.runtime.aot.quant import (activation_range, fc_real_multiplier, per_channel_real_multiplier,
                                                  quantize_multiplier, requant_rows, round_half_away)
from tinyflash.model.graph import Quantization

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
INT16_MIN, INT16_MAX = -32768, 32767
FC16_KERNELS = frozenset({"tf_fc16.h", "tf_fc16.c"})
# tf_fast_matmul.h holds the SIMD kernels of the three operators and includes their headers
FAST_MATMUL_KERNELS = frozenset({"tf_fast.h", "tf_fc16.h", "tf_transpose_conv.h", "tf_batch_matmul.h",
                                 "tf_fast_matmul.h"})


def _check(ctx: EmitContext) -> None:
    inp = ctx.tensor(0)
    if inp is not None and inp.dtype == "int16":
        _check_16x8(ctx)
        return
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
    if inp is not None and inp.dtype == "int16":
        return _emit_16x8(ctx)
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
    if ctx.dsp_kernels:
        abs_sums = np.abs(w.astype(np.int64)).sum(axis=1)
        rq = requant_rows(np.full(out_depth, multiplier, np.int32), np.full(out_depth, shift, np.int32),
                          folded, abs_sums, out.quantization.zero_point, act_min)
        if rq is not None and widened_fits(ctx):
            return _emit_widened(ctx, w, folded, rq, batches, act_min, act_max, macs)
        if rq is not None and in_depth % 4 == 0:
            return _emit_fast(ctx, w, folded, rq, batches, act_min, act_max, macs)
    params = ctx.params("tf_fc_params_t", {
        "batches": batches, "in_depth": in_depth, "out_depth": out_depth, "multiplier": multiplier,
        "shift": shift, "output_offset": out.quantization.zero_point, "act_min": act_min, "act_max": act_max})
    w_name = ctx.constant("weights", np.ascontiguousarray(w))
    b_name = ctx.constant("bias", folded)
    code = (f"tf_fully_connected_s8(&{params}, {ctx.pointer(inp.index)}, {w_name}, {b_name}, "
            f"{ctx.pointer(out.index)});")
    return Emitted(code, frozenset({"tf_fully_connected.c"}), macs=macs)


# flash kept free for code, kernels and the rest of the firmware when widening weights (ad's whole
# firmware without its weights is about 40 KB; the margin leaves room for the other layers' choices)
FLASH_RESERVE = 128 * 1024


def _round4(n: int) -> int:
    return (n + 3) & ~3


def widened_extra_bytes(out_depth: int, in_depth: int) -> int:
    """Flash a layer's int16 weights (padded to 4 rows by 4 depths) take beyond its int8 ones."""
    return 2 * _round4(out_depth) * _round4(in_depth) - out_depth * in_depth


def widened_fits(ctx: EmitContext) -> bool:
    """Whether this layer's weights are widened to int16 in flash: greedily in graph order, every int8
    FULLY_CONNECTED up to this one widened, while the model's weights plus that growth plus
    FLASH_RESERVE stay within the board's flash (ctx.flash_bytes; 0 when unknown: never)."""
    if ctx.flash_bytes <= 0:
        return False
    growth = 0
    for op in ctx.graph.operators:
        if op.opcode != "FULLY_CONNECTED":
            continue
        inp, weights = ctx.graph.tensors[op.inputs[0]], ctx.graph.tensors[op.inputs[1]]
        if inp.dtype != "int8" or len(weights.shape) != 2:
            continue
        growth += widened_extra_bytes(*weights.shape)
        if op.index == ctx.op.index:
            break
    return ctx.graph.weight_bytes() + growth + FLASH_RESERVE <= ctx.flash_bytes


def widened_weights(w: np.ndarray) -> np.ndarray:
    """int8 [units, depth] to tf_fast_fc.h's widened words: rows and depth zero-padded to multiples of 4;
    per block of 4 rows and per depths k..k+3, the int16 pairs (k, k+2) of rows 0..3, then (k+1, k+3)
    of rows 0..3 (low half first), the order of one LDRD of the input's SXTB16 words and two LDMs."""
    rows, depth = w.shape
    padded = np.zeros((_round4(rows), _round4(depth)), dtype=np.int64)
    padded[:rows, :depth] = w
    blocks = padded.reshape(padded.shape[0] // 4, 4, padded.shape[1] // 4, 4)     # (block, row, group, j)
    lo, hi = blocks[..., [0, 1]], blocks[..., [2, 3]]                             # (k, k+2), (k+1, k+3)
    words = (lo & 0xFFFF) | ((hi & 0xFFFF) << 16)                                 # (block, row, group, half)
    return np.ascontiguousarray(words.transpose(0, 2, 3, 1)).reshape(-1).astype(np.uint32)


def fold_left_shift(w: np.ndarray, bias: np.ndarray, rq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tf_rq's left shift moved into the widened weights and the bias of each row where the shifted
    weights fit int16: acc << left = sum(x (w << left)) + (bias << left) exactly, since requant_rows
    proved (|bias| + 128 sum|w|) << left < 2^31, which bounds every partial sum too. Saves the shift
    per output. Constant rows (multiplier 0) ignore acc: their shift becomes 0 as well."""
    w = w.astype(np.int64)
    bias = bias.astype(np.int64)
    rq = rq.copy()
    for row, (mult, left, _, _) in enumerate(rq.tolist()):
        if mult == 0:
            rq[row, 1] = 0
            continue
        shifted = w[row] << left
        if shifted.min() >= -32768 and shifted.max() <= 32767:
            w[row], bias[row], rq[row, 1] = shifted, bias[row] << left, 0
    return w, bias, rq


def _emit_widened(ctx: EmitContext, w: np.ndarray, folded: np.ndarray, requant: tuple[np.ndarray, int],
                  batches: int, act_min: int, act_max: int, macs: int) -> Emitted:
    """tf_fast_fc.h's tf_fast_fc_w16_s8: int16 weights in flash, in a per-layer function (see conv.py)."""
    rq, mode = requant
    out_depth, in_depth = w.shape
    index = ctx.op.index
    w, folded, rq = fold_left_shift(w, folded, rq)
    # per-tensor weights give every output the same row unless a row is constant (all-zero weights)
    shared = bool((rq == rq[0]).all())
    extra = widened_extra_bytes(out_depth, in_depth)
    ctx.notes.append(f"node {index} FULLY_CONNECTED {in_depth}->{out_depth}: weights widened to int16 in "
                     f"flash (+{extra:,} B)")
    ctx.constants.append(
        f"/* node {index}: weights widened to int16 at generation time (+{extra} B of flash), as the board's "
        f"flash has room: no widening in the MAC loop */\n"
        f"static const tf_fast_fc_w16_t tf_n{index}_params = {{.batches = {batches}, .in_depth = {in_depth}, "
        f".kp = {_round4(in_depth)}, .out_depth = {out_depth}, .act_min = {act_min}, .act_max = {act_max}, "
        f".rq_mode = {mode}, .rq_shared = {int(shared)}}};")
    w_name = ctx.constant("weights", widened_weights(w))
    bias = np.zeros(_round4(out_depth), dtype=np.int64)
    bias[:out_depth] = folded
    assert np.abs(bias).max() < 2**31
    b_name = ctx.constant("bias", bias.astype(np.int32))
    rq_name = rq_table(ctx, rq[:1] if shared else rq)
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    code = ctx.layer_function(
        "TF_LAYER_ATTRS", f"tf_fast_fc_w16_s8(&tf_n{index}_params, in, {w_name}, {b_name}, {rq_name}, "
                          f"(uint32_t *)tf_scratch, out);", {"in": inp.index, "out": out.index})
    return Emitted(code, frozenset({"tf_fast.h", "tf_fast_fc.h"}), macs=macs, scratch_bytes=_round4(in_depth) * 2)


def _emit_fast(ctx: EmitContext, w: np.ndarray, folded: np.ndarray, requant: tuple[np.ndarray, int],
               batches: int, act_min: int, act_max: int, macs: int) -> Emitted:
    """tf_fast_fc.h's tf_fast_fc_s8 in a per-layer function with constant parameters (see conv.py)."""
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
    return Emitted(code, frozenset({"tf_fast.h", "tf_fast_fc.h"}), macs=macs, scratch_bytes=in_depth * 2)


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


def activation_range_s16(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for an int16 output (the int8 form is quant.activation_range)."""
    def quantize(value: float) -> int:
        return zero_point + round_half_away(float(np.float32(value) / np.float32(scale)))

    lo, hi = {"NONE": (INT16_MIN, INT16_MAX), "RELU": (quantize(0.0), INT16_MAX),
              "RELU6": (quantize(0.0), quantize(6.0)), "RELU_N1_TO_1": (quantize(-1.0), quantize(1.0))}[activation]
    return max(INT16_MIN, lo), min(INT16_MAX, hi)


def int64_constant(ctx: EmitContext, stem: str, values: np.ndarray) -> str:
    """A const int64_t array (EmitContext.constant knows the 32-bit types only); its C name."""
    name = f"tf_n{ctx.op.index}_{stem}"
    flat = [f"INT64_C({int(v)})" for v in np.asarray(values).reshape(-1).tolist()]
    rows = [", ".join(flat[i:i + 8]) for i in range(0, len(flat), 8)]
    body = ",\n    ".join(rows)
    ctx.constants.append(f"static const int64_t {name}[{len(flat)}] __attribute__((aligned(8))) = {{\n    {body}\n}};")
    return name


def pair_order(w: np.ndarray) -> np.ndarray:
    """Rows of int8 weights, length a multiple of 4, each group k..k+3 stored k, k+2, k+1, k+3: SXTB16 and
    SXTB16 ROR 8 of a word then give the pairs (k, k+1), (k+2, k+3) (tf_fast_matmul.h)."""
    rows, k = w.shape
    return np.ascontiguousarray(w.reshape(rows, k // 4, 4)[:, :, [0, 2, 1, 3]].reshape(rows, k))


def requant_16x8(ctx: EmitContext, input_scale: float, weights_q: Quantization, output_scale: float,
                 channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (multiplier, shift) of a 16x8 layer; refuses shifts TFLM's int64
    MultiplyByQuantizedMultiplier does not take (it asserts shift < 8)."""
    if weights_q.per_channel:
        pairs = [quantize_multiplier(per_channel_real_multiplier(input_scale, s, output_scale))
                 for s in weights_q.scales]
    else:
        pairs = [quantize_multiplier(fc_real_multiplier(input_scale, weights_q.scale, output_scale))] * channels
    if any(shift >= 8 for _, shift in pairs):
        raise ctx.unsupported("an effective output scale of 2^7 or more is not supported (TFLM asserts "
                              "shift < 8 in its int64 requantisation)")
    return (np.array([m for m, _ in pairs], dtype=np.int32), np.array([s for _, s in pairs], dtype=np.int32))


def _check_16x8(ctx: EmitContext) -> None:
    inp, weights, bias, out = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2), ctx.output()
    assert inp is not None
    if inp.is_constant:
        raise ctx.unsupported("the input must be an activation tensor")
    if out.dtype != "int16":
        raise ctx.unsupported(f"output '{out.name}' is {out.dtype}; an int16 input needs an int16 output")
    if weights is None or not weights.is_constant or weights.dtype != "int8":
        raise ctx.unsupported("16x8: weights must be a constant int8 tensor")
    if len(weights.shape) != 2 or min(weights.shape) < 1:
        raise ctx.unsupported(f"weights {weights.shape} must be 2-D [units, depth]")
    out_depth, in_depth = weights.shape
    if inp.elements % in_depth or out.elements != inp.elements // in_depth * out_depth:
        raise ctx.unsupported(f"input {inp.shape} and output {out.shape} do not fit weights {weights.shape}")
    for t, what in ((inp, "input"), (out, "output")):
        if t.quantization is None or t.quantization.per_channel:
            raise ctx.unsupported(f"{what} '{t.name}' must be per-tensor quantised")
    q = weights.quantization
    if q is None or any(z != 0 for z in q.zero_points):
        raise ctx.unsupported("weights must be quantised with zero point 0")
    if q.per_channel and (q.axis != 0 or len(q.scales) != out_depth):
        raise ctx.unsupported(f"per-channel weights on axis {q.axis} with {len(q.scales)} scales; expected "
                              f"axis 0 with {out_depth}")
    # without a bias TFLM picks its accumulator from the options' quantized_bias_type, which tinyflash
    # does not read: int32 and int64 accumulators requantise differently, so refuse rather than guess
    if bias is None:
        raise ctx.unsupported("16x8 without a bias is not supported (TFLM's accumulator then depends on "
                              "quantized_bias_type)")
    if bias.dtype not in ("int64", "int32") or not bias.is_constant or bias.elements != out_depth:
        raise ctx.unsupported(f"bias '{bias.name}' must be a constant int64 or int32 tensor of {out_depth} values")
    if ctx.op.options.get("weights_format", 0) != 0:
        raise ctx.unsupported("shuffled weights format is not supported")
    if ctx.op.options.get("activation", "NONE") not in ACTIVATIONS:
        raise ctx.unsupported(f"fused activation {ctx.op.options.get('activation')} is not supported")
    assert inp.quantization is not None and out.quantization is not None
    requant_16x8(ctx, inp.quantization.scale, q, out.quantization.scale, out_depth)


def _emit_16x8(ctx: EmitContext) -> Emitted:
    inp, weights, bias, out = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2), ctx.output()
    assert inp is not None and weights is not None and bias is not None and weights.quantization
    assert inp.quantization is not None and out.quantization is not None
    out_depth, in_depth = weights.shape
    batches = inp.elements // in_depth
    w = weights.array()
    # (x - zp) * w summed = x * w summed - zp * sum(w): exact in int64, and modulo 2^32 for an int32 bias
    folded = bias.array().astype(np.int64) - inp.quantization.zero_point * w.astype(np.int64).sum(axis=1)
    mult, shift = requant_16x8(ctx, inp.quantization.scale, weights.quantization, out.quantization.scale,
                               out_depth)
    act_min, act_max = activation_range_s16(ctx.op.options.get("activation", "NONE"), out.quantization.scale,
                                            out.quantization.zero_point)
    params = ctx.params("tf_fc16_params_t", {
        "batches": batches, "in_depth": in_depth, "out_depth": out_depth,
        "output_offset": out.quantization.zero_point, "act_min": act_min, "act_max": act_max,
        "acc32": int(bias.dtype == "int32")})
    b_name = int64_constant(ctx, "bias", folded)
    m_name = ctx.constant("mult", mult)
    s_name = ctx.constant("shift", shift)
    macs = batches * in_depth * out_depth
    if ctx.dsp_kernels and in_depth % 4 == 0:
        w_name = ctx.constant("weights", pair_order(w))
        code = ctx.layer_function(
            "TF_LAYER_ATTRS", f"tf_fast_fc_s16(&{params}, (const int16_t *)in, {w_name}, {b_name}, {m_name}, "
                              f"{s_name}, (int16_t *)out);", {"in": inp.index, "out": out.index})
        return Emitted(code, FAST_MATMUL_KERNELS, macs=macs)
    w_name = ctx.constant("weights", np.ascontiguousarray(w))
    code = (f"tf_fully_connected_s16(&{params}, (const int16_t *){ctx.pointer(inp.index)}, {w_name}, {b_name}, "
            f"{m_name}, {s_name}, (int16_t *){ctx.pointer(out.index)});")
    return Emitted(code, FC16_KERNELS, macs=macs)


FULLY_CONNECTED = OpSupport(emit=_emit, check=_check)
