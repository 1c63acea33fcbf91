"""Fixed-point parameters of the recurrent operators (SVDF, UNIDIRECTIONAL_SEQUENCE_LSTM), computed as
TFLM's Prepare functions compute them, and the checks shared by both emitters.

References (tflite-micro): kernels/svdf_common.cc PrepareSvdf, kernels/lstm_eval_common.cc
(CreateGateParams, CreateInterGateMulParams, CreateLstmCellStateInfo), kernels/kernel_util.cc
GetQuantizedConvolutionMultipler, kernels/internal/quantization_util.cc CheckedLog2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext
from tinyflash.generate.runtime.aot.quant import fc_real_multiplier, quantize_multiplier, wrap_int32
from tinyflash.model.graph import Tensor

# the LSTM gates' fixed scales (lstm_eval_common.cc PrepareGateParametersInteger): the fully connected
# outputs are Q3.12, the sigmoid/tanh outputs Q0.15
GATE_INPUT_SCALE = 2.0 ** -12
GATE_OUTPUT_SCALE = 2.0 ** -15


def f32(value: float) -> float:
    return float(np.float32(value))


def svdf_multipliers(input_scale: float, feature_scale: float, state_scale: float, time_scale: float,
                     output_scale: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """(feature -> state, time sum -> output) multipliers: PrepareSvdf takes both ratios in float32."""
    s1 = np.float32(input_scale) * np.float32(feature_scale) / np.float32(state_scale)
    s2 = np.float32(state_scale) * np.float32(time_scale) / np.float32(output_scale)
    return quantize_multiplier(float(s1)), quantize_multiplier(float(s2))


def svdf_bias_scale_ok(bias_scale: float, state_scale: float, time_scale: float) -> bool:
    """PrepareSvdf's check that the bias is in the time product's scale (float32 product, 1e-5)."""
    return abs(f32(bias_scale) - float(np.float32(state_scale) * np.float32(time_scale))) < 1e-5


def gate_multiplier(input_scale: float, weight_scale: float) -> tuple[int, int]:
    """A gate's fully connected output multiplier to the Q3.12 gate input (GetQuantizedConvolutionMultipler)."""
    return quantize_multiplier(fc_real_multiplier(input_scale, weight_scale, GATE_INPUT_SCALE))


def mul_multiplier(scale1: float, scale2: float, output_scale: float) -> tuple[int, int]:
    """CreateInterGateMulParams: every scale widened to double."""
    return quantize_multiplier(f32(scale1) * f32(scale2) / f32(output_scale))


def cell_scale_power(cell_scale: float) -> int:
    """CheckedLog2's rounded exponent (float arithmetic); TFLM ignores whether it is exact."""
    log2 = np.float32(np.log(np.float32(cell_scale))) * (np.float32(1.0) / np.float32(np.log(np.float32(2.0))))
    return _round_away(float(log2))      # std::round: halves away from zero


def _round_away(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def quantized_cell_clip(cell_clip: float, cell_scale: float) -> int:
    """CreateLstmCellStateInfo: clip / scale in double, saturated to int16, truncated toward zero."""
    value = min(max(f32(cell_clip) / f32(cell_scale), -32768.0), 32767.0)
    return int(value)


def folded_bias(weights: np.ndarray, zero_point: int, bias: np.ndarray | None = None) -> np.ndarray:
    """bias - zero_point * sum(row), wrapped to int32: the input offset folded out of the dot products
    (int32 sums are modular, so the kernels' results do not change)."""
    rows = weights.reshape(weights.shape[0], -1).astype(np.int64)
    base = np.zeros(rows.shape[0], np.int64) if bias is None else bias.astype(np.int64)
    return wrap_int32(base - int(zero_point) * rows.sum(axis=1))


@dataclass(frozen=True)
class TensorRule:
    """What one operand position must be: its types, constant or not, and rank."""
    position: int
    what: str
    dtypes: tuple[str, ...]
    constant: bool
    rank: int


def check_operand(ctx: EmitContext, rule: TensorRule) -> Tensor:
    t = ctx.tensor(rule.position)
    if t is None:
        raise ctx.unsupported(f"the {rule.what} (input {rule.position}) is missing")
    if t.dtype not in rule.dtypes:
        raise ctx.unsupported(f"the {rule.what} '{t.name}' is {t.dtype}; supported: {', '.join(rule.dtypes)}")
    if rule.constant != t.is_constant:
        raise ctx.unsupported(f"the {rule.what} '{t.name}' must be "
                              f"{'a constant' if rule.constant else 'an activation'} tensor")
    if len(t.shape) != rule.rank or min(t.shape, default=1) < 1:
        raise ctx.unsupported(f"the {rule.what} '{t.name}' has shape {t.shape}; expected {rule.rank} dimensions")
    if t.dtype != "int32" or t.quantization is not None:
        q = t.quantization
        if q is None or q.per_channel:
            raise ctx.unsupported(f"the {rule.what} '{t.name}' must be per-tensor quantised (TFLM's integer "
                                  "kernel reads one scale)")
        if t.dtype in ("int8", "int16") and rule.constant and q.zero_point != 0:
            raise ctx.unsupported(f"the {rule.what} '{t.name}' must be symmetric (zero point 0)")
        if not scale_ok(q.scale):
            raise ctx.unsupported(f"the {rule.what} '{t.name}' has scale {q.scale}")
    return t


def scale_ok(scale: float) -> bool:
    """A scale the multipliers can be computed from (the model fuzzer finds zeros and infinities)."""
    return math.isfinite(scale) and 1e-30 < scale < 1e30
