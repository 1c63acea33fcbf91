"""One-layer graphs of the convolution family for tests/unit/test_aot_ops_conv.py (#13): DEPTHWISE_CONV_2D
with depth multipliers 1..8 on input depths 1..6, and CONV_2D / DEPTHWISE_CONV_2D 16x8 (int16 activations,
int8 per-channel weights, int64 or int32 bias; TFLM's reference_integer_ops int16 variants)."""

from __future__ import annotations

import zlib

import numpy as np

from tinyflash.generate.runtime.aot.quant import compute_out_size
from tinyflash.model.graph import Graph, Operator, Quantization, Tensor

from .synthetic_layers import conv_graph

# DEPTHWISE_CONV_2D int8: (name, in (h, w, c), depth multiplier, kernel (h, w), stride, dilation, padding)
MULTIPLIER_CASES = [
    ("dwm-c1-m8-3x3-s1-same", (10, 9, 1), 8, (3, 3), 1, 1, "SAME"),
    ("dwm-c1-m1-3x3-s2-same", (9, 8, 1), 1, (3, 3), 2, 1, "SAME"),
    ("dwm-c1-m3-3x3-s2-valid", (9, 10, 1), 3, (3, 3), 2, 1, "VALID"),
    ("dwm-c2-m2-3x3-s2-same", (9, 8, 2), 2, (3, 3), 2, 1, "SAME"),
    ("dwm-c2-m6-5x5-dil2-same", (11, 9, 2), 6, (5, 5), 1, 2, "SAME"),
    ("dwm-c3-m2-3x3-s1-same", (7, 9, 3), 2, (3, 3), 1, 1, "SAME"),
    ("dwm-c3-m7-3x3-s1-valid", (8, 7, 3), 7, (3, 3), 1, 1, "VALID"),
    ("dwm-c4-m4-3x3-s2-dil2", (11, 10, 4), 4, (3, 3), 2, 2, "SAME"),
    ("dwm-c5-m3-3x3-s1-same", (6, 7, 5), 3, (3, 3), 1, 1, "SAME"),
    ("dwm-c6-m1-3x3-s1-same", (7, 8, 6), 1, (3, 3), 1, 1, "SAME"),
    ("dwm-c6-m5-3x3-s2-valid", (9, 9, 6), 5, (3, 3), 2, 1, "VALID"),
    ("dwm-c2-m8-1x1-s1-valid", (5, 6, 2), 8, (1, 1), 1, 1, "VALID"),
]

WIDE_SUMS = {"c16-c1200-1x1-wide-sums"}
# 16x8: (name, depthwise, in (h, w, c), out_c, kernel (h, w), stride, dilation, padding, bias type)
CONV16_CASES = [
    ("c16-rgb-3x3-s2-same", False, (11, 9, 3), 8, (3, 3), 2, 1, "SAME", "int64"),
    ("c16-c8-3x3-s1-same", False, (7, 6, 8), 6, (3, 3), 1, 1, "SAME", "int64"),
    ("c16-c5-3x3-dil2-valid", False, (10, 9, 5), 4, (3, 3), 1, 2, "VALID", "int64"),
    ("c16-c16-1x1", False, (5, 5, 16), 10, (1, 1), 1, 1, "VALID", "int64"),
    ("c16-c4-5x5-s2-same", False, (12, 11, 4), 7, (5, 5), 2, 1, "SAME", "int64"),
    ("c16-c6-3x3-s1-same-b32", False, (6, 7, 6), 5, (3, 3), 1, 1, "SAME", "int32"),
    # 1200 taps: 32768 * sum|w| passes 2^31, so int32 sums are not exact and the portable kernel runs
    ("c16-c1200-1x1-wide-sums", False, (2, 3, 1200), 3, (1, 1), 1, 1, "VALID", "int64"),
    ("dw16-c8-3x3-s1-same", True, (7, 8, 8), 8, (3, 3), 1, 1, "SAME", "int64"),
    ("dw16-c3-m2-3x3-s2-valid", True, (9, 8, 3), 6, (3, 3), 2, 1, "VALID", "int64"),
    ("dw16-c4-3x3-dil2-same", True, (10, 9, 4), 4, (3, 3), 1, 2, "SAME", "int64"),
]


def rng_for(name: str, activation: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{name}/{activation}".encode()))


def multiplier_graph(name: str, activation: str) -> Graph:
    """The named MULTIPLIER_CASES depthwise layer (synthetic_layers' int8 convolution builder)."""
    for case_name, (h, w, c), m, kernel, stride, dil, padding in MULTIPLIER_CASES:
        if case_name == name:
            return conv_graph((name, True, (h, w, c), c * m, kernel, stride, dil, padding), activation,
                              rng_for(name, activation))
    raise KeyError(name)


def _f32(*values: float) -> tuple[float, ...]:
    return tuple(float(np.float32(v)) for v in values)


def conv16_graph(name: str, activation: str) -> Graph:
    """The named CONV16_CASES layer: int16 input and output (zero point 0, as TFLite's 16x8 quantisation
    makes them), int8 per-channel weights, an int64 (or int32) bias of scale input x weight scale."""
    case = next(c for c in CONV16_CASES if c[0] == name)
    _, depthwise, (h, w, c), oc, (kh, kw), stride, dil, padding, bias_type = case
    rng = rng_for(name, activation)
    oh = compute_out_size(padding, h, kh, stride, dil)
    ow = compute_out_size(padding, w, kw, stride, dil)
    in_scale = 1.0 / 4096
    w_shape = (1, kh, kw, oc) if depthwise else (oc, kh, kw, c)
    weights = rng.integers(-127, 128, size=w_shape, dtype=np.int8)
    w_scales = _f32(*rng.uniform(0.004, 0.02, size=oc))
    taps = kh * kw * (1 if depthwise else c)
    # random int16 inputs have a spread near 18900, weights near 73: outputs over most of int16
    out_scale = in_scale * float(np.mean(w_scales)) * 18900.0 * 73.0 * np.sqrt(taps) / 12000.0
    bias = rng.integers(-2**20, 2**20, size=oc).astype(bias_type)
    tensors = (
        Tensor(0, "input", (1, h, w, c), "int16", Quantization(_f32(in_scale), (0,))),
        Tensor(1, "weights", w_shape, "int8", Quantization(w_scales, (0,) * oc, 3 if depthwise else 0),
               weights.tobytes()),
        Tensor(2, "bias", (oc,), bias_type, Quantization(_f32(*(in_scale * s for s in w_scales)), (0,) * oc),
               bias.tobytes()),
        Tensor(3, "output", (1, oh, ow, oc), "int16", Quantization(_f32(out_scale), (0,))),
    )
    options = {"padding": padding, "stride_h": stride, "stride_w": stride, "dilation_h": dil,
               "dilation_w": dil, "activation": activation}
    if depthwise:
        options["depth_multiplier"] = oc // c
    op = Operator(0, "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", 1, (0, 1, 2), (3,), options)
    return Graph(tensors, (op,), (0,), (3,))
