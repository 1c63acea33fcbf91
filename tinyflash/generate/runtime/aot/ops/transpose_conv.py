"""TRANSPOSE_CONV, int8 activations with per-channel (or per-tensor) int8 weights, and 16x8 (int16
activations, zero point 0, int64 or int16 bias) (TFLM transpose_conv.cc, reference_integer_ops::TransposeConv).

Inputs are (output shape, weights OHWI, input, optional bias); the output shape must be a constant equal
to the output tensor's shape, which is what TFLM computes with."""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.fully_connected import (ACTIVATIONS, FAST_MATMUL_KERNELS, activation_range_s16,
                                                                int64_constant, pair_order)
from tinyflash.generate.runtime.aot.quant import (activation_range, compute_out_size, compute_padding,
                                                  per_channel_real_multiplier, quantize_multiplier)
from tinyflash.model.macs import operator_macs

KERNELS = frozenset({"tf_transpose_conv.h", "tf_transpose_conv.c", "tf_fc16.h"})
# the int8 SIMD kernel widens the whole input into the scratch buffer; beyond this it stays portable
MAX_SIMD_SCRATCH = 64 * 1024
OUTPUT_SHAPE, WEIGHTS, INPUT, BIAS = 0, 1, 2, 3


def _check(ctx: EmitContext) -> None:
    shape_t, weights, inp, bias, out = (ctx.tensor(OUTPUT_SHAPE), ctx.tensor(WEIGHTS), ctx.tensor(INPUT),
                                        ctx.tensor(BIAS), ctx.output())
    if inp is None or inp.is_constant:
        raise ctx.unsupported("the input must be an activation tensor")
    if inp.dtype not in ("int8", "int16") or out.dtype != inp.dtype:
        raise ctx.unsupported(f"input {inp.dtype} and output {out.dtype}: int8 or int16 (16x8), the same for both")
    if weights is None or not weights.is_constant or weights.dtype != "int8" or len(weights.shape) != 4:
        raise ctx.unsupported("weights must be a constant 4-D int8 tensor [out_c, k_h, k_w, in_c]")
    if shape_t is None or not shape_t.is_constant or shape_t.dtype != "int32" or \
            tuple(shape_t.array().reshape(-1).tolist()) != out.shape:
        raise ctx.unsupported(f"the output shape input must be a constant int32 tensor equal to {out.shape}")
    if len(inp.shape) != 4 or len(out.shape) != 4 or min(inp.shape + out.shape) < 1:
        raise ctx.unsupported(f"input {inp.shape} and output {out.shape} must both be 4-D (NHWC)")
    out_c, k_h, k_w, in_c = weights.shape
    if inp.shape[0] != out.shape[0] or inp.shape[3] != in_c or out.shape[3] != out_c:
        raise ctx.unsupported(f"input {inp.shape}, weights {weights.shape} and output {out.shape} do not fit")
    o = ctx.op.options
    if o.get("padding") not in ("SAME", "VALID"):
        raise ctx.unsupported(f"padding {o.get('padding')!r} is not supported")
    for key in ("stride_h", "stride_w"):
        if not isinstance(o.get(key), int) or o[key] < 1:
            raise ctx.unsupported(f"{key} = {o.get(key)} is not supported (must be >= 1)")
    if o.get("activation", "NONE") not in ACTIVATIONS:
        raise ctx.unsupported(f"fused activation {o.get('activation')} is not supported")
    for t, what in ((inp, "input"), (out, "output")):
        if t.quantization is None or t.quantization.per_channel:
            raise ctx.unsupported(f"{what} '{t.name}' must be per-tensor quantised")
        # TFLM's 16x8 kernel ignores activation zero points: a model with others would mean something else
        if inp.dtype == "int16" and t.quantization.zero_point != 0:
            raise ctx.unsupported(f"16x8: {what} '{t.name}' must have zero point 0")
    q = weights.quantization
    if q is None or any(z != 0 for z in q.zero_points):
        raise ctx.unsupported("weights must be quantised with zero point 0")
    if q.per_channel and (q.axis != 0 or len(q.scales) != out_c):
        raise ctx.unsupported(f"per-channel weights on axis {q.axis} with {len(q.scales)} scales; expected "
                              f"axis 0 with {out_c}")
    bias_types = ("int32",) if inp.dtype == "int8" else ("int64", "int16")
    if bias is not None and (bias.dtype not in bias_types or not bias.is_constant or bias.elements != out_c):
        raise ctx.unsupported(f"bias '{bias.name}' must be a constant {' or '.join(bias_types)} tensor of "
                              f"{out_c} values")
    if inp.dtype == "int16" and any(shift >= 8 for _, shift in _requant(ctx)):
        raise ctx.unsupported("an effective output scale of 2^7 or more is not supported (TFLM asserts "
                              "shift < 8 in its int64 requantisation)")


def _requant(ctx: EmitContext) -> list[tuple[int, int]]:
    """PopulateConvolutionQuantizationParams: per output channel, every factor widened to double."""
    weights, inp, out = ctx.tensor(WEIGHTS), ctx.tensor(INPUT), ctx.output()
    assert weights is not None and weights.quantization and inp is not None and inp.quantization
    assert out.quantization is not None
    scales = weights.quantization.scales
    scales = scales if len(scales) > 1 else scales * weights.shape[0]
    return [quantize_multiplier(per_channel_real_multiplier(inp.quantization.scale, s, out.quantization.scale))
            for s in scales]


def _emit(ctx: EmitContext) -> Emitted:
    weights, inp, bias, out = ctx.tensor(WEIGHTS), ctx.tensor(INPUT), ctx.tensor(BIAS), ctx.output()
    assert weights is not None and inp is not None and inp.quantization and out.quantization
    o = ctx.op.options
    out_c, k_h, k_w, in_c = weights.shape
    wide = inp.dtype == "int16"
    # TFLM's padding: ComputePaddingHeightWidth on the output size, as if it were a convolution's input
    pads = []
    for size, k, stride in ((out.shape[1], k_h, o["stride_h"]), (out.shape[2], k_w, o["stride_w"])):
        pads.append(compute_padding(stride, 1, size, k, compute_out_size(o["padding"], size, k, stride)))
    geom = {"batches": inp.shape[0], "in_h": inp.shape[1], "in_w": inp.shape[2], "in_c": in_c,
            "out_h": out.shape[1], "out_w": out.shape[2], "out_c": out_c, "k_h": k_h, "k_w": k_w,
            "stride_h": o["stride_h"], "stride_w": o["stride_w"], "dil_h": 1, "dil_w": 1,
            "pad_h": pads[0], "pad_w": pads[1]}
    pairs = _requant(ctx)
    mult = np.array([m for m, _ in pairs], dtype=np.int32)
    shift = np.array([s for _, s in pairs], dtype=np.int32)
    activation = o.get("activation", "NONE")
    zp_out = out.quantization.zero_point
    act_min, act_max = (activation_range_s16 if wide else activation_range)(activation, out.quantization.scale,
                                                                            zp_out)
    fields = (f"{{.g = {{{', '.join(f'.{k} = {int(v)}' for k, v in geom.items())}}}, "
              f".input_offset = {-inp.quantization.zero_point}, .output_offset = {zp_out}, "
              f".act_min = {act_min}, .act_max = {act_max}}}")
    b = bias.array().astype(np.int64) if bias is not None else np.zeros(out_c, np.int64)
    b_name = int64_constant(ctx, "bias", b) if wide else ctx.constant("bias", b.astype(np.int32))
    m_name, s_name = ctx.constant("mult", mult), ctx.constant("shift", shift)
    macs = operator_macs(ctx.graph, ctx.op)     # every input value times every tap, as the shape count
    w = weights.array().reshape(out_c, -1)
    icp = (in_c + 3) // 4 * 4
    scratch = 0 if wide else geom["in_h"] * geom["in_w"] * icp * 2
    if ctx.dsp_kernels and (in_c % 4 == 0 if wide else scratch <= MAX_SIMD_SCRATCH):
        padded = np.pad(weights.array(), ((0, 0), (0, 0), (0, 0), (0, icp - in_c))).reshape(out_c, -1)
        w_name = ctx.constant("weights", pair_order(padded))
        ctx.constants.append(f"static const tf_fast_tconv_t tf_n{ctx.op.index}_params = {{.t = {fields}, "
                             f".icp = {icp}}};")
        params = f"&tf_n{ctx.op.index}_params"
        call = (f"tf_fast_tconv_s16({params}, (const int16_t *)in, {w_name}, {b_name}, {m_name}, {s_name}, "
                f"(int16_t *)out);" if wide else
                f"tf_fast_tconv_s8({params}, in, {w_name}, {b_name}, {m_name}, {s_name}, (int16_t *)tf_scratch, "
                f"out);")
        code = ctx.layer_function("TF_LAYER_ATTRS", call, {"in": inp.index, "out": out.index})
        return Emitted(code, FAST_MATMUL_KERNELS, macs=macs, scratch_bytes=scratch)
    ctx.constants.append(f"static const tf_tconv_params_t tf_n{ctx.op.index}_params = {fields};")
    w_name = ctx.constant("weights", np.ascontiguousarray(w))
    ctype = "int16_t" if wide else "int8_t"
    code = (f"tf_transpose_conv_{'s16' if wide else 's8'}(&tf_n{ctx.op.index}_params, "
            f"(const {ctype} *){ctx.pointer(inp.index)}, {w_name}, {b_name}, {m_name}, {s_name}, "
            f"({ctype} *){ctx.pointer(out.index)});")
    return Emitted(code, KERNELS, macs=macs)



TRANSPOSE_CONV = OpSupport(emit=_emit, check=_check)
