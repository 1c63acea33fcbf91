"""DEPTHWISE_CONV_2D on cores with the DSP extension by rows of int16 pairs (tf_fast_depthwise.h
tf_fast_dw_rows_s8), and the in-place decision that goes with it (#14.1, #14.2).

The kernel works in a view of the tensors: u the axis along which two neighbouring taps of one channel
share an SMLAD, v the other. The view is the tensor itself (u = x) or its transpose (u = y), whichever
an instruction estimate prefers (kws's 25 x 5 maps run along y); a layer whose output overwrites its
input takes a view in which that is legal. A depth multiplier m > 1 runs the m output channels of an
input channel over its one converted plane (person_detect's first layer: 1 -> 8 channels)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, rq_table
from tinyflash.generate.runtime.aot.quant import (activation_range, compute_padding, per_channel_real_multiplier,
                                                  quantize_multiplier, requant_rows, wrap_int32)

FAST_DEPTHWISE = frozenset({"tf_fast.h", "tf_fast_depthwise.h"})
RING_EXTRA = 3          # ring rows beyond the filter height, in strides: the kept rows move back every 4 output rows
WHOLE_MAP_BYTES = 2048  # a map whose padded rows all fit in this much scratch is converted at once


@dataclass(frozen=True)
class View:
    """tf_dwr_t's geometry: the layer seen with u the pairing axis (transposed: u = y)."""
    transposed: bool
    in_u: int
    in_v: int
    out_u: int
    out_v: int
    k_u: int
    k_v: int
    s_u: int
    s_v: int
    pad_u: int
    pad_v: int
    in_su: int
    in_sv: int
    out_su: int
    out_sv: int
    planes: int = 4      # input channels converted per block: 4, or 1 for depths not a multiple of 4

    @property
    def pairs(self) -> int:
        """Pairs per ring row: the padded columns the taps of the row reach."""
        return -(-((self.out_u - 1) * self.s_u + self.k_u) // 2)

    @property
    def ring_rows(self) -> int:
        """The ring's rows: all the padded input rows of a small map (one band: each channel's
        weights serve every output row), else those of a band of RING_EXTRA + 1 output rows (the
        k_v - s_v rows the next band shares move back once a band: stride 2 needs the taller ring)."""
        span = (self.out_v - 1) * self.s_v + self.k_v
        if 4 * self.planes * span * self.pairs <= WHOLE_MAP_BYTES:
            return span
        return min(span, self.k_v + self.s_v * RING_EXTRA)

    def scratch_bytes(self) -> int:
        return 4 * self.planes * self.ring_rows * self.pairs


def views(geom: dict[str, Any]) -> list[View]:
    c, oc = geom["in_c"], geom["out_c"]
    row_in, row_out = geom["in_w"] * c, geom["out_w"] * oc
    planes = 4 if c % 4 == 0 else 1
    plain = View(False, geom["in_w"], geom["in_h"], geom["out_w"], geom["out_h"], geom["k_w"], geom["k_h"],
                 geom["stride_w"], geom["stride_h"], geom["pad_w"], geom["pad_h"], c, row_in, oc, row_out, planes)
    flipped = View(True, geom["in_h"], geom["in_w"], geom["out_h"], geom["out_w"], geom["k_h"], geom["k_w"],
                   geom["stride_h"], geom["stride_w"], geom["pad_h"], geom["pad_w"], row_in, c, row_out, oc, planes)
    # tf_dwr_px holds a row's pairs and weights in eight words each
    return [v for v in (plain, flipped) if v.k_u % 2 == 1 and 3 <= v.k_u <= 9 and v.s_u in (1, 2)]


def estimate(v: View, channels: int, in_channels: int) -> int:
    """Instructions of the layer, roughly as GCC compiles tf_fast_dw_rows_s8: per output row and
    output channel the pixels in groups of 4, 2, 1 (MACs at one instruction per tap pair, the pairs
    loaded once per group and row, requantisation), per input row and channel the conversion."""
    h = (v.k_u - 1) // 2
    groups = [4] * (v.out_u // 4) + [2] * ((v.out_u % 4) // 2) + [1] * (v.out_u % 2)
    row = 8 + sum(n * v.k_v * (h + 1) + v.k_v * (((n - 1) * v.s_u + v.k_u - 1) // 2 + 1 + h) + 3 * n + 4
                  for n in groups)
    converted = min(v.in_v + 2 * v.pad_v, v.out_v * v.k_v)
    return channels * v.out_v * row + in_channels * converted * (3 * v.pairs + 2)


def in_place_ok(v: View, geom: dict[str, Any]) -> bool:
    """Whether every byte output row ov writes belongs to an input row the ring already holds (or
    never needs): the kernel converts rows up to ov s_v - pad_v + k_v - 1 before it writes row ov,
    and one channel's output only ever lands on the same channel's input. Not with a depth
    multiplier: the output is larger than the input."""
    if geom["batches"] != 1 or geom["out_c"] != geom["in_c"]:
        return False
    c, in_w = geom["in_c"], geom["in_w"]
    for ov in range(v.out_v):
        converted = min(ov * v.s_v - v.pad_v + v.k_v, v.in_v)
        for ou in range(v.out_u):
            y, x = divmod((ov * v.out_sv + ou * v.out_su) // c, in_w)
            if (x if v.transposed else y) >= converted:
                return False
    return True


@dataclass(frozen=True)
class Layer:
    """What the kernel needs of a DEPTHWISE_CONV_2D, computed as conv.py's _emit_common does."""
    geom: dict[str, Any]
    w: np.ndarray            # [k_h][k_w][c]
    folded: np.ndarray
    rows: np.ndarray
    rq_mode: int
    act_min: int
    act_max: int
    in_zp: int


def layer(ctx: EmitContext) -> Optional[Layer]:
    """The layer's numbers when the rows kernel can run it (DSP, int8, multiplier 1 with channels a
    multiple of 4 or any multiplier > 1, no dilation, an odd filter width or height >= 3 with stride 1
    or 2 along it, and tf_rq's fast form proven), else None."""
    inp, weights, bias, out = ctx.tensor(0), ctx.tensor(1), ctx.tensor(2), ctx.output()
    if not ctx.dsp_kernels or ctx.mve_kernels or inp is None or weights is None or inp.dtype != "int8":
        return None
    o = ctx.op.options
    if o.get("dilation_h", 1) != 1 or o.get("dilation_w", 1) != 1:
        return None
    assert inp.quantization and weights.quantization and out.quantization
    _, k_h, k_w, c = weights.shape          # c: output channels
    in_c = inp.shape[3]
    if c % in_c or out.shape[3] != c or (c == in_c and c % 4):
        return None
    geom = {"batches": inp.shape[0], "in_h": inp.shape[1], "in_w": inp.shape[2], "in_c": in_c,
            "out_h": out.shape[1], "out_w": out.shape[2], "out_c": c, "k_h": k_h, "k_w": k_w,
            "stride_h": o["stride_h"], "stride_w": o["stride_w"],
            "pad_h": compute_padding(o["stride_h"], 1, inp.shape[1], k_h, out.shape[1]),
            "pad_w": compute_padding(o["stride_w"], 1, inp.shape[2], k_w, out.shape[2])}
    if ctx.rows is not None:      # one band of rows (patches.py): rows outside in_h read as padding
        geom.update(in_h=ctx.rows.in_h, out_h=ctx.rows.out_h, pad_h=ctx.rows.pad_h)
    if not views(geom):
        return None
    w = weights.array().reshape(k_h, k_w, c)
    b = bias.array().astype(np.int64) if bias is not None else np.zeros(c, np.int64)
    in_zp = inp.quantization.zero_point
    folded = wrap_int32(b - in_zp * w.astype(np.int64).reshape(-1, c).sum(axis=0))
    scales = weights.quantization.scales
    scales = scales * c if len(scales) == 1 else scales
    pairs = [quantize_multiplier(per_channel_real_multiplier(inp.quantization.scale, s, out.quantization.scale))
             for s in scales]
    act_min, act_max = activation_range(o.get("activation", "NONE"), out.quantization.scale,
                                        out.quantization.zero_point)
    abs_sums = np.abs(w.astype(np.int64)).reshape(-1, c).sum(axis=0)
    rq = requant_rows(np.array([m for m, _ in pairs], np.int32), np.array([s for _, s in pairs], np.int32),
                      folded, abs_sums, out.quantization.zero_point, act_min)
    if rq is None:
        return None
    return Layer(geom, w, folded, rq[0], rq[1], act_min, act_max, in_zp)


def overwrites(ctx: EmitContext) -> tuple[int, ...]:
    """OpSupport.overwrites: the input's buffer, when the rows kernel runs the layer and some view
    of it may write in place."""
    lay = layer(ctx)
    return (0,) if lay is not None and any(in_place_ok(v, lay.geom) for v in views(lay.geom)) else ()


def weight_words(w: np.ndarray, v: View, left: np.ndarray) -> np.ndarray:
    """[k_h][k_w][c] int8 -> [c][k_v][k_u - 1] uint32: per filter row of the view the words
    E_i = (w_2i, w_2i+1) then O_i = (w_2i+1, w_2i+2), each weight times 2^left of its channel."""
    wv = w.transpose(1, 0, 2) if v.transposed else w                 # [k_v][k_u][c]
    wv = wv.astype(np.int64) << left.astype(np.int64)
    h = (v.k_u - 1) // 2
    lo = np.concatenate([wv[:, 0:2 * h:2], wv[:, 1:2 * h:2]], axis=1)       # E lows, O lows
    hi = np.concatenate([wv[:, 1:2 * h:2], wv[:, 2:2 * h + 1:2]], axis=1)   # E highs, O highs
    words = (lo & 0xFFFF) | ((hi & 0xFFFF) << 16)                           # [k_v][k_u - 1][c]
    return np.ascontiguousarray(words.transpose(2, 0, 1)).astype(np.uint32)


def fuses_record(v: View, preshift: int) -> bool:
    """Whether each channel's weights carry its bias and requantisation record (tf_dwr_t.fused):
    for the stride-2 3 x 3 rows (tf_dwr_acc_s2), whose pixel groups then load the record where they
    use it instead of GCC keeping a channel's bias and record live across the rows and spilling
    them (vww's 6x6x128 -> 3x3 layer). Needs the preshifted weights: the record has no left shift."""
    return bool(preshift) and v.s_u == 2 and v.k_u == 3 and v.k_v == 3


def lifted_clamp(rows: np.ndarray, rq_mode: int, act_min: int, act_max: int) -> tuple[int, int]:
    """(sat, lift) of tf_dwr_out, or (0, 0) when it does not apply: with the shared shift R = rq_mode
    and an activation range narrower than int8, sat is the fewest bits whose signed range holds
    act_max - act_min + 1 values and lift = act_min + 2^(sat - 1), so SSAT's low end is act_min; each
    round is lowered by lift 2^R, which must keep it within 2^30 (quant.shared_shift_requant's bound,
    so SMMLA's sum stays inside int32)."""
    if rq_mode < 2 or act_max <= act_min or (act_min == -128 and act_max == 127):
        return 0, 0
    sat = max(1, int(act_max - act_min).bit_length())
    lift = act_min + (1 << (sat - 1))
    lowered = rows[:, 3].astype(np.int64) - (lift << rq_mode)
    if np.abs(lowered).max(initial=0) >= 2**30:
        return 0, 0
    return sat, lift


def emit(ctx: EmitContext, macs: int) -> Optional[Emitted]:
    """tf_fast_dw_rows_s8 for the layer, or None when it does not apply (or the planner asked for
    in place and no view allows it)."""
    lay = layer(ctx)
    if lay is None:
        return None
    geom, c, in_c = lay.geom, lay.geom["out_c"], lay.geom["in_c"]
    candidates = views(geom)
    if ctx.rows is not None:      # a band is a run of rows (v = y): the transposed view would cut its columns
        candidates = [v for v in candidates if not v.transposed]
        if not candidates:
            return None
    if ctx.overwrites_input == 0:
        candidates = [v for v in candidates if in_place_ok(v, geom)]
        if not candidates:
            return None
    v = min(candidates, key=lambda view: estimate(view, c, in_c))
    rows = lay.rows.copy()
    sat, lift = lifted_clamp(rows, lay.rq_mode, lay.act_min, lay.act_max)
    rows[:, 3] -= lift << lay.rq_mode if sat else 0
    left = rows[:, 1].astype(np.int64)
    # multiply weights and bias by 2^left when the weights stay int16: no shift per output
    preshift = int((np.abs(lay.w.astype(np.int64)).max(axis=(0, 1)) << left).max(initial=0) <= 32767)
    bias = wrap_int32(lay.folded.astype(np.int64) << left) if preshift else lay.folded
    words = weight_words(lay.w, v, left if preshift else np.zeros_like(left))
    fused = int(fuses_record(v, preshift))
    if fused:
        record = np.stack([bias, rows[:, 0], rows[:, 3], rows[:, 2]], axis=1).astype(np.int64) & 0xFFFFFFFF
        words = np.concatenate([words.reshape(c, -1), record.astype(np.uint32)], axis=1)
    index = ctx.op.index
    fields = {"in_u": v.in_u, "in_v": v.in_v, "out_u": v.out_u, "out_v": v.out_v, "k_u": v.k_u, "k_v": v.k_v,
              "s_u": v.s_u, "s_v": v.s_v, "pad_u": v.pad_u, "pad_v": v.pad_v, "in_su": v.in_su,
              "in_sv": v.in_sv, "out_su": v.out_su, "out_sv": v.out_sv, "c": in_c, "m": c // in_c,
              "planes": v.planes, "np": v.pairs,
              "rows": v.ring_rows, "batches": geom["batches"],
              "in_batch": geom["in_h"] * geom["in_w"] * in_c, "out_batch": geom["out_h"] * geom["out_w"] * c,
              "pad_value": lay.in_zp, "act_min": lay.act_min, "act_max": lay.act_max, "rq_mode": lay.rq_mode,
              "preshift": preshift, "fused": fused, "sat": sat, "lift": lift}
    params = ctx.params("tf_dwr_t", fields)
    w_name = ctx.constant("weights", words)
    b_name = "(const int32_t *)0" if fused else ctx.constant("bias", bias.astype(np.int32))
    rq_name = "(const tf_rq_t *)0" if fused else rq_table(ctx, rows)
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    call = (f"tf_fast_dw_rows_s8(&{params}, in, (const uint32_t *){w_name}, {b_name}, {rq_name}, "
            f"(uint32_t *)tf_scratch, out);")
    code = ctx.layer_function("TF_LAYER_ATTRS", call, {"in": inp.index, "out": out.index})
    return Emitted(code, FAST_DEPTHWISE, macs=macs, scratch_bytes=v.scratch_bytes())
