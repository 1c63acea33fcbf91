"""The shape-specialised SIMD kernels (tf_fast.h) against the generic portable kernels (tf_conv.c,
tf_fully_connected.c: bit-exact with TFLM on every MLPerf Tiny model) on synthetic one-layer graphs:
the shapes the reference models never have (dilation, odd depths, VALID padding, odd pixel counts,
strides of 2 on odd sizes, batches, output depths not a multiple of 4), with and without a ReLU (the
requantisation forms). Both compile for the host; outputs must be equal."""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest

from tinyflash.board import BoardCatalog
from tinyflash.generate.runtime.aot.codegen import AotRuntime
from tinyflash.generate.runtime.aot.host_harness import build_host_model
from tinyflash.generate.runtime.aot.quant import compute_out_size
from tinyflash.model.graph import Graph, Operator, Quantization, Tensor

# (name, depthwise, in (h, w, c), out_c, kernel (h, w), stride, dilation, padding)
CASES = [
    ("rgb-3x3-s2-same", False, (11, 9, 3), 8, (3, 3), 2, 1, "SAME"),
    ("mono-10x4-s2", False, (13, 7, 1), 6, (10, 4), 2, 1, "SAME"),
    ("c5-dil2-valid", False, (9, 10, 5), 3, (3, 3), 1, 2, "VALID"),
    ("c6-5x5-same-odd-out", False, (5, 7, 6), 5, (5, 5), 1, 1, "SAME"),
    ("c8-1x1", False, (6, 5, 8), 7, (1, 1), 1, 1, "VALID"),
    ("c12-3x3-dil2-same", False, (8, 8, 12), 4, (3, 3), 1, 2, "SAME"),
    ("dw-c8-3x3-s1", True, (7, 9, 8), 8, (3, 3), 1, 1, "SAME"),
    ("dw-c16-3x3-s2-odd", True, (9, 7, 16), 16, (3, 3), 2, 1, "SAME"),
    ("dw-c4-5x5-dil2", True, (12, 11, 4), 4, (5, 5), 1, 2, "SAME"),
]


def _graph(case: tuple, activation: str, rng: np.random.Generator) -> Graph:
    _, depthwise, (h, w, c), oc, (kh, kw), stride, dil, padding = case
    oh = compute_out_size(padding, h, kh, stride, dil)
    ow = compute_out_size(padding, w, kw, stride, dil)
    in_scale, in_zp = 0.05, int(rng.integers(-20, 20))
    w_shape = (1, kh, kw, oc) if depthwise else (oc, kh, kw, c)
    weights = rng.integers(-127, 128, size=w_shape, dtype=np.int8)
    w_scales = tuple(float(s) for s in rng.uniform(0.004, 0.02, size=oc))
    taps = kh * kw * (1 if depthwise else c)
    bias = rng.integers(-3000, 3000, size=oc).astype(np.int32)
    # outputs spread over most of the int8 range: neither all saturated nor all near zero
    out_scale = in_scale * float(np.mean(w_scales)) * 74.0 * 74.0 * np.sqrt(taps) / 50.0
    out_zp = -128 if activation == "RELU" else int(rng.integers(-10, 10))
    tensors = (
        Tensor(0, "input", (1, h, w, c), "int8", Quantization((in_scale,), (in_zp,))),
        Tensor(1, "weights", w_shape, "int8", Quantization(w_scales, (0,) * oc, 3 if depthwise else 0),
               weights.tobytes()),
        Tensor(2, "bias", (oc,), "int32", Quantization(tuple(in_scale * s for s in w_scales), (0,) * oc),
               bias.tobytes()),
        Tensor(3, "output", (1, oh, ow, oc), "int8", Quantization((float(out_scale),), (out_zp,))),
    )
    options = {"padding": padding, "stride_h": stride, "stride_w": stride, "dilation_h": dil,
               "dilation_w": dil, "activation": activation}
    if depthwise:
        options["depth_multiplier"] = 1
    op = Operator(0, "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", 1, (0, 1, 2), (3,), options)
    return Graph(tensors, (op,), (0,), (3,))


# FULLY_CONNECTED: (name, batches, in_depth, out_depth)
FC_CASES = [("fc-b1-20x7", 1, 20, 7), ("fc-b3-64x9", 3, 64, 9), ("fc-b1-8x4", 1, 8, 4)]


def _fc_graph(case: tuple, activation: str, rng: np.random.Generator) -> Graph:
    _, batches, n, units = case
    in_scale, in_zp = 0.05, int(rng.integers(-20, 20))
    w_scale = float(rng.uniform(0.004, 0.02))
    weights = rng.integers(-127, 128, size=(units, n), dtype=np.int8)
    bias = rng.integers(-3000, 3000, size=units).astype(np.int32)
    out_scale = in_scale * w_scale * 74.0 * 74.0 * np.sqrt(n) / 50.0
    out_zp = -128 if activation == "RELU" else int(rng.integers(-10, 10))
    tensors = (
        Tensor(0, "input", (batches, n), "int8", Quantization((in_scale,), (in_zp,))),
        Tensor(1, "weights", (units, n), "int8", Quantization((w_scale,), (0,)), weights.tobytes()),
        Tensor(2, "bias", (units,), "int32", Quantization((in_scale * w_scale,), (0,)), bias.tobytes()),
        Tensor(3, "output", (batches, units), "int8", Quantization((float(out_scale),), (out_zp,))),
    )
    op = Operator(0, "FULLY_CONNECTED", 1, (0, 1, 2), (3,), {"activation": activation})
    return Graph(tensors, (op,), (0,), (3,))


@pytest.mark.parametrize("activation", ["NONE", "RELU"])
@pytest.mark.parametrize("case", CASES + FC_CASES, ids=[c[0] for c in CASES + FC_CASES])
def test_fast_kernel_equals_generic(case: tuple, activation: str, tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    rng = np.random.default_rng(zlib.crc32(f"{case[0]}/{activation}".encode()))
    graph = _fc_graph(case, activation, rng) if case[0].startswith("fc-") else _graph(case, activation, rng)
    board = BoardCatalog().load("mps2-an500")
    models = {}
    for kernels in ("auto", "portable"):
        dest = tmp_path / kernels
        out = AotRuntime().generate(graph, board, dest, options={"kernels": kernels})
        models[kernels] = build_host_model(list(out.sources), [dest], dest)
    model_c = (tmp_path / "auto" / "model.c").read_text()
    assert "tf_fast_" in model_c, "the case did not take the SIMD path; it tests nothing"
    if case[0].startswith("fc-"):
        assert "tf_fast_fc_s8" in model_c
    elif not case[1] and case[2][2] % 4:
        assert "tf_fast_conv16_s8" in model_c
    outputs = []
    for _ in range(8):
        x = rng.integers(-128, 128, size=graph.input.shape, dtype=np.int8)
        fast, generic = models["auto"].invoke(x), models["portable"].invoke(x)
        assert np.array_equal(fast, generic), f"{int((fast != generic).sum())} of {fast.size} bytes differ"
        outputs.append(generic)
    values = np.concatenate(outputs)
    # the comparison means something only if the outputs are not all clamped
    assert len(np.unique(values)) > min(20, values.size // 4)
