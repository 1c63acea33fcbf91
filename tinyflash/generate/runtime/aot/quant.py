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
