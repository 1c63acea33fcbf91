"""CONV_2D and DEPTHWISE_CONV_2D, int8 activations and per-channel (or per-tensor) int8 weights
(TFLM reference_integer_ops::ConvPerChannel / DepthwiseConvPerChannel semantics), and their 16x8
variants: int16 activations, int8 weights, int64 bias (CONV_2D also int32)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyflash.generate.runtime.aot.ops import conv_residual
from tinyflash.generate.runtime.aot.ops import depthwise as depthwise_rows
from tinyflash.generate.runtime.aot.ops import depthwise_mve
from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport, require_int8, rq_table
from tinyflash.generate.runtime.aot.ops.mve_requant import (CHUNK, GROUP, PAIR, by_lane, emit_layer, lane_order,
                                                            quant_fields)
from tinyflash.generate.runtime.aot.quant import (activation_range, compute_out_size, compute_padding,
                                                  per_channel_real_multiplier, quantize_multiplier,
                                                  requant_rows, round_half_away, wrap_int32)

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
KERNEL = "tf_conv.c"
FAST_KERNEL = "tf_fast.h"                 # what the DSP kernels share; each operator's own header:
FAST_CONV = frozenset({FAST_KERNEL, "tf_fast_conv.h"})
FAST_DEPTHWISE = frozenset({FAST_KERNEL, "tf_fast_depthwise.h"})
MVE_KERNEL = "tf_mve_conv.h"
MVE_DEPTHWISE_KERNEL = "tf_mve_depthwise.h"
KERNEL16, KERNEL16_C = "tf_conv16.h", "tf_conv16.c"      # 16x8 (int16 activations)
FAST_KERNEL16 = "tf_fast_conv16.h"
INT16_MIN, INT16_MAX = -32768, 32767


def check_spatial(ctx: EmitContext, in_shape: tuple[int, ...], out_shape: tuple[int, ...],
                  k_h: int, k_w: int, dil_h: int = 1, dil_w: int = 1) -> None:
    """Shared by the convolutions and pools: NHWC shapes, positive strides, TFLite's output size."""
    o = ctx.op.options
    if len(in_shape) != 4 or len(out_shape) != 4:
        raise ctx.unsupported(f"input {in_shape} and output {out_shape} must both be 4-D (NHWC)")
    if o.get("padding") not in ("SAME", "VALID"):
        raise ctx.unsupported(f"padding {o.get('padding')!r} is not supported")
    for key, value in (("stride_h", o.get("stride_h", 0)), ("stride_w", o.get("stride_w", 0)),
                       ("dilation_h", dil_h), ("dilation_w", dil_w), ("filter_h", k_h), ("filter_w", k_w)):
        if not isinstance(value, int) or value < 1:
            raise ctx.unsupported(f"{key} = {value} is not supported (must be >= 1)")
    if o.get("activation", "NONE") not in ACTIVATIONS:
        raise ctx.unsupported(f"fused activation {o.get('activation')} is not supported")
    if in_shape[0] != out_shape[0]:
        raise ctx.unsupported(f"batch of input {in_shape} and output {out_shape} differ")
    exp_h = compute_out_size(o["padding"], in_shape[1], k_h, o["stride_h"], dil_h)
    exp_w = compute_out_size(o["padding"], in_shape[2], k_w, o["stride_w"], dil_w)
    if (exp_h, exp_w) != tuple(out_shape[1:3]) or exp_h < 1 or exp_w < 1:
        raise ctx.unsupported(f"output {out_shape[1:3]} does not match the {o['padding']} output size "
                              f"({exp_h}, {exp_w}) of input {in_shape}")


def geometry(ctx: EmitContext, in_shape: tuple[int, ...], out_shape: tuple[int, ...],
             k_h: int, k_w: int, dil_h: int = 1, dil_w: int = 1) -> dict[str, Any]:
    o = ctx.op.options
    geom = {"batches": in_shape[0], "in_h": in_shape[1], "in_w": in_shape[2], "in_c": in_shape[3],
            "out_h": out_shape[1], "out_w": out_shape[2], "out_c": out_shape[3],
            "k_h": k_h, "k_w": k_w, "stride_h": o["stride_h"], "stride_w": o["stride_w"],
            "dil_h": dil_h, "dil_w": dil_w,
            "pad_h": compute_padding(o["stride_h"], dil_h, in_shape[1], k_h, out_shape[1]),
            "pad_w": compute_padding(o["stride_w"], dil_w, in_shape[2], k_w, out_shape[2])}
    if ctx.rows is not None:      # one band of rows (patches.py): the kernels pad by bounds
        geom.update(in_h=ctx.rows.in_h, out_h=ctx.rows.out_h, pad_h=ctx.rows.pad_h)
    return geom


def _check_16x8(ctx: EmitContext, depthwise: bool) -> tuple[str, ...]:
    """The 16x8 variant's types (int16 activations of zero point 0, as TFLite's 16x8 quantisation makes
    them: TFLM's int16 kernels ignore both offsets) and the bias types TFLM reads: int64, or for CONV_2D
    also int32. Returns the latter."""
    weights, out = ctx.tensor(1), ctx.output()
    if weights is not None and weights.dtype != "int8":
        raise ctx.unsupported(f"weights '{weights.name}' are {weights.dtype}; 16x8 takes int8 weights")
    if out.dtype != "int16":
        raise ctx.unsupported(f"output '{out.name}' is {out.dtype}; an int16 input needs an int16 output")
    for t in (ctx.tensor(0), out):
        if t is not None and t.quantization is not None and t.quantization.zero_points != (0,):
            raise ctx.unsupported(f"int16 tensor '{t.name}' has zero point {t.quantization.zero_points}; "
                                  f"16x8 needs zero point 0 (TFLM's int16 kernels ignore it)")
    return ("int64",) if depthwise else ("int64", "int32")


def _check_common(ctx: EmitContext, depthwise: bool) -> None:
    inp, weights, bias, out = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2), ctx.output()
    if inp is not None and inp.dtype == "int16":
        bias_types = _check_16x8(ctx, depthwise)
    else:
        require_int8(ctx, 0, 1)
        bias_types = ("int32",)
    if inp is None or inp.is_constant:
        raise ctx.unsupported("the input must be an activation tensor")
    if weights is None or not weights.is_constant:
        raise ctx.unsupported("weights must be a constant tensor")
    if len(weights.shape) != 4:
        raise ctx.unsupported(f"weights {weights.shape} must be 4-D")
    for t, what in ((inp, "input"), (weights, "weights"), (out, "output")):
        if t.quantization is None:
            raise ctx.unsupported(f"{what} '{t.name}' is not quantised")
    q = weights.quantization
    assert q is not None
    if any(z != 0 for z in q.zero_points):
        raise ctx.unsupported("weights with a non-zero zero point are not supported")
    if inp.quantization.per_channel or out.quantization.per_channel:   # type: ignore[union-attr]
        raise ctx.unsupported("per-channel activations are not supported")
    channel_axis = 3 if depthwise else 0
    out_c = weights.shape[channel_axis]
    if q.per_channel and (q.axis != channel_axis or len(q.scales) != out_c):
        raise ctx.unsupported(f"per-channel weight quantisation on axis {q.axis} with {len(q.scales)} "
                              f"scales; expected axis {channel_axis} with {out_c}")
    if bias is not None:
        if bias.dtype not in bias_types or not bias.is_constant:
            raise ctx.unsupported(f"bias '{bias.name}' ({bias.dtype}) must be a constant "
                                  f"{' or '.join(bias_types)} tensor")
        if bias.elements != out_c:
            raise ctx.unsupported(f"bias has {bias.elements} values for {out_c} output channels")
    o = ctx.op.options
    dil_h, dil_w = o.get("dilation_h", 1), o.get("dilation_w", 1)
    k_h, k_w = weights.shape[1], weights.shape[2]
    check_spatial(ctx, inp.shape, out.shape, k_h, k_w, dil_h, dil_w)
    if out.shape[3] != out_c:
        raise ctx.unsupported(f"output depth {out.shape[3]} differs from the weights' {out_c} channels")
    if depthwise:
        if weights.shape[0] != 1:
            raise ctx.unsupported(f"depthwise weights {weights.shape} must have a leading 1")
        dm = o.get("depth_multiplier", 1)
        if dm < 1 or inp.shape[3] * dm != out_c:
            raise ctx.unsupported(f"depth_multiplier {dm} with input depth {inp.shape[3]} does not give "
                                  f"{out_c} output channels")
    elif weights.shape[3] != inp.shape[3]:
        raise ctx.unsupported(f"grouped convolution (filter depth {weights.shape[3]}, input depth "
                              f"{inp.shape[3]}) is not supported")


def _emit_common(ctx: EmitContext, depthwise: bool) -> Emitted:
    inp, weights, bias, out = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2), ctx.output()
    assert inp is not None and weights is not None
    if inp.dtype == "int16":
        return _emit_16x8(ctx, depthwise)
    # a folded residual ADD (conv_residual.py): the convolution requantises to its own output as before
    res = conv_residual.residual_of(ctx)
    out_q = res.layer if res is not None else out.quantization
    assert inp.quantization and weights.quantization and out_q
    o = ctx.op.options
    dil_h, dil_w = o.get("dilation_h", 1), o.get("dilation_w", 1)
    k_h, k_w = weights.shape[1], weights.shape[2]
    geom = geometry(ctx, inp.shape, out.shape, k_h, k_w, dil_h, dil_w)
    out_c = geom["out_c"]
    w = weights.array()
    if depthwise:
        per_channel_sum = w.astype(np.int64).reshape(-1, out_c).sum(axis=0)     # [1,kh,kw,oc]
    else:
        per_channel_sum = w.astype(np.int64).reshape(out_c, -1).sum(axis=1)     # [oc,kh,kw,ic]
    b = bias.array().astype(np.int64) if bias is not None else np.zeros(out_c, np.int64)
    in_zp = inp.quantization.zero_point
    # fold the input offset over all taps; padded taps read in_zp so they cancel their share
    folded = wrap_int32(b - in_zp * per_channel_sum)
    scales = weights.quantization.scales
    if len(scales) == 1:
        scales = scales * out_c
    pairs = [quantize_multiplier(per_channel_real_multiplier(inp.quantization.scale, s, out_q.scale))
             for s in scales]
    mult = np.array([m for m, _ in pairs], dtype=np.int32)
    shift = np.array([s for _, s in pairs], dtype=np.int32)
    act_min, act_max = activation_range(o.get("activation", "NONE"), out_q.scale, out_q.zero_point)
    spatial = geom["batches"] * geom["out_h"] * geom["out_w"] * out_c * k_h * k_w
    macs = spatial if depthwise else spatial * geom["in_c"]
    if ctx.mve_kernels:
        return _emit_mve(ctx, geom, w, folded, mult, shift, in_zp, out_q.zero_point, act_min, act_max,
                         depthwise, macs)
    if ctx.dsp_kernels and depthwise:
        rows = depthwise_rows.emit(ctx, macs)     # by rows of int16 pairs, in place when planned
        if rows is not None:
            return rows
        assert ctx.overwrites_input is None, "only tf_fast_dw_rows_s8 writes a depthwise output in place"
    if ctx.dsp_kernels:
        abs_sums = np.abs(w.astype(np.int64)).reshape(-1, out_c).sum(axis=0) if depthwise else \
            np.abs(w.astype(np.int64)).reshape(out_c, -1).sum(axis=1)
        if depthwise and (geom["in_c"] % 4 != 0 or o.get("depth_multiplier", 1) != 1):
            expanded = _emit_fast_expanded(ctx, geom, w, folded, mult, shift, abs_sums, act_min, act_max, in_zp,
                                           out_q.zero_point, macs)
            if expanded is not None:
                return expanded
        else:
            rq = requant_rows(mult, shift, folded, abs_sums, out_q.zero_point, act_min)
            if rq is not None:
                return _emit_fast(ctx, geom, w, folded, rq, act_min, act_max, in_zp, depthwise, macs)
    assert depthwise or res is not None or ctx.overwrites_input is None, \
        "pointwise_in_place promised the DSP kernel"
    return _emit_portable(ctx, geom, w, folded, mult, shift, act_min, act_max, in_zp, depthwise, macs)


def _emit_portable(ctx: EmitContext, geom: dict[str, Any], w: np.ndarray, folded: np.ndarray, mult: np.ndarray,
                   shift: np.ndarray, act_min: int, act_max: int, in_zp: int, depthwise: bool,
                   macs: int) -> Emitted:
    inp, out = ctx.tensor(0), ctx.output()
    res = conv_residual.residual_of(ctx)
    out_q = res.layer if res is not None else out.quantization
    assert inp is not None and out_q is not None
    o = ctx.op.options
    name = f"tf_n{ctx.op.index}_params"
    ginit = ", ".join(f".{k} = {int(v)}" for k, v in geom.items())
    ctx.constants.append(
        f"static const tf_conv_params_t {name} = {{.g = {{{ginit}}}, "
        f".depth_multiplier = {int(o.get('depth_multiplier', 1)) if depthwise else 1}, "
        f".pad_value = {in_zp}, .output_offset = {out_q.zero_point}, "
        f".act_min = {act_min}, .act_max = {act_max}}};")
    w_name = ctx.constant("weights", np.ascontiguousarray(w))
    b_name = ctx.constant("bias", folded)
    m_name = ctx.constant("mult", mult)
    s_name = ctx.constant("shift", shift)
    if res is not None:
        code = (f"tf_conv_res_s8(&{name}, &{conv_residual.portable_params(ctx, res)}, {ctx.pointer(inp.index)}, "
                f"{w_name}, {b_name}, {m_name}, {s_name}, {ctx.pointer(res.skip.index)}, {ctx.pointer(out.index)});")
        return Emitted(code, frozenset({KERNEL, conv_residual.HEADER}), macs=macs)
    fn = "tf_depthwise_conv_s8" if depthwise else "tf_conv_s8"
    code = (f"{fn}(&{name}, {ctx.pointer(inp.index)}, {w_name}, {b_name}, {m_name}, {s_name}, "
            f"{ctx.pointer(out.index)});")
    return Emitted(code, frozenset({KERNEL, conv_residual.HEADER}), macs=macs)


def _emit_fast_expanded(ctx: EmitContext, geom: dict[str, Any], w: np.ndarray, folded: np.ndarray,
                        mult: np.ndarray, shift: np.ndarray, abs_sums: np.ndarray, act_min: int, act_max: int,
                        in_zp: int, out_zp: int, macs: int) -> Emitted | None:
    """tf_fast.h tf_fast_depthwise_m_s8: DEPTHWISE_CONV_2D with a depth multiplier, or an output depth
    not a multiple of 4, as the multiplier-1 kernel over a strip of the output's channels (each input
    channel copied m times), padded to cs, a multiple of 4, with zero-weight channels. None when the
    requantisation's fast form is not proven for the layer."""
    out_c = geom["out_c"]
    cs = -(-out_c // 4) * 4
    extra = cs - out_c
    rq = requant_rows(np.pad(mult, (0, extra)), np.pad(shift, (0, extra)), np.pad(folded, (0, extra)),
                      np.pad(abs_sums, (0, extra)), out_zp, act_min)
    if rq is None:
        return None
    rows, rq_mode = rq
    taps = geom["k_h"] * geom["k_w"]
    words = _depthwise_sxtb16_words(np.pad(w.reshape(taps, out_c), ((0, 0), (0, extra))))
    index = ctx.op.index
    ginit = ", ".join(f".{key} = {int(v)}" for key, v in geom.items())
    ctx.constants.append(
        f"static const tf_fast_conv_t tf_n{index}_params = {{.g = {{{ginit}}}, .kp = {cs}, "
        f".pad_value = {in_zp}, .act_min = {act_min}, .act_max = {act_max}, "
        f".rq_mode = {rq_mode}}};")
    w_name = ctx.constant("weights", np.ascontiguousarray(words))
    b_name = ctx.constant("bias", np.pad(folded, (0, extra)))
    rq_name = rq_table(ctx, rows)
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    call = (f"tf_fast_depthwise_m_s8(&tf_n{index}_params, in, (const tf_w2_t *){w_name}, {b_name}, "
            f"{rq_name}, tf_scratch, out);")
    strip_w = (geom["out_w"] - 1) * geom["stride_w"] + (geom["k_w"] - 1) * geom["dil_w"] + 1
    code = ctx.layer_function("TF_LAYER_ATTRS", call, {"in": inp.index, "out": out.index})
    return Emitted(code, FAST_DEPTHWISE, macs=macs, scratch_bytes=geom["k_h"] * strip_w * cs)


def _depthwise_sxtb16_words(w: np.ndarray) -> np.ndarray:
    """[taps][c] int8 -> uint32 [c/4][taps][2]: per group of four channels and tap, the halfwords
    (w_c, w_c+2) and (w_c+1, w_c+3), as SXTB16 / SXTB16 ROR 8 would unpack a word of weights
    (tf_fast.h: tf_fast_depthwise_s8)."""
    taps, channels = w.shape
    g = w.astype(np.int64).reshape(taps, channels // 4, 4).transpose(1, 0, 2)     # [group][tap][4]
    lo = (g[..., 0] & 0xFFFF) | ((g[..., 2] & 0xFFFF) << 16)
    hi = (g[..., 1] & 0xFFFF) | ((g[..., 3] & 0xFFFF) << 16)
    return np.stack([lo, hi], axis=-1).astype(np.uint32)


def _emit_fast(ctx: EmitContext, geom: dict[str, Any], w: np.ndarray, folded: np.ndarray,
               requant: tuple[np.ndarray, int], act_min: int, act_max: int, in_zp: int, depthwise: bool,
               macs: int) -> Emitted:
    """tf_fast.h: a per-layer function calling the always-inline kernel with constant parameters, so
    the compiler specialises it for this shape. CONV_2D gathers two pixels of kp int16 each into the
    shared scratch buffer; its weight rows are zero-padded to kp (a multiple of 4), int16 (conv_w16)
    for input depths not a multiple of 4 and for the layers widen_layers picks, else int8.
    DEPTHWISE_CONV_2D's scratch is its row strip."""
    out_c = geom["out_c"]
    k = geom["k_h"] * geom["k_w"] * geom["in_c"]
    # input depth not a multiple of 4: int16 weights, natural-order column (tf_fast_conv16_s8)
    wide = not depthwise and geom["in_c"] % 4 != 0
    # a folded residual ADD is only in the int16-weight kernel's epilogue
    res = None if depthwise else conv_residual.residual_of(ctx)
    # a shallow pointwise layer: channel-outer over pixel blocks (tf_fast_conv_pw_s8), int16 weights
    # always (at most 16 bytes more per channel)
    pw = not depthwise and res is None and _shallow_pointwise(geom)
    w16 = pw or wide or res is not None or (not depthwise and ctx.op.index in widen_layers(ctx.graph))
    kp = k if depthwise else (k + 3) // 4 * 4
    if not depthwise:
        w = np.pad(w.reshape(out_c, k), ((0, 0), (0, kp - k)))
        layout = pointwise_rows_w16 if pw else (lambda rows: conv_w16(rows, sxtb16_order=not wide))
        w = layout(w) if w16 else w.astype(np.int8)
    else:
        w = _depthwise_sxtb16_words(w.reshape(-1, out_c))
    rq, rq_mode = requant
    preshift = 0
    if w16:
        # int16 weights and the bias times 2^left of their channel where the weights stay int16: the
        # accumulator is then the shifted one, no shift per output (tf_conv_put)
        left = rq[:, 1].astype(np.int64)
        # each int16 weight's channel, laid out as conv_w16 laid out the weights
        per_weight = layout(np.repeat(np.arange(out_c)[:, None], kp, axis=1))
        if int((np.abs(w.astype(np.int64)) << left[per_weight]).max(initial=0)) <= 32767:
            preshift = 1
            w = (w.astype(np.int64) << left[per_weight]).astype(np.int16)
            folded = wrap_int32(np.asarray(folded, np.int64) << left)
            rq = rq.copy()
            rq[:, 1] = 0
    index = ctx.op.index
    ginit = ", ".join(f".{key} = {int(v)}" for key, v in geom.items())
    ctx.constants.append(
        f"static const tf_fast_conv_t tf_n{index}_params = {{.g = {{{ginit}}}, .kp = {kp}, "
        f".pad_value = {in_zp}, .act_min = {act_min}, .act_max = {act_max}, "
        f".rq_mode = {rq_mode}}};")
    w_name = ctx.constant("weights", np.ascontiguousarray(w))
    b_name = ctx.constant("bias", folded)
    rq_name = rq_table(ctx, rq)
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    if depthwise:
        call = (f"tf_fast_depthwise_s8(&tf_n{index}_params, in, (const tf_w2_t *){w_name}, {b_name}, "
                f"{rq_name}, tf_scratch, out);")
        strip_w = (geom["out_w"] - 1) * geom["stride_w"] + (geom["k_w"] - 1) * geom["dil_w"] + 1
        scratch = geom["k_h"] * strip_w * geom["in_c"]
    else:
        args = {"in": inp.index, **({"skip": res.skip.index} if res is not None else {}), "out": out.index}
        if pw:
            call = (f"tf_fast_conv_pw_s8(&tf_n{index}_params, in, {w_name}, {b_name}, {rq_name}, "
                    f"(int16_t *)tf_scratch, out, {preshift});")
            code = ctx.layer_function("TF_LAYER_ATTRS", call, args)
            return Emitted(code, FAST_CONV, macs=macs, scratch_bytes=PW_BLOCK * kp * 2)
        if w16:
            fn = "tf_fast_conv16_s8" if wide else "tf_fast_conv_w16_s8"
            tail = f"&{conv_residual.dsp_params(ctx, res)}, skip" if res is not None else "0, 0"
            tail += f", {preshift}"
            call = (f"{fn}(&tf_n{index}_params, in, {w_name}, {b_name}, {rq_name}, (int16_t *)tf_scratch, out, "
                    f"{tail});")
        else:
            assert res is None
            call = (f"tf_fast_conv_s8(&tf_n{index}_params, in, {w_name}, {b_name}, {rq_name}, "
                    f"(int16_t *)tf_scratch, out);")
        code = ctx.layer_function("TF_LAYER_ATTRS", call, args)
        return Emitted(code, FAST_CONV, macs=macs, scratch_bytes=2 * kp * 2)
    code = ctx.layer_function("TF_LAYER_ATTRS", call, {"in": inp.index, "out": out.index})
    return Emitted(code, FAST_DEPTHWISE if depthwise else FAST_CONV, macs=macs, scratch_bytes=scratch)


# Extra flash a model may spend on CONV_2D weights pre-widened to int16 (the inner loop then takes 12
# instructions per 16 MACs instead of 18). The emitter does not know the board's flash: this is the
# smallest DSP board's (1 MB) share we allow; layers are picked by MACs per added byte.
WIDEN_FLASH_BUDGET = 256 * 1024


def widen_layers(graph: Any) -> frozenset[int]:
    """CONV_2D nodes (int8, input depth a multiple of 4) whose weights go to flash as int16: most MACs
    per extra byte first, while the model's extra bytes stay within WIDEN_FLASH_BUDGET."""
    found = []
    for op in graph.operators:
        if op.opcode != "CONV_2D" or len(op.inputs) < 2:
            continue
        inp, weights = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
        if inp.dtype != "int8" or len(weights.shape) != 4 or inp.shape[-1] % 4 != 0:
            continue
        out = graph.tensors[op.outputs[0]]
        extra = weights.elements                                    # one more byte per weight
        macs = int(np.prod(out.shape[:3])) * weights.elements
        found.append((-macs / max(extra, 1), op.index, extra))
    chosen, spent = set(), 0
    for _, index, extra in sorted(found):
        if spent + extra <= WIDEN_FLASH_BUDGET:
            chosen.add(index)
            spent += extra
    return frozenset(chosen)


# tf_fast_conv.h TF_PW_BLOCK: pixels per block of tf_fast_conv_pw_s8 (its scratch is PW_BLOCK * kp int16)
PW_BLOCK = 16


def _shallow_pointwise(geom: dict[str, Any]) -> bool:
    """tf_fast_conv_pw_s8's shapes: 1x1, stride 1, unpadded, an input depth of 4, 8, 12 or 16 (its
    filter then fits the registers; deeper layers do better with tf_conv_pair)."""
    return (geom["k_h"] == 1 and geom["k_w"] == 1 and geom["stride_h"] == 1 and geom["stride_w"] == 1
            and geom["pad_h"] == 0 and geom["pad_w"] == 0 and geom["in_c"] % 4 == 0
            and geom["in_c"] <= 16 and geom["in_h"] == geom["out_h"] and geom["in_w"] == geom["out_w"])


def pointwise_rows_w16(w: np.ndarray) -> np.ndarray:
    """[out_c][kp] int8 -> int16 rows for tf_fast_conv_pw_s8: each channel's kp taps together, each
    four as k, k+2, k+1, k+3 (the SXTB16 order of its column)."""
    out_c, kp = w.shape
    return np.ascontiguousarray(w.reshape(out_c, kp // 4, 4)[:, :, [0, 2, 1, 3]].reshape(-1).astype(np.int16))


def conv_w16(w: np.ndarray, sxtb16_order: bool) -> np.ndarray:
    """[out_c][kp] int8 (kp a multiple of 4) -> int16 for tf_fast_conv.h tf_conv_pair: per pair of
    channels and four taps, the first channel's four values then the second's (one LDRD each); an odd
    last channel's row after the pairs. sxtb16_order: each four taps as k, k+2, k+1, k+3, the order of
    tf_im2col's column (SXTB16 / SXTB16 ROR 8 halves)."""
    out_c, kp = w.shape
    if sxtb16_order:
        w = w.reshape(out_c, kp // 4, 4)[:, :, [0, 2, 1, 3]].reshape(out_c, kp)
    full = out_c // 2 * 2
    pairs = w[:full].reshape(out_c // 2, 2, kp // 4, 4).transpose(0, 2, 1, 3).reshape(-1)
    return np.ascontiguousarray(np.concatenate([pairs, w[full:].reshape(-1)]).astype(np.int16))


def _emit_mve(ctx: EmitContext, geom: dict[str, Any], w: np.ndarray, folded: np.ndarray, mult: np.ndarray,
              shift: np.ndarray, in_zp: int, out_zp: int, act_min: int, act_max: int, depthwise: bool,
              macs: int) -> Emitted:
    """Helium kernels (tf_mve_conv.h, tf_mve_depthwise.h). The requantisation needs no range proof
    (mve_requant.py), so every such layer uses them."""
    emit = _emit_mve_depthwise if depthwise else _emit_mve_conv
    return emit(ctx, geom, w, folded, mult, shift, in_zp, out_zp, act_min, act_max, macs)


def conv_weights(w: np.ndarray) -> np.ndarray:
    """[out_c][k] int8 -> [lane group][chunk][4][16] (tf_mve_conv.h): the rows in lane_order, four at
    a time, per chunk of 16 filter bytes the four rows one after the other. Zeros pad k to a multiple
    of 16 and the padding lanes."""
    out_c, k = w.shape
    chunks = -(-k // CHUNK)
    rows = by_lane(np.pad(w, ((0, 0), (0, chunks * CHUNK - k))), lane_order(out_c))
    return np.ascontiguousarray(rows.reshape(-1, GROUP, chunks, CHUNK).transpose(0, 2, 1, 3))


BAND_MAX_IN_C = 8       # tf_mve_conv.h's band: filters this shallow (im2col copies deeper ones well)
MVE_CONV_BAND = 2       # tf_mve_conv_t.direct: TF_MVE_CONV_BAND


def band_columns(geom: dict[str, Any]) -> int:
    """The input columns (padding included) of tf_mve_conv.h's band: those the output row reads."""
    return (geom["out_w"] - 1) * geom["stride_w"] + geom["k_w"]


def uses_band(geom: dict[str, Any]) -> bool:
    """Whether a CONV_2D reads its columns from a band (tf_mve_conv.h): a shallow filter of more than
    one row, undilated, whose scatter offsets (tf_mve_band_offsets: lane 15 the largest) fit a byte
    and whose band holds at least one input column."""
    ic, k_h = geom["in_c"], geom["k_h"]
    return (ic <= BAND_MAX_IN_C and k_h > 1 and geom["dil_h"] == geom["dil_w"] == 1
            and 15 // ic * k_h * ic + 15 % ic <= 255 and band_columns(geom) > geom["pad_w"])


def mve_conv_rows(w: np.ndarray, band: bool) -> np.ndarray:
    """OHWI weights as [out_c][k] rows in the order tf_mve_conv.h reads a column: the band's
    [kx][ky][c] (a band column holds its k_h rows), else the im2col's [ky][kx][c]."""
    rows = w.transpose(0, 2, 1, 3) if band else w
    return np.ascontiguousarray(rows).reshape(w.shape[0], -1)


def _emit_mve_conv(ctx: EmitContext, geom: dict[str, Any], w: np.ndarray, bias: np.ndarray, mult: np.ndarray,
                   shift: np.ndarray, in_zp: int, out_zp: int, act_min: int, act_max: int, macs: int) -> Emitted:
    """CONV_2D, weights OHWI. A 1x1 filter without padding reads its columns in place; a shallow one
    reads them in place from a column-major band of input rows (weights reordered [kx][ky][c] to
    match); any other filter gathers each pixel's k bytes into the scratch buffer first (two pixels
    at a time)."""
    out_c, k_h, k_w, in_c = geom["out_c"], geom["k_h"], geom["k_w"], geom["in_c"]
    k = k_h * k_w * in_c
    direct = k_h == k_w == 1 and geom["pad_h"] == geom["pad_w"] == 0
    band = not direct and uses_band(geom)
    rows = mve_conv_rows(w.reshape(out_c, k_h, k_w, in_c), band)
    if band:
        scratch = 2 * band_columns(geom) * k_h * in_c        # two bands (tf_mve_conv_band_s8)
    else:
        scratch = 0 if direct else 2 * k                     # two pixels' columns
    fields = {"k": k, "direct": MVE_CONV_BAND if band else int(direct),
              "strip_w": band_columns(geom) if band else 0, "strip_rows": 0,
              **quant_fields(mult, shift, in_zp, out_zp, act_min, act_max)}
    inp, out = ctx.op.inputs[0], ctx.op.outputs[0]
    col = "(int8_t *)0" if direct else "tf_scratch"
    res = conv_residual.residual_of(ctx)
    if res is None:
        call = f"tf_mve_conv_s8({{params}}, in, {{weights}}, {{rq}}, {col}, out);"
        return emit_layer(ctx, MVE_KERNEL, geom, fields, conv_weights(rows), bias, mult, shift, call, macs,
                          scratch, inp, out)
    # the folded ADD (tf_mve_conv.h tf_mve_res_t): an output row's values and one more pixel after the columns
    add = conv_residual.mve_add(ctx, res)
    call = (f"tf_mve_res_t r = {{{{.add = {add}, .position = {res.position}, .skip = skip, "
            f".tmp = tf_scratch + {scratch}, .out0 = out, .start = out}}}};\n    "
            f"tf_mve_conv_res_s8({{params}}, in, {{weights}}, {{rq}}, {col}, &r, out);")
    return emit_layer(ctx, MVE_KERNEL, geom, fields, conv_weights(rows), bias, mult, shift, call, macs,
                      scratch + (geom["out_w"] + 1) * out_c, inp, out, skip=res.skip.index)


def depthwise_weights(w: np.ndarray) -> np.ndarray:
    """[taps][c] int8 (TFLite's 1HWO, c the output channels) -> [group][tap][8], zero channels padding
    c to a multiple of 8 (channel order: tf_mve_depthwise.h widens eight consecutive bytes of its strip,
    which holds the output's channels)."""
    taps, channels = w.shape
    groups = -(-channels // PAIR)
    padded = np.zeros((taps, groups * PAIR), dtype=np.int8)
    padded[:, :channels] = w
    return np.ascontiguousarray(padded.reshape(taps, groups, PAIR).transpose(1, 0, 2))


def strip_width(geom: dict[str, Any]) -> int:
    """Pixels per row of the Helium depthwise strip: the left padding, the input row, and as many
    padding pixels on the right as the last output pixel's last tap reaches."""
    last_tap = (geom["out_w"] - 1) * geom["stride_w"] - geom["pad_w"] + (geom["k_w"] - 1) * geom["dil_w"]
    return geom["pad_w"] + max(geom["in_w"], last_tap + 1)


def strip_rows(geom: dict[str, Any]) -> int:
    """Rows of the Helium depthwise strip: twice the filter height when consecutive output rows share
    input rows (dilation 1, stride below the height), so that each input row is copied once and the
    rows still needed move back to the top only every few output rows (tf_mve_dw_window); else the
    filter height."""
    if geom["dil_h"] == 1 and geom["stride_h"] < geom["k_h"]:
        return 2 * geom["k_h"]
    return geom["k_h"]


def _emit_mve_depthwise(ctx: EmitContext, geom: dict[str, Any], w: np.ndarray, bias: np.ndarray,
                        mult: np.ndarray, shift: np.ndarray, in_zp: int, out_zp: int, act_min: int,
                        act_max: int, macs: int) -> Emitted:
    """DEPTHWISE_CONV_2D, weights [1][k_h][k_w][out_c]; the strip holds out_c channels (with a depth
    multiplier each input channel m times)."""
    taps, channels = geom["k_h"] * geom["k_w"], geom["out_c"]
    if depthwise_mve.supported(geom, channels // geom["in_c"]):     # small filters: channel-planar rows
        return depthwise_mve.emit(ctx, geom, w.reshape(geom["k_h"], geom["k_w"], channels), bias, mult, shift,
                                  quant_fields(mult, shift, in_zp, out_zp, act_min, act_max), macs)
    width, rows = strip_width(geom), strip_rows(geom)
    fields = {"k": taps, "direct": 0, "strip_w": width, "strip_rows": rows,
              **quant_fields(mult, shift, in_zp, out_zp, act_min, act_max)}
    inp, out = ctx.op.inputs[0], ctx.op.outputs[0]
    strip = -(-channels // PAIR) * rows * width * PAIR
    return emit_layer(ctx, MVE_DEPTHWISE_KERNEL, geom, fields, depthwise_weights(w.reshape(taps, channels)),
                      bias, mult, shift, "tf_mve_depthwise_s8({params}, in, {weights}, {rq}, tf_scratch, out);",
                      macs, strip, inp, out)


def _fast_conv_rows(ctx: EmitContext) -> tuple[np.ndarray, int] | None:
    """tf_rq's rows of an int8 CONV_2D without a folded ADD, as _emit_common computes them: None when
    the layer takes the portable kernel (or Helium's)."""
    inp, weights, bias, out = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2), ctx.output()
    if not ctx.dsp_kernels or ctx.mve_kernels or inp is None or weights is None or inp.dtype != "int8" \
            or "residual" in ctx.op.options:
        return None
    assert inp.quantization and weights.quantization and out.quantization
    out_c = weights.shape[0]
    w = weights.array().astype(np.int64).reshape(out_c, -1)
    b = bias.array().astype(np.int64) if bias is not None else np.zeros(out_c, np.int64)
    folded = wrap_int32(b - inp.quantization.zero_point * w.sum(axis=1))
    scales = weights.quantization.scales
    scales = scales * out_c if len(scales) == 1 else scales
    pairs = [quantize_multiplier(per_channel_real_multiplier(inp.quantization.scale, s, out.quantization.scale))
             for s in scales]
    act_min, _ = activation_range(ctx.op.options.get("activation", "NONE"), out.quantization.scale,
                                  out.quantization.zero_point)
    return requant_rows(np.array([m for m, _ in pairs], np.int32), np.array([s for _, s in pairs], np.int32),
                        folded, np.abs(w).sum(axis=1), out.quantization.zero_point, act_min)


def pointwise_in_place(ctx: EmitContext) -> bool:
    """Whether a CONV_2D may write its output over its input (#14.2): a 1x1 stride-1 filter, an output
    no deeper than the input, and the DSP kernel (tf_conv_pixels), which gathers a block's pixels into
    the column buffer before it writes any of them. Output pixel p's bytes then only cover input pixels
    <= p, all gathered already. (The portable and Helium kernels read the input while they write.)"""
    inp, weights, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    o = ctx.op.options
    if inp is None or weights is None or len(weights.shape) != 4 or len(inp.shape) != 4:
        return False
    if weights.shape[1:3] != (1, 1) or o.get("stride_h") != 1 or o.get("stride_w") != 1 \
            or out.shape[3] > inp.shape[3] or out.shape[:3] != inp.shape[:3]:
        return False
    return _fast_conv_rows(ctx) is not None


def _overwrites(ctx: EmitContext) -> tuple[int, ...]:
    """OpSupport.overwrites of CONV_2D: the skip tensor of a fused ADD (conv_residual.overwrites), else
    the input of a pointwise layer that may run in place."""
    fused = conv_residual.overwrites(ctx)
    if fused:
        return fused
    return (0,) if pointwise_in_place(ctx) else ()


CONV_2D = OpSupport(emit=lambda ctx: _emit_common(ctx, False), check=lambda ctx: _check_common(ctx, False),
                    overwrites=_overwrites, fuses_add=conv_residual.fuses_add)
DEPTHWISE_CONV_2D = OpSupport(emit=lambda ctx: _emit_common(ctx, True),
                              check=lambda ctx: _check_common(ctx, True), overwrites=depthwise_rows.overwrites)


def _activation_range_16(activation: str, scale: float) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int16 outputs of zero point 0."""
    def quantize(value: float) -> int:
        return round_half_away(float(np.float32(value) / np.float32(scale)))

    lo, hi = INT16_MIN, INT16_MAX
    if activation == "RELU":
        return max(lo, quantize(0.0)), hi
    if activation == "RELU6":
        return max(lo, quantize(0.0)), min(hi, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(lo, quantize(-1.0)), min(hi, quantize(1.0))
    return lo, hi


def _emit_16x8(ctx: EmitContext, depthwise: bool) -> Emitted:
    """CONV_2D / DEPTHWISE_CONV_2D with int16 activations (tf_conv16.h). Both take the SMLAD paths
    (tf_fast_conv16.h) when their int32 sums are exact: an int32 bias (TFLM's CONV_2D accumulator is
    int32 then), or 32768 * sum|w| below 2^31 for every channel."""
    inp, weights, bias, out = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2), ctx.output()
    assert inp is not None and weights is not None
    assert inp.quantization and weights.quantization and out.quantization
    o = ctx.op.options
    k_h, k_w = weights.shape[1], weights.shape[2]
    geom = geometry(ctx, inp.shape, out.shape, k_h, k_w, o.get("dilation_h", 1), o.get("dilation_w", 1))
    out_c = geom["out_c"]
    w = weights.array()
    scales = weights.quantization.scales
    if len(scales) == 1:
        scales = scales * out_c
    pairs = [quantize_multiplier(per_channel_real_multiplier(inp.quantization.scale, s, out.quantization.scale))
             for s in scales]
    mult = np.array([m for m, _ in pairs], dtype=np.int32)
    shift = np.array([s for _, s in pairs], dtype=np.int32)
    # the int64 MultiplyByQuantizedMultiplier's multiplier, rounded to 15 bits
    reduced = np.where(mult < 0x7FFF0000, (mult.astype(np.int64) + (1 << 15)) >> 16, 0x7FFF).astype(np.int32)
    acc32 = bias is not None and bias.dtype == "int32"
    if acc32:
        assert bias is not None
        bias_words = bias.array().astype(np.int32)
    else:
        b64 = bias.array().astype("<i8") if bias is not None else np.zeros(out_c, "<i8")
        bias_words = np.ascontiguousarray(b64).view("<i4").astype(np.int32)      # (low, high) per channel
    act_min, act_max = _activation_range_16(o.get("activation", "NONE"), out.quantization.scale)
    spatial = geom["batches"] * geom["out_h"] * geom["out_w"] * out_c * k_h * k_w
    macs = spatial if depthwise else spatial * geom["in_c"]
    index = ctx.op.index
    ginit = ", ".join(f".{key} = {int(v)}" for key, v in geom.items())
    fields = (f"{{.g = {{{ginit}}}, .depth_multiplier = {int(o.get('depth_multiplier', 1)) if depthwise else 1}, "
              f".act_min = {act_min}, .act_max = {act_max}, .acc32 = {int(acc32)}}}")
    k = k_h * k_w * geom["in_c"]
    abs_w = np.abs(w.astype(np.int64))
    abs_sums = abs_w.reshape(-1, out_c).sum(axis=0) if depthwise else abs_w.reshape(out_c, -1).sum(axis=1)
    exact = acc32 or int(abs_sums.max(initial=0)) * 32768 < 2**31
    if ctx.dsp_kernels and depthwise and exact:
        cs = out_c + out_c % 2
        taps = k_h * k_w
        pairs16 = np.pad(w.reshape(taps, out_c), ((0, 0), (0, cs - out_c))).astype(np.int64) & 0xFFFF
        words = (pairs16[:, 0::2] | (pairs16[:, 1::2] << 16)).T.astype(np.uint32)      # [cs/2][taps]
        ctx.constants.append(f"static const tf_fast_conv16_t tf_n{index}_params = {{.c = {fields}, .kp = {cs}}};")
        w_name = ctx.constant("weights", np.ascontiguousarray(words))
        names = [ctx.constant(stem, values) for stem, values in
                 (("bias", bias_words), ("mult", mult), ("shift", shift), ("reduced", reduced))]
        call = (f"tf_fast_depthwise_s16(&tf_n{index}_params, (const int16_t *)in, {w_name}, {', '.join(names)}, "
                f"(int16_t *)tf_scratch, (int16_t *)out);")
        strip_w = (geom["out_w"] - 1) * geom["stride_w"] + (geom["k_w"] - 1) * geom["dil_w"] + 1
        code = ctx.layer_function("TF_LAYER_ATTRS", call, {"in": inp.index, "out": out.index})
        return Emitted(code, frozenset({KERNEL16, FAST_KERNEL, FAST_KERNEL16}), macs=macs,
                       scratch_bytes=2 * k_h * strip_w * cs)
    if ctx.dsp_kernels and exact:
        kp = (k + 1) // 2 * 2
        ctx.constants.append(f"static const tf_fast_conv16_t tf_n{index}_params = {{.c = {fields}, .kp = {kp}}};")
        w_name = ctx.constant("weights", np.pad(w.reshape(out_c, k), ((0, 0), (0, kp - k))).astype(np.int16))
        names = [ctx.constant(stem, values) for stem, values in
                 (("bias", bias_words), ("mult", mult), ("shift", shift), ("reduced", reduced))]
        call = (f"tf_fast_conv_s16(&tf_n{index}_params, (const int16_t *)in, {w_name}, {', '.join(names)}, "
                f"(int16_t *)tf_scratch, (int16_t *)out);")
        code = ctx.layer_function("TF_LAYER_ATTRS", call, {"in": inp.index, "out": out.index})
        return Emitted(code, frozenset({KERNEL16, FAST_KERNEL, FAST_KERNEL16}), macs=macs, scratch_bytes=4 * kp)
    ctx.constants.append(f"static const tf_conv16_params_t tf_n{index}_params = {fields};")
    w_name = ctx.constant("weights", np.ascontiguousarray(w))
    names = [ctx.constant(stem, values) for stem, values in
             (("bias", bias_words), ("mult", mult), ("shift", shift), ("reduced", reduced))]
    fn = "tf_depthwise_conv_s16" if depthwise else "tf_conv_s16"
    code = (f"{fn}(&tf_n{index}_params, (const int16_t *){ctx.pointer(inp.index)}, {w_name}, {', '.join(names)}, "
            f"(int16_t *){ctx.pointer(out.index)});")
    return Emitted(code, frozenset({KERNEL16, KERNEL16_C}), macs=macs)
