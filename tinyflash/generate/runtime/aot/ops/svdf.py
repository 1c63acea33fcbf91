"""SVDF with int8 input and feature weights, int16 time weights and activation state, int32 bias: the
path TFLM's svdf.cc runs for them (svdf_common.cc EvalIntegerSvdfReference<int16_t>)."""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.recurrent_quant import (TensorRule, check_operand, folded_bias, scale_ok,
                                                                svdf_bias_scale_ok, svdf_multipliers)

KERNELS = frozenset({"tf_svdf.c", "tf_svdf.h", "tf_matvec.c", "tf_matvec.h"})
SIMD_KERNELS = frozenset({"tf_fast.h", "tf_recurrent_simd.h"})
# TFLM's integer SVDF applies no activation (only the int8 clamp): NONE and RELU are what converters
# write; the others would mean the model expects something TFLM does not do
ACTIVATIONS = ("NONE", "RELU")
RULES = (TensorRule(0, "input", ("int8",), False, 2), TensorRule(1, "feature weights", ("int8",), True, 2),
         TensorRule(2, "time weights", ("int16",), True, 2), TensorRule(3, "bias", ("int32",), True, 1),
         TensorRule(4, "activation state", ("int16",), False, 2))


def _check(ctx: EmitContext) -> None:
    if len(ctx.op.inputs) != 5:
        raise ctx.unsupported(f"{len(ctx.op.inputs)} inputs; TFLM's SVDF takes 5")
    inp = ctx.tensor(0)
    if inp is not None and inp.dtype == "float32":
        raise ctx.unsupported("float32 SVDF is not supported (the int8 kernel only)")
    if ctx.tensor(3) is None:
        raise ctx.unsupported("an SVDF without bias is not supported (TFLM's int8 kernel reads the bias' scale)")
    weights_time = ctx.tensor(2)
    if weights_time is not None and weights_time.dtype == "int8":
        raise ctx.unsupported("int8 time weights and state are not supported (int16 only)")
    inp, wf, wt, bias, state = (check_operand(ctx, rule) for rule in RULES)
    out = ctx.output()
    if out.dtype != "int8" or out.quantization is None or out.quantization.per_channel \
            or not scale_ok(out.quantization.scale):
        raise ctx.unsupported(f"the output '{out.name}' must be int8, per-tensor quantised")
    if bias.quantization is None:
        raise ctx.unsupported(f"the bias '{bias.name}' has no scale (TFLM's int8 kernel checks it)")
    if not state.is_variable:
        raise ctx.unsupported(f"the activation state '{state.name}' must be a variable tensor")
    rank = int(ctx.op.options.get("rank", 0))
    batches, input_size = inp.shape
    filters, memory = wt.shape
    if rank < 1 or wf.shape[0] % rank or wf.shape[1] != input_size or wt.shape[0] != wf.shape[0]:
        raise ctx.unsupported(f"rank {rank}, feature weights {wf.shape} and time weights {wt.shape} do not fit "
                              f"the input {inp.shape}")
    units = filters // rank
    if bias.elements != units or out.shape != (batches, units) or state.shape != (batches, memory * filters):
        raise ctx.unsupported(f"bias {bias.shape}, state {state.shape} or output {out.shape} do not fit "
                              f"{batches} batches of {units} units with memory {memory}")
    if ctx.op.options.get("activation", "NONE") not in ACTIVATIONS:
        raise ctx.unsupported(f"fused activation {ctx.op.options.get('activation')} is not supported "
                              "(TFLM's integer SVDF ignores activations; NONE or RELU only)")
    if ctx.op.options.get("asymmetric_quantize_inputs", False):
        raise ctx.unsupported("hybrid (asymmetric_quantize_inputs) SVDF is not supported")
    assert bias.quantization and state.quantization and wt.quantization
    if not svdf_bias_scale_ok(bias.quantization.scale, state.quantization.scale, wt.quantization.scale):
        raise ctx.unsupported("the bias scale is not state scale x time weights scale (TFLM refuses it too)")


def _emit(ctx: EmitContext) -> Emitted:
    inp, wf, wt, bias, state = (ctx.tensor(i) for i in range(5))
    out = ctx.output()
    assert inp and wf and wt and bias and state
    assert inp.quantization and wf.quantization and wt.quantization and state.quantization and out.quantization
    rank = int(ctx.op.options["rank"])
    batches, input_size = inp.shape
    filters, memory = wt.shape
    (mult1, shift1), (mult2, shift2) = svdf_multipliers(
        inp.quantization.scale, wf.quantization.scale, state.quantization.scale, wt.quantization.scale,
        out.quantization.scale)
    params = ctx.params("tf_svdf_params_t", {
        "batches": batches, "input_size": input_size, "filters": filters, "units": filters // rank,
        "rank": rank, "memory": memory, "state_zp": state.quantization.zero_point,
        "output_zp": out.quantization.zero_point, "mult1": mult1, "shift1": shift1, "mult2": mult2,
        "shift2": shift2})
    w_feature = wf.array()
    w_time = wt.array()
    names = {
        "wf": ctx.constant("weights_feature", np.ascontiguousarray(w_feature)),
        "fb": ctx.constant("feature_bias", folded_bias(w_feature, inp.quantization.zero_point)),
        "wt": ctx.constant("weights_time", np.ascontiguousarray(w_time)),
        "tb": ctx.constant("time_bias", folded_bias(w_time, state.quantization.zero_point)),
        "b": ctx.constant("bias", bias.array().astype(np.int32)),
    }
    kernels = KERNELS
    feature, time = "tf_matvec_s8_portable", "tf_svdf_time_portable"
    if ctx.dsp_kernels:
        kernels |= SIMD_KERNELS
        feature, time = "tf_rnn_matvec_s8_simd", "tf_rnn_dot_s16_simd"
    code = (f"tf_svdf_s8_s16(&{params}, {ctx.pointer(inp.index)}, {names['wf']}, {names['fb']}, "
            f"{names['wt']}, {names['tb']}, {names['b']}, (int16_t *){ctx.pointer(state.index)}, "
            f"(int32_t *)tf_scratch, {ctx.pointer(out.index)}, {feature}, {time});")
    macs = batches * filters * (input_size + memory)
    return Emitted(code, kernels, macs=macs, scratch_bytes=4 * filters)


SVDF = OpSupport(emit=_emit, check=_check)
