"""One-layer int8 graphs in the shapes the MLPerf Tiny models never have (dilation, odd depths, VALID
padding, odd pixel counts, strides of 2 on odd sizes, batches, depth multipliers, padded pools), for
checking every kernel set against TFLM's reference kernels (tests/support/tflite_writer.py makes them files)
on the host and on emulated devices."""

from __future__ import annotations

import zlib
from typing import Any, Callable

import numpy as np

from tinyflash.generate.runtime.aot.quant import compute_out_size
from tinyflash.model.graph import Graph, Operator, Quantization, Tensor

# (name, depthwise, in (h, w, c), out_c, kernel (h, w), stride, dilation, padding)
CONV_CASES = [
    ("rgb-3x3-s2-same", False, (11, 9, 3), 8, (3, 3), 2, 1, "SAME"),
    ("mono-10x4-s2", False, (13, 7, 1), 6, (10, 4), 2, 1, "SAME"),
    ("c5-dil2-valid", False, (9, 10, 5), 3, (3, 3), 1, 2, "VALID"),
    ("c6-5x5-same-odd-out", False, (5, 7, 6), 5, (5, 5), 1, 1, "SAME"),
    ("c8-1x1", False, (6, 5, 8), 7, (1, 1), 1, 1, "VALID"),
    ("c12-3x3-dil2-same", False, (8, 8, 12), 4, (3, 3), 1, 2, "SAME"),
    ("dw-c8-3x3-s1", True, (7, 9, 8), 8, (3, 3), 1, 1, "SAME"),
    ("dw-c16-3x3-s2-odd", True, (9, 7, 16), 16, (3, 3), 2, 1, "SAME"),
    ("dw-c4-5x5-dil2", True, (12, 11, 4), 4, (5, 5), 1, 2, "SAME"),
    ("dw-c24-3x3-s2-dil2", True, (11, 10, 24), 24, (3, 3), 2, 2, "SAME"),
    ("dw-c12-3x3-valid", True, (6, 9, 12), 12, (3, 3), 1, 1, "VALID"),
    ("dw-m2-c3-3x3-s2", True, (9, 8, 3), 6, (3, 3), 2, 1, "SAME"),     # depth multiplier 2
    ("dw-m8-c1-3x3-s1", True, (8, 9, 1), 8, (3, 3), 1, 1, "SAME"),     # one channel, multiplier 8
    ("dw-m3-c2-3x3-s2-valid", True, (9, 10, 2), 6, (3, 3), 2, 1, "VALID"),
    ("dw-m4-c5-3x3-dil2", True, (10, 9, 5), 20, (3, 3), 1, 2, "SAME"),
]
# FULLY_CONNECTED: (name, batches, in_depth, out_depth)
FC_CASES = [("fc-b1-20x7", 1, 20, 7), ("fc-b3-64x9", 3, 64, 9), ("fc-b1-8x4", 1, 8, 4)]
# pools: (name, in (h, w, c), filter (h, w), stride, padding); padded windows average fewer taps
POOL_CASES = [("avg-c12-3x3-s2-same", (9, 7, 12), (3, 3), 2, "SAME"),
              ("avg-c20-2x2-s1-same", (5, 6, 20), (2, 2), 1, "SAME"),
              ("avg-c3-4x4-s3-valid", (10, 11, 3), (4, 4), 3, "VALID"),
              ("max-c6-3x3-s2-same", (8, 9, 6), (3, 3), 2, "SAME")]
CASE_NAMES = [c[0] for c in CONV_CASES + FC_CASES + POOL_CASES]
# which cases the SIMD kernels take: every convolution (depthwise with any depth multiplier) and
# fully connected layer; pools only on Helium, and only the average
MULTIPLIED = {c[0] for c in CONV_CASES if c[1] and c[3] != c[2][2]}
SMLAD_CASES = [n for n in CASE_NAMES if not n.startswith(("avg-", "max-"))]
HELIUM_CASES = [n for n in CASE_NAMES if not n.startswith("max-")]


def _f32(*values: float) -> tuple[float, ...]:
    """Scales as a .tflite file stores them (float32), so a graph equals its written file's."""
    return tuple(float(np.float32(v)) for v in values)


def rng_for(name: str, activation: str) -> np.random.Generator:
    """The same weights and inputs on every run and in every test that uses a case."""
    return np.random.default_rng(zlib.crc32(f"{name}/{activation}".encode()))


def conv_graph(case: tuple, activation: str, rng: np.random.Generator) -> Graph:
    _, depthwise, (h, w, c), oc, (kh, kw), stride, dil, padding = case
    oh = compute_out_size(padding, h, kh, stride, dil)
    ow = compute_out_size(padding, w, kw, stride, dil)
    in_scale, in_zp = 0.05, int(rng.integers(-20, 20))
    w_shape = (1, kh, kw, oc) if depthwise else (oc, kh, kw, c)
    weights = rng.integers(-127, 128, size=w_shape, dtype=np.int8)
    w_scales = _f32(*rng.uniform(0.004, 0.02, size=oc))
    taps = kh * kw * (1 if depthwise else c)
    bias = rng.integers(-3000, 3000, size=oc).astype(np.int32)
    # outputs spread over most of the int8 range: neither all saturated nor all near zero
    out_scale = in_scale * float(np.mean(w_scales)) * 74.0 * 74.0 * np.sqrt(taps) / 50.0
    out_zp = -128 if activation == "RELU" else int(rng.integers(-10, 10))
    tensors = (
        Tensor(0, "input", (1, h, w, c), "int8", Quantization(_f32(in_scale), (in_zp,))),
        Tensor(1, "weights", w_shape, "int8", Quantization(w_scales, (0,) * oc, 3 if depthwise else 0),
               weights.tobytes()),
        Tensor(2, "bias", (oc,), "int32", Quantization(_f32(*(in_scale * s for s in w_scales)), (0,) * oc),
               bias.tobytes()),
        Tensor(3, "output", (1, oh, ow, oc), "int8", Quantization(_f32(out_scale), (out_zp,))),
    )
    options = {"padding": padding, "stride_h": stride, "stride_w": stride, "dilation_h": dil,
               "dilation_w": dil, "activation": activation}
    if depthwise:
        options["depth_multiplier"] = oc // c
    op = Operator(0, "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", 1, (0, 1, 2), (3,), options)
    return Graph(tensors, (op,), (0,), (3,))


def _fc_graph(case: tuple, activation: str, rng: np.random.Generator) -> Graph:
    _, batches, n, units = case
    in_scale, in_zp = 0.05, int(rng.integers(-20, 20))
    w_scale = float(rng.uniform(0.004, 0.02))
    weights = rng.integers(-127, 128, size=(units, n), dtype=np.int8)
    bias = rng.integers(-3000, 3000, size=units).astype(np.int32)
    out_scale = in_scale * w_scale * 74.0 * 74.0 * np.sqrt(n) / 50.0
    out_zp = -128 if activation == "RELU" else int(rng.integers(-10, 10))
    tensors = (
        Tensor(0, "input", (batches, n), "int8", Quantization(_f32(in_scale), (in_zp,))),
        Tensor(1, "weights", (units, n), "int8", Quantization(_f32(w_scale), (0,)), weights.tobytes()),
        Tensor(2, "bias", (units,), "int32", Quantization(_f32(in_scale * w_scale), (0,)), bias.tobytes()),
        Tensor(3, "output", (batches, units), "int8", Quantization(_f32(out_scale), (out_zp,))),
    )
    op = Operator(0, "FULLY_CONNECTED", 1, (0, 1, 2), (3,),
                  {"activation": activation, "keep_num_dims": False, "weights_format": 0})
    return Graph(tensors, (op,), (0,), (3,))


def _pool_graph(case: tuple, activation: str, rng: np.random.Generator) -> Graph:
    _, (h, w, c), (fh, fw), stride, padding = case
    oh = compute_out_size(padding, h, fh, stride, 1)
    ow = compute_out_size(padding, w, fw, stride, 1)
    zp = int(rng.integers(-20, 20))
    quant = Quantization(_f32(0.05), (zp,))       # a pool keeps its input's quantisation
    tensors = (Tensor(0, "input", (1, h, w, c), "int8", quant),
               Tensor(1, "output", (1, oh, ow, c), "int8", quant))
    options = {"padding": padding, "stride_h": stride, "stride_w": stride, "filter_h": fh, "filter_w": fw,
               "activation": activation}
    op = "MAX_POOL_2D" if case[0].startswith("max-") else "AVERAGE_POOL_2D"
    return Graph(tensors, (Operator(0, op, 1, (0,), (1,), options),), (0,), (1,))


def case_graph(name: str, activation: str, rng: np.random.Generator | None = None) -> Graph:
    """The graph of the named case with a fused NONE or RELU; its weights come from ``rng``
    (by default the case's own, so they are the same in every test)."""
    rng = rng or rng_for(name, activation)
    kinds: list[tuple[list[Any], Callable[[Any, str, np.random.Generator], Graph]]] = [
        (CONV_CASES, conv_graph), (FC_CASES, _fc_graph), (POOL_CASES, _pool_graph)]
    for cases, make in kinds:
        for case in cases:
            if case[0] == name:
                return make(case, activation, rng)
    raise KeyError(name)


def assert_not_all_clamped(outputs: list[np.ndarray]) -> None:
    """Equal outputs mean something only if they are not all clamped to a few values."""
    values = np.concatenate(outputs)
    assert len(np.unique(values)) > min(20, values.size // 4)
