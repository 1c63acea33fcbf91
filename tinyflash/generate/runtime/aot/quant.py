"""Fixed-point parameters computed exactly as TFLite/TFLM compute them, so kernels are bit-exact.

References: tensorflow/lite/kernels/internal/quantization_util.cc (QuantizeMultiplier) and
tensorflow/lite/kernels/kernel_util.cc (GetQuantizedConvolutionMultipler,
CalculateActivationRangeQuantized, PopulateConvolutionQuantizationParams).
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127


def round_half_away(x: float) -> int:
    """C's std::round (TfLiteRound): halves go away from zero, unlike Python's round()."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(multiplier Q31, shift) with real = multiplier * 2^(shift - 31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def fc_real_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> float:
    # TFLM multiplies the two float32 scales in float32, then divides in double.
    product = float(np.float32(input_scale) * np.float32(filter_scale))
    return product / float(np.float32(output_scale))


def per_channel_real_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> float:
    # PopulateConvolutionQuantizationParams: every factor widened to double first.
    return float(np.float32(input_scale)) * float(np.float32(filter_scale)) / float(np.float32(output_scale))


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    def quantize(value: float) -> int:
        return zero_point + round_half_away(float(np.float32(value) / np.float32(scale)))

    if activation == "NONE":
        return INT8_MIN, INT8_MAX
    if activation == "RELU":
        return max(INT8_MIN, quantize(0.0)), INT8_MAX
    if activation == "RELU6":
        return max(INT8_MIN, quantize(0.0)), min(INT8_MAX, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(INT8_MIN, quantize(-1.0)), min(INT8_MAX, quantize(1.0))
    raise ValueError(activation)


def wrap_int32(values: np.ndarray) -> np.ndarray:
    """int64 values reduced modulo 2^32 to int32, as the device's int32 arithmetic wraps."""
    return ((np.asarray(values, dtype=np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def quantize_multiplier_smaller_than_one(real: float) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: as quantize_multiplier, the shift must be <= 0."""
    multiplier, shift = quantize_multiplier(real)
    if shift > 0:
        raise ValueError(f"multiplier {real} is not smaller than one")
    return multiplier, shift


def compute_out_size(padding: str, in_size: int, filter_size: int, stride: int, dilation: int = 1) -> int:
    """TFLite's ComputeOutSize."""
    effective = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    if padding == "VALID":
        return (in_size + stride - effective) // stride
    raise ValueError(padding)


def compute_padding(stride: int, dilation: int, in_size: int, filter_size: int, out_size: int) -> int:
    """TFLite's ComputePaddingWithOffset: the leading (top/left) padding; the odd remainder (offset)
    goes to the trailing side, which the kernels never need explicitly."""
    effective = (filter_size - 1) * dilation + 1
    total = max(0, (out_size - 1) * stride + effective - in_size)
    return total // 2


def add_params(input1_scale: float, input2_scale: float, output_scale: float,
               left_shift: int = 20) -> dict[str, int]:
    """TFLM add_common.cc CalculateOpDataAdd for int8 (left_shift 20): multipliers from the doubled
    larger input scale, all in double from the float32 scales."""
    s1, s2, so = (float(np.float32(s)) for s in (input1_scale, input2_scale, output_scale))
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = quantize_multiplier_smaller_than_one(s1 / twice_max)
    m2, sh2 = quantize_multiplier_smaller_than_one(s2 / twice_max)
    mo, sho = quantize_multiplier_smaller_than_one(twice_max / ((1 << left_shift) * so))
    return {"left_shift": left_shift, "in1_mult": m1, "in1_shift": sh1, "in2_mult": m2, "in2_shift": sh2,
            "out_mult": mo, "out_shift": sho}


SOFTMAX_SCALED_DIFF_INTEGER_BITS = 5


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) as TFLM's CalculateSoftmaxParams for int8:
    PreprocessSoftmaxScaling (double-rounding build) and CalculateInputRadius."""
    bits = SOFTMAX_SCALED_DIFF_INTEGER_BITS
    max_real = float((1 << 31) - 1)
    real = min(float(np.float32(beta)) * float(np.float32(input_scale)) * float(1 << (31 - bits)), max_real)
    multiplier, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise ValueError(f"softmax input multiplier {real} is smaller than one")
    max_input_rescaled = 1.0 * ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << left_shift)
    diff_min = -int(math.floor(max_input_rescaled))
    return multiplier, left_shift, diff_min


def fast_requant(multipliers: np.ndarray, shifts: np.ndarray, bias: np.ndarray, weight_abs_sums: np.ndarray,
                 output_offset: int) -> np.ndarray | None:
    """Per-channel rows (mult, left, right, round) of tf_fast.h's tf_rq, or None when a channel is
    outside the range where it equals TFLite's requantisation.

    tf_rq computes smmulr(acc << (left + 1), mult) = (2 acc m + 2^31) >> 32, which is the rounding
    doubling high multiply when 2 acc 2^left fits in int32; then (r + sign(r) + round) >> right with
    round = 2^(right-1) + output_offset 2^right, which is the rounding right shift (halves away
    from zero) plus the offset when right >= 1 and nothing overflows. |acc| is bounded by
    |bias| + 128 sum|w| since inputs are int8.

    A channel whose result does not depend on the input (all-zero weights, as pruned channels have,
    often with a huge bias; multiplier 0; or a right shift beyond the largest |r|) becomes the
    constant row (0, 1, 1, 1 + 2 value): smmulr gives 0 and (0 + 0 + 1 + 2 value) >> 1 = value."""
    rows = []
    for m, shift, b, wsum in zip(multipliers.tolist(), shifts.tolist(), bias.tolist(), weight_abs_sums.tolist()):
        left, right = max(int(shift), 0), max(-int(shift), 0)
        if wsum == 0:
            # the output is the bias alone; clamped just past int8 (the kernel saturates to int8 anyway) so a
            # huge bias cannot overflow the int32 row (found by the model fuzzer, #11)
            value = min(max(multiply_by_quantized_multiplier(int(b), int(m), int(shift)) + output_offset, -129), 128)
            rows.append((0, 1, 1, 1 + 2 * value))
            continue
        acc_bound = (abs(int(b)) + 128 * int(wsum)) << left
        if 2 * acc_bound >= 2**31:
            return None
        r_bound = (acc_bound * abs(int(m)) >> 31) + 1
        if m == 0 or (right >= 1 and r_bound < 1 << (right - 1)):
            rows.append((0, 1, 1, 1 + 2 * output_offset))
            continue
        if m < 0 or not 1 <= right <= 30:
            return None
        rounding = (1 << (right - 1)) + output_offset * (1 << right)
        if r_bound + 1 + abs(rounding) >= 2**31:
            return None
        rows.append((int(m), left + 1, right, rounding))
    return np.array(rows, dtype=np.int32)


def shared_shift_requant(rows: np.ndarray, bias: np.ndarray, weight_abs_sums: np.ndarray,
                         output_offset: int) -> tuple[np.ndarray, int] | None:
    """fast_requant's rows rewritten so every channel shares one right shift R, or None.

    Only for layers whose act_min >= output offset (tf_rq's one-rounding form): there, for
    x = acc << (left - 1), the result is floor((x m + 2^30 + 2^(30+right)) / 2^(31+right)) + offset
    (the rounding doubling high multiply and the rounding right shift compose into one floor on the
    side that is not clamped). Scaling that fraction by 2^(1+d), d = R - right >= 1, gives
    floor(SMMLA(acc << (left + d), m, round') / 2^R) with round' = 2^(d-1) + 2^(R-1) + offset 2^R:
    SMMLA's truncation is the floor, and the shift by the layer's constant R folds into SSAT. The
    price is d more bits of headroom for acc << (left + d), checked here against |bias| + 128 sum|w|.
    Rows become (mult, left + d, R, round'); constant rows (mult 0) keep their value."""
    if len(rows) == 0:
        return None
    variable = rows[:, 0] != 0
    shift = int(rows[variable, 2].max()) + 1 if variable.any() else 2
    if shift > 23:                       # offset * 2^R must stay well inside int32
        return None
    out = []
    for (mult, left, right, rounding), b, wsum in zip(rows.tolist(), bias.tolist(), weight_abs_sums.tolist()):
        if mult == 0:                    # constant row: (rounding - 1) / 2 is the value, saturated anyway
            value = min(max((rounding - 1) // 2, -129), 128)
            out.append((0, 1, shift, value * (1 << shift) + (1 << (shift - 1))))
            continue
        d = shift - right
        new_left = left + d
        if (abs(int(b)) + 128 * int(wsum)) << new_left >= 2**31:
            return None
        round_ = (1 << (d - 1)) + (1 << (shift - 1)) + output_offset * (1 << shift)
        if abs(round_) >= 2**30:
            return None
        out.append((mult, new_left, shift, round_))
    return np.array(out, dtype=np.int32), shift


def requant_rows(multipliers: np.ndarray, shifts: np.ndarray, bias: np.ndarray, weight_abs_sums: np.ndarray,
                 output_offset: int, act_min: int) -> tuple[np.ndarray, int] | None:
    """tf_rq's rows and mode for a layer (tf_fast.h), or None when its fast form is not proven:
    mode 0 exact, 1 one rounding (act_min >= output offset), R >= 2 one rounding with the shared
    right shift R (shared_shift_requant)."""
    rows = fast_requant(multipliers, shifts, bias, weight_abs_sums, output_offset)
    if rows is None:
        return None
    if act_min < output_offset:
        return rows, 0
    shared = shared_shift_requant(rows, bias, weight_abs_sums, output_offset)
    return shared if shared is not None else (rows, 1)


def multiply_by_quantized_multiplier(acc: int, multiplier: int, shift: int) -> int:
    """TFLite's MultiplyByQuantizedMultiplier (double rounding), on Python ints: the C kernels'
    tf_requantize, for values known at generation time."""
    x = ((acc << max(shift, 0)) + 2**31) % 2**32 - 2**31
    if x == multiplier == -2**31:
        r = 2**31 - 1
    else:
        ab = x * multiplier
        nudge = 1 << 30 if ab >= 0 else 1 - (1 << 30)
        n = ab + nudge
        r = n // 2**31 if n >= 0 else -((-n) // 2**31)     # C division truncates toward zero
    right = max(-shift, 0)
    mask = (1 << right) - 1
    remainder = r & mask
    threshold = (mask >> 1) + (1 if r < 0 else 0)
    return (r >> right) + (1 if remainder > threshold else 0)


def sigmoid_table_q16() -> np.ndarray:
    """sigmoid(i / 24), i = 0..255, in 0.16 fixed point, for the int16 LOGISTIC/TANH interpolation of
    TFLite's reference kernels (and the LSTM gates, which use them). Each knot is raised by half the
    chord's error at its segment's midpoint, which balances the linear interpolation's error over the
    segment; the last knot is the 0.16 maximum. Derived here, checked against TFLM's results on every
    int16 input by the operators' tests."""
    x = np.arange(256, dtype=np.float64) / 24.0
    h = 1.0 / 24.0

    def sigmoid(z: np.ndarray) -> np.ndarray:
        return 65536.0 / (1.0 + np.exp(-z))

    knots = sigmoid(x)
    chord_error = sigmoid(x + h / 2) - (knots + sigmoid(x + h)) / 2
    table = np.round(knots + chord_error / 2)
    table[-1] = 65535
    return np.minimum(table, 65535).astype(np.uint16)
