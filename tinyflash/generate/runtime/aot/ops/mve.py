"""Helium (MVE) code for CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD and AVERAGE_POOL_2D
(kernels: tf_mve.h).

Used when the board's core has MVE (EmitContext.mve_kernels). Like tf_fast.h, each layer gets a
small function that calls an always-inline kernel with a static const parameter block. The weights
are laid out at generation time in the order the kernels load them, and the requantisation
constants of four output channels are one record of int32 vectors (bias; multiplier and shifts
unless the layer has one multiplier for all channels).

The requantisation equals TFLite's for every multiplier and shift (tf_mve.h: tf_mve_requant and
tf_mve_narrow8; the one exception, where TFLite's own int32 offset add overflows, needs an accumulator
times 2^left within 2^8 of 2^31 and a multiplier within 2^8 of 2^31), so, unlike the DSP
path, no range proof decides whether a layer can use it: every CONV_2D, FULLY_CONNECTED, ADD and
AVERAGE_POOL_2D does, and DEPTHWISE_CONV_2D with depth multiplier 1. The kernels do not build on
the host; they are checked on an emulated Cortex-M55 against the TFLM golden."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted

KERNEL = "tf_mve.h"
ATTRS = "TF_MVE_LAYER_ATTRS"    # per-layer function attributes (tf_mve.h)
CHUNK = 16          # int8 lanes of one vector
GROUP = 4           # int32 lanes of one vector: output channels per requantisation record
PAIR = 8            # 16-bit lanes of one vector: channels finished (and stored) together


def lane_order(channels: int) -> np.ndarray:
    """The output channel of each accumulator lane: per group of 8 channels, the even channels' four
    lanes then the odd ones' (the kernels narrow the two into 16-bit lanes in channel order with
    VQMOVNB / VQMOVNT), -1 for lanes past the last channel."""
    groups = -(-channels // PAIR)
    order = np.array([PAIR * g + 2 * i + half for g in range(groups) for half in (0, 1) for i in range(GROUP)])
    return np.where(order < channels, order, -1)


def _by_lane(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """values[order] along the first axis, zeros where order is -1."""
    picked = values[np.maximum(order, 0)]
    picked[order < 0] = 0
    return picked


def conv_weights(w: np.ndarray) -> np.ndarray:
    """[out_c][k] int8 -> [lane group][chunk][4][16]: the rows in lane_order, four at a time, per
    chunk of 16 filter bytes the four rows one after the other. Zeros pad k to a multiple of 16 and
    the padding lanes."""
    out_c, k = w.shape
    chunks = -(-k // CHUNK)
    rows = _by_lane(np.pad(w, ((0, 0), (0, chunks * CHUNK - k))), lane_order(out_c))
    return np.ascontiguousarray(rows.reshape(-1, GROUP, chunks, CHUNK).transpose(0, 2, 1, 3))


def depthwise_weights(w: np.ndarray) -> np.ndarray:
    """[taps][c] int8 (TFLite's 1HWO, depth multiplier 1) -> [group][tap][8], zero channels padding
    c to a multiple of 8 (channel order: the kernel widens eight consecutive bytes)."""
    taps, channels = w.shape
    groups = -(-channels // PAIR)
    padded = np.zeros((taps, groups * PAIR), dtype=np.int8)
    padded[:, :channels] = w
    return np.ascontiguousarray(padded.reshape(taps, groups, PAIR).transpose(1, 0, 2))


def requant_records(bias: np.ndarray, mult: np.ndarray, shift: np.ndarray, per_tensor: bool = False) -> np.ndarray:
    """The int32 records of tf_mve.h, one per four lanes of lane_order: bias, then (unless
    per_tensor) multiplier, max(shift, 0) and min(shift, 0), four lanes each. Padding lanes are all
    zero (they are never stored)."""
    order = lane_order(len(bias))
    fields = (bias,) if per_tensor else (bias, mult, np.maximum(shift, 0), np.minimum(shift, 0))
    lanes = [_by_lane(np.asarray(v, dtype=np.int64), order).reshape(-1, GROUP) for v in fields]
    return np.ascontiguousarray(np.stack(lanes, axis=1).reshape(-1)).astype(np.int32)


def _emit_layer(ctx: EmitContext, geom: dict[str, Any], fields: dict[str, int], weights: np.ndarray,
                bias: np.ndarray, mult: np.ndarray, shift: np.ndarray, call: str, macs: int,
                scratch: int, inp: int, out: int) -> Emitted:
    index = ctx.op.index
    ginit = ", ".join(f".{key} = {int(v)}" for key, v in geom.items())
    finit = ", ".join(f".{key} = {int(v)}" for key, v in fields.items())
    ctx.constants.append(f"static const tf_mve_conv_t tf_n{index}_params = {{.g = {{{ginit}}}, {finit}}};")
    w_name = ctx.constant("weights", weights)
    rq_name = ctx.constant("rq", requant_records(bias, mult, shift, bool(fields["per_tensor"])))
    body = call.format(params=f"&tf_n{index}_params", weights=w_name, rq=rq_name)
    code = ctx.layer_function(ATTRS, body, {"in": inp, "out": out})
    return Emitted(code, frozenset({KERNEL}), macs=macs, scratch_bytes=scratch)


ROUND_UP, ROUND_SIGN, ROUND_MASKED = 0, 1, 2      # tf_mve.h TF_MVE_ROUND_*


def rounding_mode(shift: np.ndarray, out_zp: int, act_min: int) -> int:
    """What tf_mve_requant must add to VRSHL's round-half-up to get TFLite's round-half-away: nothing
    when every negative value clamps to act_min anyway, the sign when every channel shifts right,
    else the sign masked per channel."""
    if act_min >= out_zp:
        return ROUND_UP
    return ROUND_SIGN if bool((np.asarray(shift) < 0).all()) else ROUND_MASKED


def _quant_fields(mult: np.ndarray, shift: np.ndarray, in_zp: int, out_zp: int, act_min: int,
                  act_max: int) -> dict[str, int]:
    mult, shift = np.asarray(mult), np.asarray(shift)
    per_tensor = bool((mult == mult[0]).all() and (shift == shift[0]).all())
    return {"pad_value": in_zp, "output_offset": out_zp, "act_min": act_min, "act_max": act_max,
            "left_shift": int(bool((shift > 0).any())), "rounding": rounding_mode(shift, out_zp, act_min),
            "per_tensor": int(per_tensor), "mult": int(mult[0]) if per_tensor else 0,
            "left": max(int(shift[0]), 0) if per_tensor else 0, "right": min(int(shift[0]), 0) if per_tensor else 0}


def emit_conv(ctx: EmitContext, geom: dict[str, Any], w: np.ndarray, bias: np.ndarray, mult: np.ndarray,
              shift: np.ndarray, in_zp: int, out_zp: int, act_min: int, act_max: int, macs: int) -> Emitted:
    """CONV_2D, weights OHWI. A 1x1 filter without padding reads its columns in place; any other
    filter gathers each pixel's k bytes into the scratch buffer first."""
    out_c = geom["out_c"]
    k = geom["k_h"] * geom["k_w"] * geom["in_c"]
    direct = geom["k_h"] == geom["k_w"] == 1 and geom["pad_h"] == geom["pad_w"] == 0
    fields = {"k": k, "direct": int(direct), "strip_w": 0, "strip_rows": 0,
              **_quant_fields(mult, shift, in_zp, out_zp, act_min, act_max)}
    inp, out = ctx.op.inputs[0], ctx.op.outputs[0]
    col = "(int8_t *)0" if direct else "tf_scratch"
    return _emit_layer(ctx, geom, fields, conv_weights(w.reshape(out_c, k)), bias, mult, shift,
                       f"tf_mve_conv_s8({{params}}, in, {{weights}}, {{rq}}, {col}, out);", macs,
                       0 if direct else k, inp, out)


def emit_fully_connected(ctx: EmitContext, batches: int, w: np.ndarray, bias: np.ndarray, multiplier: int,
                         shift: int, in_zp: int, out_zp: int, act_min: int, act_max: int) -> Emitted:
    """FULLY_CONNECTED as a 1x1 CONV_2D over 'batches' pixels, the per-tensor multiplier repeated
    per output channel."""
    out_depth, in_depth = w.shape
    geom = {"batches": batches, "in_h": 1, "in_w": 1, "in_c": in_depth, "out_h": 1, "out_w": 1,
            "out_c": out_depth, "k_h": 1, "k_w": 1, "stride_h": 1, "stride_w": 1, "dil_h": 1, "dil_w": 1,
            "pad_h": 0, "pad_w": 0}
    mult = np.full(out_depth, multiplier, dtype=np.int64)
    shifts = np.full(out_depth, shift, dtype=np.int64)
    fields = {"k": in_depth, "direct": 1, "strip_w": 0, "strip_rows": 0,
              **_quant_fields(mult, shifts, in_zp, out_zp, act_min, act_max)}
    inp, out = ctx.op.inputs[0], ctx.op.outputs[0]
    return _emit_layer(ctx, geom, fields, conv_weights(w), bias, mult, shifts,
                       "tf_mve_conv_s8({params}, in, {weights}, {rq}, (int8_t *)0, out);",
                       batches * in_depth * out_depth, 0, inp, out)


def strip_width(geom: dict[str, Any]) -> int:
    """Pixels per row of the depthwise strip: the left padding, the input row, and as many padding
    pixels on the right as the last output pixel's last tap reaches."""
    last_tap = (geom["out_w"] - 1) * geom["stride_w"] - geom["pad_w"] + (geom["k_w"] - 1) * geom["dil_w"]
    return geom["pad_w"] + max(geom["in_w"], last_tap + 1)


def strip_rows(geom: dict[str, Any]) -> int:
    """Rows of the depthwise strip: twice the filter height when consecutive output rows share input
    rows (dilation 1, stride below the height), so that each input row is copied once and the rows
    still needed move back to the top only every few output rows (tf_mve_dw_window); else the filter
    height."""
    if geom["dil_h"] == 1 and geom["stride_h"] < geom["k_h"]:
        return 2 * geom["k_h"]
    return geom["k_h"]


def emit_depthwise(ctx: EmitContext, geom: dict[str, Any], w: np.ndarray, bias: np.ndarray, mult: np.ndarray,
                   shift: np.ndarray, in_zp: int, out_zp: int, act_min: int, act_max: int, macs: int) -> Emitted:
    """DEPTHWISE_CONV_2D with depth multiplier 1, weights [1][k_h][k_w][c]."""
    taps, channels = geom["k_h"] * geom["k_w"], geom["out_c"]
    width, rows = strip_width(geom), strip_rows(geom)
    fields = {"k": taps, "direct": 0, "strip_w": width, "strip_rows": rows,
              **_quant_fields(mult, shift, in_zp, out_zp, act_min, act_max)}
    inp, out = ctx.op.inputs[0], ctx.op.outputs[0]
    strip = -(-channels // PAIR) * rows * width * PAIR
    return _emit_layer(ctx, geom, fields, depthwise_weights(w.reshape(taps, channels)), bias, mult, shift,
                       "tf_mve_depthwise_s8({params}, in, {weights}, {rq}, tf_scratch, out);", macs,
                       strip, inp, out)


def emit_add(ctx: EmitContext, fields: dict[str, int]) -> Emitted:
    """ADD of two same-shape tensors; fields: tf_add_params_t (tf_kernels.h), as the portable kernel."""
    params = ctx.params("tf_add_params_t", fields)
    a, b, out = ctx.op.inputs[0], ctx.op.inputs[1], ctx.op.outputs[0]
    code = ctx.layer_function(ATTRS, f"tf_mve_add_s8(&{params}, a, b, out);", {"a": a, "b": b, "out": out})
    return Emitted(code, frozenset({KERNEL}), macs=0)


def emit_avg_pool(ctx: EmitContext, geom: dict[str, Any], act_min: int, act_max: int) -> Emitted:
    """AVERAGE_POOL_2D: vector sums per channel, scalar rounding divisions (scratch: the sums)."""
    index = ctx.op.index
    wide = int(geom["k_h"] * geom["k_w"] * 128 > 2**15 - 1)
    ginit = ", ".join(f".{key} = {int(v)}" for key, v in geom.items())
    ctx.constants.append(f"static const tf_mve_pool_t tf_n{index}_params = {{.g = {{{ginit}}}, "
                         f".act_min = {act_min}, .act_max = {act_max}, .wide = {wide}}};")
    inp, out = ctx.op.inputs[0], ctx.op.outputs[0]
    code = ctx.layer_function(ATTRS, f"tf_mve_avg_pool_s8(&tf_n{index}_params, in, (int32_t *)(void *)tf_scratch, "
                                     f"out);", {"in": inp, "out": out})
    return Emitted(code, frozenset({KERNEL}), macs=0, scratch_bytes=-(-geom["in_c"] // PAIR) * PAIR * 4)
