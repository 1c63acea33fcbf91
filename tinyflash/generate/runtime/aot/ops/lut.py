"""Element-wise operators on int8 inputs as 256-entry tables (#13): the output of QUANTIZE, DEQUANTIZE and
the int8 activations depends only on the input byte, so the table is TFLM's integer arithmetic run here, at
generation time, on every byte, and the kernel is one load per element (tf_lut.c).

The functions below reproduce TFLM's reference kernels on Python ints with C's int32/int16 semantics:
gemmlowp's fixed point (fixedpoint.h: exp_on_negative_values, logistic, tanh) for LOGISTIC and TANH,
reference_ops::HardSwish's int16 arithmetic, MultiplyByQuantizedMultiplier for the rest (quant.py).
"""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted
from tinyflash.generate.runtime.aot.quant import (multiply_by_quantized_multiplier, quantize_multiplier,
                                                  round_half_away)

INT32_MIN, INT32_MAX = -2**31, 2**31 - 1
INT16_MIN, INT16_MAX = -2**15, 2**15 - 1
INPUT_BYTES = np.arange(-128, 128, dtype=np.int64)      # table index i holds the output of int8 i - 128


def wrap32(x: int) -> int:
    return (x + 2**31) % 2**32 - 2**31


def wrap16(x: int) -> int:
    return (x + 2**15) % 2**16 - 2**15


def _div_trunc(a: int, b: int) -> int:
    """C's integer division (toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def srdhm(a: int, b: int, bits: int = 32) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul for int32 (bits 32) or int16 (bits 16)."""
    lo = -(1 << (bits - 1))
    if a == b == lo:
        return -lo - 1
    ab = a * b
    nudge = (1 << (bits - 2)) if ab >= 0 else 1 - (1 << (bits - 2))
    return _div_trunc(ab + nudge, 1 << (bits - 1))


def rdbpot(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT (halves away from zero)."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def saturating_rounding_mul_pot(x: int, exponent: int) -> int:
    """gemmlowp SaturatingRoundingMultiplyByPOT<exponent> on int32."""
    if exponent < 0:
        return rdbpot(x, -exponent)
    if exponent == 0:
        return x
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return x << exponent


def _exp_on_quarter_interval(a: int) -> int:
    """exp on [-1/4, 0), Q0.31 in and out: a Taylor expansion around -1/8 (gemmlowp)."""
    constant_term, one_third = 1895147668, 715827883
    x = wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    poly = rdbpot(wrap32(srdhm(wrap32(x4_over_4 + x3), one_third) + x2), 1)
    return wrap32(constant_term + srdhm(constant_term, wrap32(x + poly)))


# exp(-2^k) in Q0.31 for the barrel shifter of exp_on_negative_values, k = -2 .. 4
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535),
               (3, 720401), (4, 242))


def exp_on_negative_values(a: int, integer_bits: int) -> int:
    """gemmlowp exp_on_negative_values: a <= 0 with ``integer_bits`` (at most 5 here), result Q0.31."""
    assert integer_bits <= 5
    fractional = 31 - integer_bits
    one_quarter = 1 << (fractional - 2)
    a_mod_quarter = wrap32((a & (one_quarter - 1)) - one_quarter)
    result = _exp_on_quarter_interval(saturating_rounding_mul_pot(a_mod_quarter, integer_bits))
    remainder = wrap32(a_mod_quarter - a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent and remainder & (1 << (fractional + exponent)):
            result = srdhm(result, multiplier)
    return INT32_MAX if a == 0 else result


def _newton_reciprocal(a: int) -> int:
    """x ~ 1 / ((1 + a) / 2) in Q2.29 by three Newton-Raphson steps from 48/17 - 32/17 d (gemmlowp)."""
    total = a + INT32_MAX             # RoundingHalfSum(a, One) in 64 bits
    half_denominator = _div_trunc(total + (1 if total >= 0 else -1), 2)
    x = wrap32(1515870810 + srdhm(half_denominator, -1010580540))
    for _ in range(3):
        one_minus = wrap32((1 << 29) - srdhm(half_denominator, x))
        x = wrap32(x + saturating_rounding_mul_pot(srdhm(x, one_minus), 2))
    return x


def logistic_q4(a: int) -> int:
    """gemmlowp logistic of a Q4.27 value, Q0.31 result."""
    if a == 0:
        return 1 << 30
    magnitude = a if a > 0 else wrap32(-a)
    # one_over_one_plus_x_for_x_in_0_1: x / 2 rescaled from Q1.30 to Q0.31
    positive = saturating_rounding_mul_pot(_newton_reciprocal(exp_on_negative_values(wrap32(-magnitude), 4)), 1)
    return positive if a > 0 else wrap32(INT32_MAX - positive)


def tanh_q4(a: int) -> int:
    """gemmlowp tanh of a Q4.27 value, Q0.31 result: (1 - e^-2|a|) / (1 + e^-2|a|) with the sign of a."""
    if a == 0:
        return 0
    negative = a if a < 0 else wrap32(-a)
    # exp_on_negative_values of 2 * negative: the same raw value read as Q5.26
    t = saturating_rounding_mul_pot(wrap32(_newton_reciprocal(exp_on_negative_values(negative, 5)) - (1 << 29)), 2)
    return wrap32(-t) if a < 0 else t


def input_radius(integer_bits: int, left_shift: int) -> int:
    """TFLite CalculateInputRadius with 31 total signed bits."""
    return int(np.floor(((1 << integer_bits) - 1) * float(1 << (31 - integer_bits)) / float(1 << left_shift)))


def sigmoid_params(input_scale: float) -> tuple[int, int, int]:
    """(multiplier, left shift, radius) of TFLM's int8 LOGISTIC/TANH prepare: scale * 2^27 split by frexp,
    the mantissa rounded to Q31. ValueError where TFLM's arithmetic would overflow."""
    real = float(np.float32(input_scale)) * float(1 << 27)
    q, shift = np.frexp(real)
    multiplier = round_half_away(float(q) * float(1 << 31))
    if multiplier >= 2**31 or not 0 <= int(shift) <= 31:
        raise ValueError(f"input scale {input_scale} is outside what TFLM's int8 sigmoid arithmetic handles")
    return multiplier, int(shift), input_radius(4, int(shift))


def logistic_table(input_scale: float, input_zero_point: int) -> np.ndarray:
    """reference_integer_ops::Logistic (int8) on every input byte; the output zero point is -128."""
    multiplier, shift, radius = sigmoid_params(input_scale)
    out = []
    for v in INPUT_BYTES.tolist():
        x = v - input_zero_point
        if x <= -radius:
            out.append(-128)
        elif x >= radius:
            out.append(127)
        else:
            q0 = logistic_q4(multiply_by_quantized_multiplier(x, multiplier, shift))
            out.append(min(max(rdbpot(q0, 23) - 128, -128), 127))
    return np.array(out, dtype=np.int8)


def tanh_table(input_scale: float, input_zero_point: int) -> np.ndarray:
    """reference_integer_ops::Tanh (int8) on every input byte; the output zero point is 0."""
    multiplier, shift, radius = sigmoid_params(input_scale)
    out = []
    for v in INPUT_BYTES.tolist():
        x = v - input_zero_point
        if x <= -radius:
            out.append(-128)
        elif x >= radius:
            out.append(127)
        else:
            q0 = tanh_q4(multiply_by_quantized_multiplier(x, multiplier, shift))
            out.append(min(max(rdbpot(q0, 24), -128), 127))
    return np.array(out, dtype=np.int8)


def _downscale_to_int16(multiplier: int) -> int:
    """TFLite DownScaleInt32ToInt16Multiplier."""
    if multiplier >= INT32_MAX - (1 << 15):
        return INT16_MAX
    return (multiplier + (1 << 15)) >> 16


def _saturating_left_shift16(value: int, amount: int) -> int:
    return min(max(value * (1 << amount), INT16_MIN), INT16_MAX)


def hard_swish_table(input_scale: float, input_zero_point: int, output_scale: float,
                     output_zero_point: int) -> np.ndarray:
    """reference_ops::HardSwish (int8) on every input byte, with HardSwishPrepare's float32 scales.
    ValueError when TFLM refuses the scales (a positive output exponent)."""
    f32 = np.float32
    hires_scale = f32(1.0 / 128.0) * f32(input_scale)
    out_mult, out_exp = quantize_multiplier(float(f32(hires_scale / f32(output_scale))))
    relu_mult, relu_exp = quantize_multiplier(float(f32(hires_scale / f32(3.0 / 32768.0))))
    if out_exp > 0:
        raise ValueError(f"output scale {output_scale} is too small for the input scale {input_scale} "
                         "(TFLM requires a multiplier below one)")
    if relu_exp > 15:
        raise ValueError(f"input scale {input_scale} is too large for TFLM's hard-swish arithmetic")
    out16, relu16 = _downscale_to_int16(out_mult), _downscale_to_int16(relu_mult)
    out = []
    for v in INPUT_BYTES.tolist():
        x = wrap16(v - input_zero_point)
        hires = wrap16(x * 128)
        preshift = srdhm(hires, out16, 16)
        reluish = hires
        if relu_exp > 0:
            reluish = _saturating_left_shift16(reluish, relu_exp - 1)
        reluish = srdhm(reluish, relu16, 16)
        if relu_exp > 0:
            reluish = _saturating_left_shift16(reluish, 1)
        if relu_exp < 0:
            reluish = rdbpot(reluish, -relu_exp)
        reluish = (reluish + (1 << 15)) >> 1
        # SaturatingDoublingHighMul: truncating, not rounding
        product = INT16_MAX if reluish == preshift == INT16_MIN else wrap16(_div_trunc(reluish * preshift, 1 << 15))
        value = wrap16(rdbpot(product, -out_exp) + output_zero_point)
        out.append(min(max(value, -128), 127))
    return np.array(out, dtype=np.int8)


def requantize_values(values: np.ndarray, multiplier: int, shift: int, input_zero_point: int,
                      output_zero_point: int, lo: int, hi: int) -> np.ndarray:
    """reference_ops::Requantize / ReluQuantized: zp_out + MultiplyByQuantizedMultiplier(v - zp_in), clamped."""
    return np.array([min(max(output_zero_point + multiply_by_quantized_multiplier(
        v - input_zero_point, multiplier, shift), lo), hi) for v in values.tolist()], dtype=np.int64)


def leaky_relu_values(values: np.ndarray, input_zero_point: int, output_zero_point: int,
                      identity: tuple[int, int], alpha: tuple[int, int], lo: int, hi: int) -> np.ndarray:
    """reference_ops::QuantizeLeakyRelu: a negative alpha multiplier is applied to the magnitude and the
    product negated."""
    out = []
    for v in values.tolist():
        x = v - input_zero_point
        if x >= 0:
            y = multiply_by_quantized_multiplier(x, *identity)
        else:
            y = multiply_by_quantized_multiplier(x, abs(alpha[0]), alpha[1])
            y = -y if alpha[0] < 0 else y
        out.append(min(max(output_zero_point + y, lo), hi))
    return np.array(out, dtype=np.int64)


_LUT_TYPES = {"int8": ("tf_lut_s8", np.int8, "int8_t"), "int16": ("tf_lut_s8_s16", np.int16, "int16_t"),
              "int32": ("tf_lut_s8_s32", np.int32, "int32_t")}


def lut_overwrites(ctx: EmitContext) -> tuple[int, ...]:
    """OpSupport.overwrites of the operators whose int8 -> int8 form is one lookup per element: each
    byte is read before its place is written, so the output can take the input's buffer."""
    inp, out = ctx.tensor(0), ctx.output()
    same = inp is not None and inp.dtype == out.dtype == "int8" and inp.elements == out.elements
    return (0,) if same else ()


def emit_lut(ctx: EmitContext, table: np.ndarray) -> Emitted:
    """One table lookup per element of the int8 input 0; the table's type is the output's."""
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None and table.shape == (256,)
    function, dtype, ctype = _LUT_TYPES[out.dtype]
    name = ctx.constant("lut", table.astype(dtype))
    code = (f"{function}({name}, {ctx.pointer(inp.index)}, ({ctype} *){ctx.pointer(out.index)}, "
            f"{inp.elements});")
    return Emitted(code, frozenset({"tf_lut.c", "tf_lut.h"}))


def emit_float_lut(ctx: EmitContext, table: np.ndarray) -> Emitted:
    """As emit_lut for a float32 output (DEQUANTIZE): the table's floats written exactly (hex literals)."""
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None and table.shape == (256,)
    name = f"tf_n{ctx.op.index}_lut"
    values = [float(v).hex() + "f" for v in table.astype(np.float32).tolist()]
    rows = ",\n    ".join(", ".join(values[i:i + 8]) for i in range(0, 256, 8))
    ctx.constants.append(f"static const float {name}[256] __attribute__((aligned(4))) = {{\n    {rows}\n}};")
    code = f"tf_lut_s8_f32({name}, {ctx.pointer(inp.index)}, (float *){ctx.pointer(out.index)}, {inp.elements});"
    return Emitted(code, frozenset({"tf_lut.c", "tf_lut.h"}))
