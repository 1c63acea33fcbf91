"""MEAN int8 and int16 over constant axes (negative ones too, repeated ones once), keep_dims either
way (TFLM reduce_common.cc EvalIntegerMean -> reference_ops::QuantizedMeanOrSum).

TFLM's 4-D mean over H and W is a special case for float32 only; integer means all take
QuantizedMeanOrSum, whose arithmetic is copied: int32 sums, minus input_zp * count, the multiplier
of s_in / s_out divided by the count (shifted up by floor(log2 count), at most 32 and 31 + shift, then
truncated), MultiplyByQuantizedMultiplier, the output zero point, clamped to the type."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.broadcast import C_TYPES, TYPE_BOUNDS
from tinyflash.generate.runtime.aot.quant import quantize_multiplier, wrap_int32
from tinyflash.model.graph import Tensor

MAX_LEVELS = 8          # tf_mean.h TF_MEAN_MAX_LEVELS
KERNELS = frozenset({"tf_mean.h", "tf_mean.c"})


def _axes(ctx: EmitContext, inp: Tensor) -> tuple[int, ...]:
    axis = ctx.tensor(1)
    if axis is None or not axis.is_constant:
        raise ctx.unsupported("the axes must be a constant tensor")
    if axis.dtype != "int32":
        raise ctx.unsupported(f"axes of type {axis.dtype} are not supported (TFLM requires int32)")
    rank = len(inp.shape)
    resolved: list[int] = []
    for value in axis.array().reshape(-1).tolist():
        a = value + rank if value < 0 else value
        if not 0 <= a < rank:
            raise ctx.unsupported(f"axis {value} is out of range for rank {rank}")
        if a not in resolved:             # ResolveAxis drops duplicates
            resolved.append(a)
    return tuple(sorted(resolved))


def _levels(shape: tuple[int, ...], axes: tuple[int, ...]) -> list[tuple[int, bool]]:
    """(extent, reduced) per level, outermost first: unit dimensions dropped, neighbours reduced alike fused."""
    levels: list[list[Any]] = []
    for d, n in enumerate(shape):
        if n == 1:
            continue
        reduced = d in axes
        if levels and levels[-1][1] == reduced:
            levels[-1][0] *= n
        else:
            levels.append([n, reduced])
    return [(int(n), bool(r)) for n, r in levels] or [(1, False)]


def _check(ctx: EmitContext) -> None:
    inp, out = ctx.tensor(0), ctx.output()
    if inp is None or inp.is_constant:
        raise ctx.unsupported("the input must be an activation tensor")
    if inp.dtype not in C_TYPES or out.dtype != inp.dtype:
        raise ctx.unsupported(f"types {inp.dtype} -> {out.dtype} are not supported (int8 -> int8, int16 -> int16)")
    for t in (inp, out):
        if t.quantization is None or t.quantization.per_channel:
            raise ctx.unsupported(f"'{t.name}' must be per-tensor quantised")
    if inp.elements == 0:
        raise ctx.unsupported(f"the input is empty ({inp.shape})")
    axes = _axes(ctx, inp)
    keep = bool(ctx.op.options.get("keep_dims", False))
    expected = tuple(1 if d in axes else n for d, n in enumerate(inp.shape)) if keep else \
        tuple(n for d, n in enumerate(inp.shape) if d not in axes)
    if tuple(out.shape) != expected:
        raise ctx.unsupported(f"output shape {out.shape} is not {expected} (input {inp.shape}, axes {axes}, "
                              f"keep_dims {keep})")
    if len(_levels(inp.shape, axes)) > MAX_LEVELS:
        raise ctx.unsupported(f"more than {MAX_LEVELS} alternating reduced and kept dimensions")


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """QuantizeMultiplier(s_in / s_out) divided by ``count`` as QuantizedMeanOrSum does."""
    mult, shift = quantize_multiplier(float(np.float32(input_scale)) / float(np.float32(output_scale)))
    if count > 0:
        up = min(count.bit_length() - 1, 32, 31 + shift)
        mult = (mult << up) // count
        shift -= up
    return mult, shift


def _emit(ctx: EmitContext) -> Emitted:
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None and inp.quantization is not None and out.quantization is not None
    axes = _axes(ctx, inp)
    levels = _levels(inp.shape, axes)
    count = math.prod(inp.shape[a] for a in axes)
    mult, shift = mean_multiplier(inp.quantization.scale, out.quantization.scale, count)
    steps, stride = [], 1
    for n, reduced in reversed(levels):
        steps.append(0 if reduced else stride)
        stride *= 1 if reduced else n
    steps.reverse()
    lo, hi = TYPE_BOUNDS[inp.dtype]
    name = f"tf_n{ctx.op.index}_params"
    ctx.constants.append(
        f"static const tf_mean_params_t {name} = {{.levels = {len(levels)}, .outputs = {out.elements}, "
        f".dim = {{{', '.join(str(n) for n, _ in levels)}}}, .out_step = {{{', '.join(map(str, steps))}}}, "
        f".sum_offset = {int(wrap_int32(np.array([-inp.quantization.zero_point * count]))[0])}, "
        f".mult = {mult}, .shift = {shift}, .output_offset = {out.quantization.zero_point}, "
        f".act_min = {lo}, .act_max = {hi}}};")
    ctype, suffix = C_TYPES[inp.dtype]
    code = (f"tf_mean_{suffix}(&{name}, (const {ctype} *){ctx.pointer(inp.index)}, "
            f"({ctype} *){ctx.pointer(out.index)}, (int32_t *)tf_scratch);")
    return Emitted(code, KERNELS, macs=0, scratch_bytes=4 * out.elements)


MEAN = OpSupport(emit=_emit, check=_check)
