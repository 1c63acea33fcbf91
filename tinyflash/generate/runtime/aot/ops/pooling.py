"""AVERAGE_POOL_2D and MAX_POOL_2D int8 (TFLM reference_integer_ops semantics)."""

from __future__ import annotations

from typing import Any

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport, require_int8
from tinyflash.generate.runtime.aot.ops.conv import check_spatial, geometry
from tinyflash.generate.runtime.aot.ops.mve_requant import ATTRS as MVE_ATTRS, PAIR, kernels as mve_kernels
from tinyflash.generate.runtime.aot.quant import activation_range

KERNEL = "tf_pool.c"
MVE_KERNEL = "tf_mve_pool.h"


def _check(ctx: EmitContext) -> None:
    require_int8(ctx, 0)
    inp, out = ctx.tensor(0), ctx.output()
    if inp is None or inp.is_constant:
        raise ctx.unsupported("the input must be an activation tensor")
    o = ctx.op.options
    check_spatial(ctx, inp.shape, out.shape, o.get("filter_h", 0), o.get("filter_w", 0))
    if inp.shape[3] != out.shape[3]:
        raise ctx.unsupported(f"input depth {inp.shape[3]} differs from output depth {out.shape[3]}")
    qi, qo = inp.quantization, out.quantization
    if qi is None or qo is None:
        raise ctx.unsupported("input and output must be quantised")
    if (qi.scale, qi.zero_point) != (qo.scale, qo.zero_point) or qi.per_channel or qo.per_channel:
        raise ctx.unsupported("input and output quantisation differ (no rescaling in int8 pooling)")


def _emit(ctx: EmitContext, fn: str) -> Emitted:
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None and out.quantization is not None
    o = ctx.op.options
    geom = geometry(ctx, inp.shape, out.shape, o["filter_h"], o["filter_w"])
    act_min, act_max = activation_range(o.get("activation", "NONE"), out.quantization.scale,
                                        out.quantization.zero_point)
    if ctx.mve_kernels and fn == "tf_avg_pool_s8":
        return _emit_mve_avg(ctx, geom, act_min, act_max)
    name = f"tf_n{ctx.op.index}_params"
    ginit = ", ".join(f".{k} = {int(v)}" for k, v in geom.items())
    ctx.constants.append(f"static const tf_pool_params_t {name} = {{.g = {{{ginit}}}, "
                         f".act_min = {act_min}, .act_max = {act_max}}};")
    code = f"{fn}(&{name}, {ctx.pointer(inp.index)}, {ctx.pointer(out.index)});"
    return Emitted(code, frozenset({KERNEL}), macs=0)


def _emit_mve_avg(ctx: EmitContext, geom: dict[str, Any], act_min: int, act_max: int) -> Emitted:
    """Helium AVERAGE_POOL_2D (tf_mve_pool.h): vector sums per channel, scalar rounding divisions
    (scratch: the sums)."""
    index = ctx.op.index
    wide = int(geom["k_h"] * geom["k_w"] * 128 > 2**15 - 1)
    ginit = ", ".join(f".{key} = {int(v)}" for key, v in geom.items())
    ctx.constants.append(f"static const tf_mve_pool_t tf_n{index}_params = {{.g = {{{ginit}}}, "
                         f".act_min = {act_min}, .act_max = {act_max}, .wide = {wide}}};")
    inp, out = ctx.op.inputs[0], ctx.op.outputs[0]
    code = ctx.layer_function(MVE_ATTRS, f"tf_mve_avg_pool_s8(&tf_n{index}_params, in, "
                                         f"(int32_t *)(void *)tf_scratch, out);", {"in": inp, "out": out})
    return Emitted(code, mve_kernels(MVE_KERNEL), macs=0, scratch_bytes=-(-geom["in_c"] // PAIR) * PAIR * 4)


AVERAGE_POOL_2D = OpSupport(emit=lambda ctx: _emit(ctx, "tf_avg_pool_s8"), check=_check)
MAX_POOL_2D = OpSupport(emit=lambda ctx: _emit(ctx, "tf_max_pool_s8"), check=_check)
