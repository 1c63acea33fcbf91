"""LOGISTIC, TANH, HARD_SWISH, RELU, RELU6, LEAKY_RELU (TFLM logistic.cc, tanh.cc, hard_swish.cc,
activations.cc, leaky_relu.cc). int8: a 256-entry table of TFLM's arithmetic (ops/lut.py). int16: RELU,
RELU6, LEAKY_RELU, LOGISTIC and TANH in tf_activation.c, the last two interpolating in the sigmoid table
of quant.sigmoid_table_q16 (shared with the LSTM) as TFLM's reference_integer_ops do."""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.lut import (INPUT_BYTES, emit_lut, hard_swish_table, leaky_relu_values,
                                                    logistic_table, lut_overwrites, sigmoid_params, tanh_table)
from tinyflash.generate.runtime.aot.ops.quantize import RANGES, elementwise_tensors, per_tensor
from tinyflash.generate.runtime.aot.quant import quantize_multiplier, round_half_away, sigmoid_table_q16
from tinyflash.model.graph import Tensor

KERNELS = frozenset({"tf_activation.c", "tf_activation.h"})


def _tensors(ctx: EmitContext, types: tuple[str, ...]) -> tuple[Tensor, Tensor]:
    inp, out = elementwise_tensors(ctx)
    if inp.dtype != out.dtype or inp.dtype not in types:
        raise ctx.unsupported(f"{inp.dtype} -> {out.dtype} is not supported; supported: "
                              + ", ".join(f"{t} -> {t}" for t in types))
    per_tensor(ctx, inp, out)
    return inp, out


def _q(t: Tensor) -> tuple[float, int]:
    assert t.quantization is not None
    return float(np.float32(t.quantization.scale)), t.quantization.zero_point


# -- LOGISTIC, TANH: int8 as tables; int16 interpolating in the sigmoid table (tf_activation.c)

def _checked_log2(scale: float) -> tuple[bool, int]:
    """TFLite CheckedLog2 in its float32 arithmetic: (within 1e-3 of an integer, that integer). ValueError
    where the answer is too close to a tie for numpy's logf to stand in for the C library's."""
    f32 = np.float32
    exact = float(np.log2(float(f32(scale))))
    fraction = abs(exact - round_half_away(exact))
    if abs(fraction - 1e-3) < 1e-5 or abs(fraction - 0.5) < 1e-5:
        raise ValueError(f"scale {scale} is too close to TFLM's power-of-two tolerance to tell which "
                         "arithmetic TFLM takes")
    log2 = f32(np.log(f32(scale))) * (f32(1.0) / f32(np.log(f32(2.0))))
    rounded = round_half_away(float(log2))
    return bool(abs(log2 - f32(rounded)) < f32(1e-3)), rounded


def sigmoid16_params(opcode: str, input_scale: float, output_scale: float) -> tuple[int, int]:
    """(multiplier, right shift) of reference_integer_ops Logistic/Tanh (int16) as TFLM's Prepare
    (CalculateArithmeticOpDataLogistic, tanh.cc CalculateArithmeticOpData) and the kernel's power-of-two
    substitution leave them: the input is rescaled by (x * multiplier + round) >> shift to steps of
    1/(3 * 4096), the table's knots being 1/24 apart. ValueError for what TFLM refuses or computes with int32 overflow."""
    output_pot, output_log2 = _checked_log2(output_scale)
    if not output_pot or output_log2 != -15:
        raise ValueError(f"output scale must be 2^-15 (TFLM requires it), is {output_scale:g}")
    pot, log2 = _checked_log2(input_scale)
    left_shift = 12 + log2
    if pot and (left_shift == 0 or (opcode == "TANH" and left_shift == 1)):
        return 3 << left_shift, 0       # input scale 2^-12 (tanh also 2^-11): the kernel's 3 << shift
    multiplier, shift = float(np.float32(input_scale)) * 4096.0 * 3.0, 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    if int(multiplier) == 0:
        # TFLM would take a zero multiplier for its power-of-two case and shift 3 by 31
        raise ValueError(f"input scale {input_scale:g} is too small for TFLM's int16 sigmoid arithmetic")
    if int(multiplier) > 65535:
        # x * multiplier overflows int32 for some int16 x: undefined in TFLM's kernel
        raise ValueError(f"input scale {input_scale:g} is too large for TFLM's int16 sigmoid arithmetic "
                         f"(at most {65535 / 12288:.4f})")
    return int(multiplier), shift


def _check_sigmoid(ctx: EmitContext) -> None:
    inp, out = _tensors(ctx, ("int8", "int16"))
    if inp.dtype == "int16":
        if (_q(inp)[1], _q(out)[1]) != (0, 0):
            raise ctx.unsupported("int16 input and output must have zero point 0 (TFLM requires it)")
        try:
            sigmoid16_params(ctx.op.opcode, _q(inp)[0], _q(out)[0])
        except ValueError as exc:
            raise ctx.unsupported(str(exc)) from None
        return
    if ctx.op.opcode == "LOGISTIC" and _q(out)[1] != -128:
        raise ctx.unsupported(f"int8 output must have zero point -128 (TFLM requires it), has {_q(out)[1]}")
    try:
        sigmoid_params(_q(inp)[0])
    except ValueError as exc:
        raise ctx.unsupported(str(exc)) from None


def _emit_sigmoid16(ctx: EmitContext) -> Emitted:
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    multiplier, shift = sigmoid16_params(ctx.op.opcode, _q(inp)[0], _q(out)[0])
    table = ctx.shared_table("tf_sigmoid_q16", sigmoid_table_q16())
    function = "tf_logistic_s16" if ctx.op.opcode == "LOGISTIC" else "tf_tanh_s16"
    code = (f"{function}({table}, {multiplier}, {shift}, (const int16_t *){ctx.pointer(inp.index)}, "
            f"(int16_t *){ctx.pointer(out.index)}, {inp.elements});")
    return Emitted(code, KERNELS)


def _emit_logistic(ctx: EmitContext) -> Emitted:
    inp = ctx.tensor(0)
    assert inp is not None
    if inp.dtype == "int16":
        return _emit_sigmoid16(ctx)
    return emit_lut(ctx, logistic_table(*_q(inp)))


def _emit_tanh(ctx: EmitContext) -> Emitted:
    inp = ctx.tensor(0)
    assert inp is not None
    if inp.dtype == "int16":
        return _emit_sigmoid16(ctx)
    return emit_lut(ctx, tanh_table(*_q(inp)))


# -- HARD_SWISH: int8 only

def _check_hard_swish(ctx: EmitContext) -> None:
    inp, out = _tensors(ctx, ("int8",))
    try:
        hard_swish_table(*_q(inp), *_q(out))
    except ValueError as exc:
        raise ctx.unsupported(str(exc)) from None


def _emit_hard_swish(ctx: EmitContext) -> Emitted:
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    return emit_lut(ctx, hard_swish_table(*_q(inp), *_q(out)))


# -- RELU, LEAKY_RELU: a requantisation per sign; RELU6: a clamp

def _relu_params(ctx: EmitContext) -> dict[str, int]:
    """tf_rescale_params_t of CalculateReluOpData / CalculateOpDataLeakyRelu. The golden (the tflite-micro
    package) divides the float32 scales in double, as checked on every int16 input; older TFLM sources
    divide in float32 first."""
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    (in_scale, in_zp), (out_scale, out_zp) = _q(inp), _q(out)
    pos = quantize_multiplier(in_scale / out_scale)
    lo, hi = RANGES[out.dtype]
    if ctx.op.opcode == "RELU":
        neg, negate, lo = pos, 0, max(lo, out_zp)
    else:
        alpha = float(np.float32(ctx.op.options.get("alpha", 0.2)))
        neg = quantize_multiplier(in_scale * alpha / out_scale)
        negate = int(neg[0] < 0)
        neg = (abs(neg[0]), neg[1])
    for multiplier, shift in (pos, neg):
        if shift > 30 or multiplier >= 2**31:
            raise ctx.unsupported(f"scale ratio {in_scale / out_scale:g} is too large")
    return {"input_offset": in_zp, "output_offset": out_zp, "pos_multiplier": pos[0], "pos_shift": pos[1],
            "neg_multiplier": neg[0], "neg_shift": neg[1], "negate_neg": negate, "act_min": lo, "act_max": hi}


def _check_rescale(ctx: EmitContext) -> None:
    inp, out = _tensors(ctx, ("int8", "int16"))
    if ctx.op.opcode == "RELU" and inp.dtype == "int16" and (_q(inp)[1], _q(out)[1]) != (0, 0):
        raise ctx.unsupported("int16 input and output must have zero point 0 (TFLM requires it)")
    _relu_params(ctx)


def _emit_rescale(ctx: EmitContext) -> Emitted:
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    p = _relu_params(ctx)
    if inp.dtype == "int8":
        signed = -1 if p["negate_neg"] else 1
        table = leaky_relu_values(INPUT_BYTES, p["input_offset"], p["output_offset"],
                                  (p["pos_multiplier"], p["pos_shift"]),
                                  (signed * p["neg_multiplier"], p["neg_shift"]), p["act_min"], p["act_max"])
        return emit_lut(ctx, table)
    params = ctx.params("tf_rescale_params_t", p)
    code = (f"tf_rescale_s16(&{params}, (const int16_t *){ctx.pointer(inp.index)}, "
            f"(int16_t *){ctx.pointer(out.index)}, {inp.elements});")
    return Emitted(code, KERNELS)


def _relu6_range(inp: Tensor) -> tuple[int, int]:
    """Relu6Prepare: the input's own zero point and FloatToQuantizedType(6.0f) (float division, rounded
    half away, clamped to the type). The output's quantisation is not used: TFLM clamps the input bytes."""
    scale, zero_point = _q(inp)
    lo, hi = RANGES[inp.dtype]
    six = round_half_away(float(np.float32(6.0) / np.float32(scale))) + zero_point
    return zero_point, min(max(six, lo), hi)


def _check_relu6(ctx: EmitContext) -> None:
    _tensors(ctx, ("int8", "int16"))


def _emit_relu6(ctx: EmitContext) -> Emitted:
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    zero, six = _relu6_range(inp)
    if inp.dtype == "int8":
        values = INPUT_BYTES
        return emit_lut(ctx, np.where(values > six, six, np.where(values < zero, zero, values)))
    code = (f"tf_clamp_s16((const int16_t *){ctx.pointer(inp.index)}, (int16_t *){ctx.pointer(out.index)}, "
            f"{inp.elements}, {zero}, {six});")
    return Emitted(code, KERNELS)


LOGISTIC = OpSupport(emit=_emit_logistic, check=_check_sigmoid, overwrites=lut_overwrites)
TANH = OpSupport(emit=_emit_tanh, check=_check_sigmoid, overwrites=lut_overwrites)
HARD_SWISH = OpSupport(emit=_emit_hard_swish, check=_check_hard_swish, overwrites=lut_overwrites)
RELU = OpSupport(emit=_emit_rescale, check=_check_rescale, overwrites=lut_overwrites)
LEAKY_RELU = OpSupport(emit=_emit_rescale, check=_check_rescale, overwrites=lut_overwrites)
RELU6 = OpSupport(emit=_emit_relu6, check=_check_relu6, overwrites=lut_overwrites)
