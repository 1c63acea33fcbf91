"""What the Helium (MVE) paths of the operator modules share (kernels: tf_mve_requant.h): the lane
order of the accumulators, the requantisation records and fields, and the per-layer function.

Used when the board's core has MVE (EmitContext.mve_kernels): conv.py (CONV_2D, DEPTHWISE_CONV_2D),
fully_connected.py, add.py and pooling.py (AVERAGE_POOL_2D) each emit their
kernel of tf_mve_<operator>.h. Like tf_fast.h, each layer gets a small function that calls an
always-inline kernel with a static const parameter block. The weights are laid out at generation
time in the order the kernels load them, and the requantisation constants of four output channels
are one record of int32 vectors (bias; multiplier and shifts unless the layer has one multiplier for
all channels).

The requantisation equals TFLite's for every multiplier and shift (tf_mve_requant.h: tf_mve_requant
and tf_mve_narrow8; the one exception, where TFLite's own int32 offset add overflows, needs an
accumulator times 2^left within 2^8 of 2^31 and a multiplier within 2^8 of 2^31), so, unlike the DSP
path, no range proof decides whether a layer can use it. The kernels do not build on the host; they
are checked on an emulated Cortex-M55 against the TFLM golden."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted

KERNEL = "tf_mve_requant.h"     # every Helium operator header includes it; copied with them
ATTRS = "TF_MVE_LAYER_ATTRS"    # per-layer function attributes (tf_mve_requant.h)
CONV_HEADER = "tf_mve_conv.h"
ADD_HEADER = "tf_mve_add.h"     # tf_mve_conv.h includes it (a folded residual ADD)
CONV_ATTRS = "TF_MVE_CONV_LAYER_ATTRS"      # tf_mve_conv.h's layers: no low-overhead loops
CHUNK = 16          # int8 lanes of one vector
GROUP = 4           # int32 lanes of one vector: output channels per requantisation record
PAIR = 8            # 16-bit lanes of one vector: channels finished (and stored) together

ROUND_UP, ROUND_SIGN, ROUND_MASKED = 0, 1, 2      # tf_mve_requant.h TF_MVE_ROUND_*


def kernels(header: str) -> frozenset[str]:
    """The kernel files a layer using ``header`` (one tf_mve_<operator>.h) needs."""
    return frozenset({KERNEL, header})


def lane_order(channels: int) -> np.ndarray:
    """The output channel of each accumulator lane: per group of 8 channels, the even channels' four
    lanes then the odd ones' (the kernels narrow the two into 16-bit lanes in channel order with
    VQMOVNB / VQMOVNT), -1 for lanes past the last channel."""
    groups = -(-channels // PAIR)
    order = np.array([PAIR * g + 2 * i + half for g in range(groups) for half in (0, 1) for i in range(GROUP)])
    return np.where(order < channels, order, -1)


def by_lane(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """values[order] along the first axis, zeros where order is -1."""
    picked = values[np.maximum(order, 0)]
    picked[order < 0] = 0
    return picked


def requant_records(bias: np.ndarray, mult: np.ndarray, shift: np.ndarray, per_tensor: bool = False) -> np.ndarray:
    """The int32 records of tf_mve_requant.h, one per four lanes of lane_order: bias, then (unless
    per_tensor) multiplier, max(shift, 0) and min(shift, 0), four lanes each. Padding lanes are all
    zero (they are never stored)."""
    order = lane_order(len(bias))
    fields = (bias,) if per_tensor else (bias, mult, np.maximum(shift, 0), np.minimum(shift, 0))
    lanes = [by_lane(np.asarray(v, dtype=np.int64), order).reshape(-1, GROUP) for v in fields]
    return np.ascontiguousarray(np.stack(lanes, axis=1).reshape(-1)).astype(np.int32)


def rounding_mode(shift: np.ndarray, out_zp: int, act_min: int) -> int:
    """What tf_mve_requant must add to VRSHL's round-half-up to get TFLite's round-half-away: nothing
    when every negative value clamps to act_min anyway, the sign when every channel shifts right,
    else the sign masked per channel."""
    if act_min >= out_zp:
        return ROUND_UP
    return ROUND_SIGN if bool((np.asarray(shift) < 0).all()) else ROUND_MASKED


def quant_fields(mult: np.ndarray, shift: np.ndarray, in_zp: int, out_zp: int, act_min: int,
                 act_max: int) -> dict[str, int]:
    """The requantisation fields of tf_mve_conv_t."""
    mult, shift = np.asarray(mult), np.asarray(shift)
    per_tensor = bool((mult == mult[0]).all() and (shift == shift[0]).all())
    return {"pad_value": in_zp, "output_offset": out_zp, "act_min": act_min, "act_max": act_max,
            "left_shift": int(bool((shift > 0).any())), "rounding": rounding_mode(shift, out_zp, act_min),
            "per_tensor": int(per_tensor), "mult": int(mult[0]) if per_tensor else 0,
            "left": max(int(shift[0]), 0) if per_tensor else 0, "right": min(int(shift[0]), 0) if per_tensor else 0}


def emit_layer(ctx: EmitContext, header: str, geom: dict[str, Any], fields: dict[str, int], weights: np.ndarray,
               bias: np.ndarray, mult: np.ndarray, shift: np.ndarray, call: str, macs: int,
               scratch: int, inp: int, out: int, skip: int | None = None) -> Emitted:
    """A layer over tf_mve_conv_t (convolutions, fully connected): its parameter block, weights and
    records as constants, ``call`` (with {params}, {weights}, {rq}) in its per-layer function, whose
    pointers are in, skip (a folded residual ADD's other input, if given) and out."""
    index = ctx.op.index
    ginit = ", ".join(f".{key} = {int(v)}" for key, v in geom.items())
    finit = ", ".join(f".{key} = {int(v)}" for key, v in fields.items())
    ctx.constants.append(f"static const tf_mve_conv_t tf_n{index}_params = {{.g = {{{ginit}}}, {finit}}};")
    w_name = ctx.constant("weights", weights)
    rq_name = ctx.constant("rq", requant_records(bias, mult, shift, bool(fields["per_tensor"])))
    body = call.format(params=f"&tf_n{index}_params", weights=w_name, rq=rq_name)
    args = {"in": inp, **({"skip": skip} if skip is not None else {}), "out": out}
    # the two-pixel kernels' attributes where there are two pixels (a FULLY_CONNECTED of one row keeps
    # GCC's low-overhead loops: its one-pixel kernel runs faster with them)
    pairs = header == CONV_HEADER and geom["batches"] * geom["out_h"] * geom["out_w"] >= 2
    code = ctx.layer_function(CONV_ATTRS if pairs else ATTRS, body, args)
    headers = kernels(header) | ({ADD_HEADER} if header == CONV_HEADER else frozenset())
    return Emitted(code, headers, macs=macs, scratch_bytes=scratch)
