"""Small models of the kinds users bring (#13), built from the operators the aot runtime gained: a
converted PyTorch MobileNetV2 block, a classifier with float32 edges, a segmentation head, a tiny
attention block, an int16 head, 16x8 convolutions, an LSTM keyword spotter and an SVDF streaming model. Weights are random, scales calibrated on TFLM
(tests/support/model_builder.py), so every layer's values spread over its range.

Each function returns a Graph; tests/support/tflite_writer.write_tflite makes it a file.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tinyflash.model.graph import Graph, Quantization

from .model_builder import ModelBuilder, f32, q

SOFTMAX_Q = q(1 / 256, -128)     # what TFLM requires of int8 SOFTMAX and LOGISTIC outputs
TANH_Q = q(1 / 128, 0)


def pytorch_block() -> Graph:
    """A MobileNetV2 inverted residual as a PyTorch export gives it: NCHW input transposed to NHWC,
    explicit PAD before a VALID depthwise, HARD_SWISH, a residual ADD, global MEAN, classifier."""
    b = ModelBuilder(seed=11)
    x = b.model_input("input_nchw", (1, 8, 12, 12), quant=q(0.05, 3))
    nhwc = b.op("TRANSPOSE", (x, b.ints("perm", [0, 2, 3, 1])), "nhwc", (1, 12, 12, 8), quant=q(0.05, 3))
    expand = b.conv(nhwc, 24, name="expand")
    act = b.op("HARD_SWISH", (expand,), "hswish", (1, 12, 12, 24), calibrate=True)
    padded = b.op("PAD", (act, b.ints("paddings", [[0, 0], [1, 1], [1, 1], [0, 0]])), "padded", (1, 14, 14, 24),
                  quant=b.like(act).quantization)
    dw = b.conv(padded, 24, kernel=3, padding="VALID", activation="RELU6", depthwise=True, name="dw")
    project = b.conv(dw, 8, name="project")
    residual = b.op("ADD", (project, nhwc), "residual", (1, 12, 12, 8), calibrate=True, activation="NONE")
    pooled = b.op("MEAN", (residual, b.ints("axes", [1, 2])), "pooled", (1, 8), calibrate=True, keep_dims=False)
    logits = b.fully_connected(pooled, 5, name="classifier")
    out = b.op("SOFTMAX", (logits,), "probabilities", (1, 5), quant=SOFTMAX_Q, beta=b.softmax_beta(logits))
    return b.graph(out)


def float_edges() -> Graph:
    """float32 in and out: QUANTIZE, two dense layers with LEAKY_RELU, a requantising QUANTIZE,
    LOGISTIC, DEQUANTIZE."""
    b = ModelBuilder(seed=12)
    x = b.model_input("features", (1, 20), "float32")
    xq = b.op("QUANTIZE", (x,), "features_q", (1, 20), quant=q(0.03, -4))
    h = b.fully_connected(xq, 16, name="dense1")
    h = b.op("LEAKY_RELU", (h,), "leaky", (1, 16), calibrate=True, alpha=0.2)
    hq = b.op("QUANTIZE", (h,), "requantised", (1, 16), quant=Quantization(f32(b.like(h).quantization.scale * 1.7), (9,)))
    logits = b.fully_connected(hq, 8, name="dense2")
    b.real_spread(logits, 4.0)
    p = b.op("LOGISTIC", (logits,), "sigmoid", (1, 8), quant=SOFTMAX_Q)
    out = b.op("DEQUANTIZE", (p,), "scores", (1, 8), "float32", None)
    return b.graph(out)


def segmenter() -> Graph:
    """A segmentation head with an int32 output: a strided convolution, nearest-neighbour upsampling,
    a skip CONCATENATION, constant MUL and SUB, TANH, a TRANSPOSE_CONV, PRELU, STRIDED_SLICE crop, ARG_MAX."""
    b = ModelBuilder(seed=13)
    x = b.model_input("image", (1, 8, 8, 4), quant=q(0.04, -10))
    down = b.conv(x, 8, kernel=3, stride=2, activation="RELU", name="down")
    skip = b.conv(x, 8, kernel=1, name="skip")
    share = b.like(skip).quantization
    down_q = b.op("QUANTIZE", (down,), "down_requantised", (1, 4, 4, 8), quant=share)
    up = b.op("RESIZE_NEAREST_NEIGHBOR", (down_q, b.ints("size", [8, 8])), "up", (1, 8, 8, 8), quant=share,
              align_corners=False, half_pixel_centers=True)
    cat = b.op("CONCATENATION", (up, skip), "concat", (1, 8, 8, 16), quant=share, axis=3, activation="NONE")
    gain = b.const("gain", b.rng.integers(20, 127, size=(1, 1, 1, 16), dtype=np.int8), q(0.02))
    scaled = b.op("MUL", (cat, gain), "scaled", (1, 8, 8, 16), calibrate=True, activation="NONE")
    offset = b.const("offset", b.rng.integers(-60, 60, size=(16,), dtype=np.int8), b.like(scaled).quantization)
    centred = b.op("SUB", (scaled, offset), "centred", (1, 8, 8, 16), calibrate=True, activation="NONE")
    t = b.op("TANH", (centred,), "tanh", (1, 8, 8, 16), quant=TANH_Q)
    weights = b.rng.integers(-127, 128, size=(6, 3, 3, 16), dtype=np.int8)
    w_scales = f32(*b.rng.uniform(0.004, 0.02, size=6))
    wi = b.const("tconv/weights", weights, Quantization(w_scales, (0,) * 6, 0))
    bi = b.const("tconv/bias", b.rng.integers(-500, 500, size=6).astype(np.int32),
                 Quantization(f32(*(TANH_Q.scale * s for s in w_scales)), (0,) * 6))
    tconv = b.op("TRANSPOSE_CONV", (b.ints("tconv/shape", [1, 16, 16, 6]), wi, t, bi), "tconv", (1, 16, 16, 6),
                 calibrate=True, padding="SAME", stride_h=2, stride_w=2, activation="NONE")
    alpha = b.const("alpha", b.rng.integers(-100, 100, size=(6,), dtype=np.int8), q(0.005))
    pr = b.op("PRELU", (tconv, alpha), "prelu", (1, 16, 16, 6), calibrate=True)
    crop = b.op("STRIDED_SLICE", (pr, b.ints("begin", [0, 2, 1, 0]), b.ints("end", [1, 14, 15, 6]),
                                  b.ints("strides", [1, 1, 1, 1])), "crop", (1, 12, 14, 6),
                quant=b.like(pr).quantization, begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                shrink_axis_mask=0, offset=False)
    out = b.op("ARG_MAX", (crop, b.ints("class_axis", [3])), "classes", (1, 12, 14), "int32", None,
               output_type="int32")
    return b.graph(out)


def tiny_attention() -> Graph:
    """Self-attention on 6 tokens of 8 features: BATCH_MATMUL, SOFTMAX, EXPAND_DIMS, PADV2, RELU6,
    SQUEEZE, SQUARED_DIFFERENCE, RELU."""
    b = ModelBuilder(seed=14)
    x = b.model_input("tokens", (1, 6, 8), quant=q(0.05, 2))
    scores = b.op("BATCH_MATMUL", (x, x), "scores", (1, 6, 6), calibrate=True, adj_x=False, adj_y=True,
                  asymmetric_quantize_inputs=False)
    att = b.op("SOFTMAX", (scores,), "attention", (1, 6, 6), quant=SOFTMAX_Q, beta=b.softmax_beta(scores))
    mixed = b.op("BATCH_MATMUL", (att, x), "mixed", (1, 6, 8), calibrate=True, adj_x=False, adj_y=False,
                 asymmetric_quantize_inputs=False)
    mq = b.like(mixed).quantization
    wide = b.op("EXPAND_DIMS", (mixed, b.ints("axis", [1])), "wide", (1, 1, 6, 8), quant=mq)
    pad_value = b.const("pad_value", np.array([17], np.int8), mq)
    padded = b.op("PADV2", (wide, b.ints("paddings", [[0, 0], [0, 0], [1, 1], [0, 0]]), pad_value), "padded",
                  (1, 1, 8, 8), quant=mq)
    clipped = b.op("RELU6", (padded,), "relu6", (1, 1, 8, 8), quant=mq)
    flat = b.op("SQUEEZE", (clipped,), "flat", (1, 8, 8), quant=mq, squeeze_dims=(1,))
    sliced = b.op("STRIDED_SLICE", (flat, b.ints("b", [0, 1, 0]), b.ints("e", [1, 7, 8]), b.ints("s", [1, 1, 1])),
                  "middle", (1, 6, 8), quant=mq, begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                  shrink_axis_mask=0, offset=False)
    diff = b.op("SQUARED_DIFFERENCE", (sliced, x), "sqdiff", (1, 6, 8), calibrate=True)
    out = b.op("RELU", (diff,), "out", (1, 6, 8), quant=b.like(diff).quantization)
    return b.graph(out)


def int16_head() -> Graph:
    """int16 activations: an int16 input, two 16x8 dense layers, an int16 ADD, a QUANTIZE to int8."""
    b = ModelBuilder(seed=15)
    x = b.model_input("signal", (1, 24), "int16", q(0.001, 0))
    a = _fc16(b, x, 12, "a")
    c = _fc16(b, x, 12, "c")
    s = b.op("ADD", (a, c), "sum", (1, 12), "int16", q(b.like(a).quantization.scale * 2), activation="NONE",
             pot_scale_int16=False)
    out = b.op("QUANTIZE", (s,), "out", (1, 12), quant=q(b.like(s).quantization.scale * 256, 0))
    return b.graph(out)


def int16_image() -> Graph:
    """16x8 convolutions on an int16 image: CONV_2D 3x3 stride 2, DEPTHWISE_CONV_2D with multiplier 2,
    a 1x1 CONV_2D, then int16 MEAN and a QUANTIZE to int8."""
    b = ModelBuilder(seed=18)
    x = b.model_input("image16", (1, 12, 12, 3), "int16", q(0.0005, 0))
    h = _conv16(b, x, 8, kernel=3, stride=2, name="conv16")
    h = _conv16(b, h, 16, kernel=3, stride=1, depthwise=True, name="dw16")
    h = _conv16(b, h, 12, kernel=1, stride=1, name="pw16")
    pooled = b.op("MEAN", (h, b.ints("axes", [1, 2])), "pooled16", (1, 12), "int16", b.like(h).quantization,
                  keep_dims=False)
    out = b.op("QUANTIZE", (pooled,), "out", (1, 12), quant=q(b.like(pooled).quantization.scale * 64, 0))
    return b.graph(out)


def _conv16(b: ModelBuilder, x: int, out_c: int, kernel: int, stride: int, name: str,
            depthwise: bool = False) -> int:
    """A 16x8 CONV_2D / DEPTHWISE_CONV_2D (int16 activations, int8 per-channel weights, int64 bias),
    SAME padding, its int16 output scale set from the accumulation's spread."""
    t = b.like(x)
    assert t.quantization is not None
    n, h, w, c = t.shape
    w_shape = (1, kernel, kernel, out_c) if depthwise else (out_c, kernel, kernel, c)
    w_scales = f32(*b.rng.uniform(0.004, 0.02, size=out_c))
    wi = b.const(f"{name}/weights", b.rng.integers(-127, 128, size=w_shape, dtype=np.int8),
                 Quantization(w_scales, (0,) * out_c, 3 if depthwise else 0))
    bi = b.const(f"{name}/bias", b.rng.integers(-20000, 20000, size=out_c).astype(np.int64),
                 Quantization(f32(*(t.quantization.scale * s for s in w_scales)), (0,) * out_c))
    taps = kernel * kernel * (1 if depthwise else c)
    out_scale = t.quantization.scale * float(np.mean(w_scales)) * 74.0 * 9000.0 * np.sqrt(taps) / 12000.0
    size = (h + stride - 1) // stride, (w + stride - 1) // stride
    options = {"padding": "SAME", "stride_h": stride, "stride_w": stride, "dilation_h": 1, "dilation_w": 1,
               "activation": "NONE"}
    if depthwise:
        options["depth_multiplier"] = out_c // c
    return b.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", (x, wi, bi), f"{name}/out",
                (n, *size, out_c), "int16", q(out_scale), **options)


def _fc16(b: ModelBuilder, x: int, units: int, name: str) -> int:
    """A 16x8 FULLY_CONNECTED: int16 in and out, int8 weights, int64 bias, symmetric."""
    t = b.like(x)
    assert t.quantization is not None
    depth = t.shape[-1]
    w_scale = float(b.rng.uniform(0.004, 0.02))
    wi = b.const(f"{name}/weights", b.rng.integers(-127, 128, size=(units, depth), dtype=np.int8), q(w_scale))
    bi = b.const(f"{name}/bias", b.rng.integers(-20000, 20000, size=units).astype(np.int64),
                 q(t.quantization.scale * w_scale))
    # int16 spread: accumulations of ~sqrt(depth) * 74 * 8000 at the input/weight scales
    out_scale = t.quantization.scale * w_scale * 74.0 * 9000.0 * np.sqrt(depth) / 12000.0
    return b.op("FULLY_CONNECTED", (x, wi, bi), f"{name}/out", (1, units), "int16", q(out_scale),
                activation="NONE", keep_num_dims=False, weights_format=0)


def lstm_kws() -> Graph:
    """A keyword spotter on 10 frames of 20 features: an LSTM, its last step (STRIDED_SLICE with
    shrink_axis_mask), a classifier."""
    b = ModelBuilder(seed=16)
    x = b.model_input("frames", (1, 10, 20), quant=q(1 / 128, 0))
    seq = b.lstm(x, 16)
    last = b.op("STRIDED_SLICE", (seq, b.ints("b", [0, 9, 0]), b.ints("e", [1, 10, 16]), b.ints("s", [1, 1, 1])),
                "last_step", (1, 16), quant=b.like(seq).quantization, begin_mask=0, end_mask=0, ellipsis_mask=0,
                new_axis_mask=0, shrink_axis_mask=2, offset=False)
    logits = b.fully_connected(last, 8, name="classifier")
    out = b.op("SOFTMAX", (logits,), "probabilities", (1, 8), quant=SOFTMAX_Q, beta=b.softmax_beta(logits))
    return b.graph(out)


def svdf_stream() -> Graph:
    """A streaming keyword model as TFLM's micro_speech examples build them: SVDF layers (int16 state)
    over one new feature frame per invocation, dense layers, SOFTMAX."""
    b = ModelBuilder(seed=17)
    x = b.model_input("frame", (1, 40), quant=q(0.05, -7))
    h = b.svdf(x, 32, rank=1, memory=8, name="svdf1")
    h = b.op("RELU", (h,), "relu1", (1, 32), quant=b.like(h).quantization)
    h = b.svdf(h, 16, rank=2, memory=4, name="svdf2")
    h = b.fully_connected(h, 12, activation="RELU", name="dense")
    logits = b.fully_connected(h, 4, name="classifier")
    out = b.op("SOFTMAX", (logits,), "probabilities", (1, 4), quant=SOFTMAX_Q, beta=b.softmax_beta(logits))
    return b.graph(out)


MODELS: dict[str, Callable[[], Graph]] = {
    "lstm_kws": lstm_kws, "svdf_stream": svdf_stream,
    "pytorch_block": pytorch_block, "float_edges": float_edges, "segmenter": segmenter,
    "tiny_attention": tiny_attention, "int16_head": int16_head, "int16_image": int16_image,
}
