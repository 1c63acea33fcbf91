"""DEPTHWISE_CONV_2D on Helium over channel-planar rows (tf_mve_dw_planar.h): the layout of its
weights and requantisation table, its view (rows or columns), and which layers it takes.

Filters up to 4x4, no dilation, no depth multiplier; every other depthwise layer keeps
tf_mve_depthwise.h (conv.py: _emit_mve_depthwise)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted
from tinyflash.generate.runtime.aot.ops.mve_requant import ATTRS, kernels

HEADER = "tf_mve_dw_planar.h"
LANES = 4           # rows per slot (lane iy & 3)
RECORD = 20         # bytes per (channel, phase) weight record: 4 zeros, then w0's 16 lanes
BLOCK = 8           # output pixels per requantised block
OFFSET_MAX = 65535  # VSTRB.16 scatter offsets are 16-bit


@dataclass(frozen=True)
class View:
    """The kernel's geometry: the tensor's, or with rows and columns swapped (transposed)."""
    geom: dict[str, Any]
    transposed: bool
    in_rs: int
    in_cs: int
    out_rs: int
    out_cs: int


def view(geom: dict[str, Any]) -> View:
    """Rows along the longer output side when the tensor's rows are short (fewer than a block of
    pixels): the per-row cost (weights, scalars, a partial block) is then paid on fewer rows."""
    if geom["out_w"] >= BLOCK or geom["out_h"] <= geom["out_w"]:
        return View(geom, False, geom["in_w"], 1, geom["out_w"], 1)
    swapped = dict(geom)
    for a, b in (("in_h", "in_w"), ("out_h", "out_w"), ("k_h", "k_w"), ("stride_h", "stride_w"),
                 ("dil_h", "dil_w"), ("pad_h", "pad_w")):
        swapped[a], swapped[b] = geom[b], geom[a]
    return View(swapped, True, 1, geom["in_w"], 1, geom["out_w"])


def slots(g: dict[str, Any]) -> int:
    """Slots per plane: the padded row, and as far as the last block's last load reads (a partial
    block computes whole quads of pixels)."""
    last_tap = (g["out_w"] - 1) * g["stride_w"] - g["pad_w"] + g["k_w"] - 1
    computed = -(-g["out_w"] // LANES) * LANES
    return max(g["pad_w"] + max(g["in_w"], last_tap + 1), (computed - 1) * g["stride_w"] + LANES)


def supported(geom: dict[str, Any], depth_multiplier: int) -> bool:
    if depth_multiplier != 1 or geom["dil_h"] != 1 or geom["dil_w"] != 1:
        return False
    v = view(geom)
    g = v.geom
    if g["k_h"] > LANES or g["k_w"] > LANES:
        return False
    if g["stride_w"] > 1 and g["out_w"] < LANES:   # one load per pixel, a block mostly empty: the strip
        return False                               # kernel is cheaper (vww's 3x3 stride-2 layer)
    plane = slots(g) * LANES
    row_pair = v.out_rs * g["out_c"] + (LANES - 1) * v.out_cs * g["out_c"]     # tf_mve_dwp_block2's last lane
    return (BLOCK - 1) * plane <= OFFSET_MAX and (BLOCK - 1) * v.out_cs * g["out_c"] <= OFFSET_MAX \
        and row_pair <= OFFSET_MAX


def weight_records(w: np.ndarray) -> np.ndarray:
    """[k_h][k_w][c] int8 (the view's taps) -> [c][phase][RECORD]: per phase r, w0 lane
    4 kx + ((r + ky) & 3) = w[ky][kx], after four zero bytes (so that bytes 0..15 are w0 one slot on)."""
    k_h, k_w, c = w.shape
    out = np.zeros((c, LANES, RECORD), dtype=np.int8)
    for r in range(LANES):
        for ky in range(k_h):
            for kx in range(k_w):
                out[:, r, LANES + LANES * kx + (r + ky) % LANES] = w[ky, kx, :]
    return out


def rq_table(bias: np.ndarray, mult: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """[c][4] int32: bias, multiplier, max(shift, 0), min(shift, 0)."""
    shift = np.asarray(shift, dtype=np.int64)
    return np.stack([np.asarray(bias, np.int64), np.asarray(mult, np.int64), np.maximum(shift, 0),
                     np.minimum(shift, 0)], axis=1).astype(np.int32)


def emit(ctx: EmitContext, geom: dict[str, Any], w: np.ndarray, bias: np.ndarray, mult: np.ndarray,
         shift: np.ndarray, fields: dict[str, int], macs: int) -> Emitted:
    """w: the tensor's [k_h][k_w][c] taps; fields: mve_requant.quant_fields."""
    v = view(geom)
    g = v.geom
    taps = w.transpose(1, 0, 2) if v.transposed else w
    n = slots(g)
    index = ctx.op.index
    ginit = ", ".join(f".{key} = {int(value)}" for key, value in g.items())
    finit = ", ".join(f".{key} = {int(value)}" for key, value in
                      {"k": g["k_h"] * g["k_w"], "direct": 0, "strip_w": n, "strip_rows": 1, **fields}.items())
    ctx.constants.append(f"static const tf_mve_dwp_t tf_n{index}_params = {{.c = {{.g = {{{ginit}}}, {finit}}}, "
                         f".in_rs = {v.in_rs}, .in_cs = {v.in_cs}, .out_rs = {v.out_rs}, .out_cs = {v.out_cs}}};")
    w_name = ctx.constant("weights", weight_records(taps))
    rq_name = ctx.constant("rq", rq_table(bias, mult, shift))
    call = f"tf_mve_dw_planar_s8(&tf_n{index}_params, in, {w_name}, {rq_name}, tf_scratch, out);"
    code = ctx.layer_function(ATTRS, call, {"in": ctx.op.inputs[0], "out": ctx.op.outputs[0]})
    return Emitted(code, kernels(HEADER), macs=macs, scratch_bytes=g["out_c"] * n * LANES)
