"""One-layer graphs of the matrix-multiply family (#13): FULLY_CONNECTED 16x8, TRANSPOSE_CONV (int8 and
16x8) and BATCH_MATMUL (int8, int16), with weights and scales drawn so that outputs spread over most of
the output type's range (neither all clamped nor all near zero)."""

from __future__ import annotations

import zlib
from typing import Optional

import numpy as np

from tinyflash.model.graph import Graph, Operator, Quantization, Tensor

from .synthetic_layers import _f32


def rng_for(name: str) -> np.random.Generator:
    """The same weights on every run and in every test that builds a case."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def _spread_scale(in_scale: float, w_scale: float, in_range: float, taps: int) -> float:
    """An output scale that maps a typical accumulator (random inputs of amplitude in_range, weights of
    amplitude ~74) onto ~1/3 of the output range."""
    return in_scale * w_scale * in_range * 74.0 * np.sqrt(taps) / 3.0


def fc16_graph(name: str, batches: int, in_depth: int, units: int, *, per_channel: bool = False,
               bias_type: str = "int64", keep_num_dims: bool = False, activation: str = "NONE",
               in_zp: int = 0, out_zp: int = 0) -> Graph:
    rng = rng_for(name)
    in_scale = 1.0 / 4096
    w_scales = _f32(*rng.uniform(0.004, 0.02, size=units if per_channel else 1))
    weights = rng.integers(-127, 128, size=(units, in_depth), dtype=np.int8)
    bias_scales = _f32(*(in_scale * s for s in w_scales))
    bias = rng.integers(-2**20, 2**20, size=units).astype(np.dtype(bias_type))
    out_scale = _spread_scale(in_scale, float(np.mean(w_scales)), 32768.0, in_depth) / 32768.0
    in_shape = (batches // 2, 2, in_depth) if keep_num_dims and batches % 2 == 0 else (batches, in_depth)
    out_shape = in_shape[:-1] + (units,) if keep_num_dims else (batches, units)
    tensors = (
        Tensor(0, "input", in_shape, "int16", Quantization(_f32(in_scale), (in_zp,))),
        Tensor(1, "weights", (units, in_depth), "int8",
               Quantization(w_scales, (0,) * len(w_scales), 0), weights.tobytes()),
        Tensor(2, "bias", (units,), bias_type, Quantization(bias_scales, (0,) * len(bias_scales)), bias.tobytes()),
        Tensor(3, "output", out_shape, "int16", Quantization(_f32(out_scale), (out_zp,))),
    )
    op = Operator(0, "FULLY_CONNECTED", 1, (0, 1, 2), (3,),
                  {"activation": activation, "keep_num_dims": keep_num_dims, "weights_format": 0})
    return Graph(tensors, (op,), (0,), (3,))


def transpose_conv_output_size(padding: str, in_size: int, k: int, stride: int) -> int:
    """The output size TensorFlow gives a transposed convolution (conv2d_transpose's default)."""
    return in_size * stride if padding == "SAME" else (in_size - 1) * stride + k


def transpose_conv_graph(name: str, in_hwc: tuple[int, int, int], out_c: int, kernel: tuple[int, int],
                         stride: tuple[int, int], padding: str, *, dtype: str = "int8", per_channel: bool = True,
                         bias: bool = True, activation: str = "NONE", batches: int = 1,
                         out_hw: Optional[tuple[int, int]] = None, bias_type: Optional[str] = None) -> Graph:
    """out_hw overrides the output size (TFLM accepts any: the extra rows or columns of an odd size);
    bias_type: int16 for a 16x8 model's short bias (TFLM widens it to int64)."""
    rng = rng_for(name)
    h, w, c = in_hwc
    kh, kw = kernel
    oh, ow = out_hw or (transpose_conv_output_size(padding, h, kh, stride[0]),
                        transpose_conv_output_size(padding, w, kw, stride[1]))
    wide = dtype == "int16"
    in_scale = 1.0 / 4096 if wide else 0.05
    in_zp = 0 if wide else int(rng.integers(-20, 20))
    w_scales = _f32(*rng.uniform(0.004, 0.02, size=out_c if per_channel else 1))
    weights = rng.integers(-127, 128, size=(out_c, kh, kw, c), dtype=np.int8)
    amplitude = 32768.0 if wide else 128.0
    # each output gathers about (kh / stride_h) (kw / stride_w) c taps
    taps = max(1, round(kh * kw * c / (stride[0] * stride[1])))
    out_scale = _spread_scale(in_scale, float(np.mean(w_scales)), amplitude, taps) / amplitude
    out_zp = 0 if wide else (-128 if activation == "RELU" else int(rng.integers(-10, 10)))
    bias_type = bias_type or ("int64" if wide else "int32")
    bias_values = rng.integers(-3000, 3000, size=out_c).astype(bias_type)
    tensors = [
        Tensor(0, "output_shape", (4,), "int32", None, np.array([batches, oh, ow, out_c], np.int32).tobytes()),
        Tensor(1, "weights", (out_c, kh, kw, c), "int8", Quantization(w_scales, (0,) * len(w_scales), 0),
               weights.tobytes()),
        Tensor(2, "input", (batches, h, w, c), dtype, Quantization(_f32(in_scale), (in_zp,))),
        Tensor(3, "output", (batches, oh, ow, out_c), dtype, Quantization(_f32(out_scale), (out_zp,))),
    ]
    inputs: tuple[int, ...] = (0, 1, 2)
    if bias:
        tensors.append(Tensor(4, "bias", (out_c,), bias_type,
                              Quantization(_f32(*(in_scale * s for s in w_scales)), (0,) * len(w_scales)),
                              bias_values.tobytes()))
        inputs = (0, 1, 2, 4)
    options = {"padding": padding, "stride_h": stride[0], "stride_w": stride[1], "activation": activation}
    op = Operator(0, "TRANSPOSE_CONV", 1, inputs, (3,), options)
    return Graph(tuple(tensors), (op,), (2,), (3,))


def batch_matmul_graph(name: str, lhs_shape: tuple[int, ...], rhs_shape: tuple[int, ...], *, adj_x: bool = False,
                       adj_y: bool = False, dtype: str = "int8", constant: str = "rhs") -> Graph:
    """constant: which operand is a constant tensor ("rhs" or "lhs"; the other is the model input), or
    "none": both operands are the model input (rhs_shape is then ignored), e.g. x . x^T with adj_y."""
    rng = rng_for(name)
    wide = dtype == "int16"
    info = np.iinfo(dtype)
    if constant == "none":
        rhs_shape = lhs_shape
    l_depth = lhs_shape[-2] if adj_x else lhs_shape[-1]
    rows = lhs_shape[-1] if adj_x else lhs_shape[-2]
    cols = rhs_shape[-2] if adj_y else rhs_shape[-1]
    rank = max(len(lhs_shape), len(rhs_shape))
    lb = (1,) * (rank - len(lhs_shape)) + lhs_shape[:-2]
    rb = (1,) * (rank - len(rhs_shape)) + rhs_shape[:-2]
    out_shape = tuple(max(a, b) for a, b in zip(lb, rb)) + (rows, cols)
    l_scale, r_scale = (1.0 / 4096, 1.0 / 2048) if wide else (0.05, 0.02)
    l_zp, r_zp = (0, 0) if wide else (int(rng.integers(-20, 20)), int(rng.integers(-20, 20)))
    amplitude = 32768.0 if wide else 128.0
    out_scale = l_scale * r_scale * amplitude * amplitude * np.sqrt(l_depth) / 3.0 / amplitude
    out_zp = 0 if wide else int(rng.integers(-10, 10))
    const_values = rng.integers(info.min, info.max + 1,
                                size=rhs_shape if constant == "rhs" else lhs_shape, dtype=dtype).tobytes()
    lhs = Tensor(0, "lhs", lhs_shape, dtype, Quantization(_f32(l_scale), (l_zp,)),
                 const_values if constant == "lhs" else None)
    rhs = Tensor(1, "rhs", rhs_shape, dtype, Quantization(_f32(r_scale), (r_zp,)),
                 const_values if constant == "rhs" else None)
    out = Tensor(2, "output", out_shape, dtype, Quantization(_f32(out_scale), (out_zp,)))
    options = {"adj_x": adj_x, "adj_y": adj_y, "asymmetric_quantize_inputs": False}
    if constant == "none":      # one tensor is both operands
        out = Tensor(1, "output", out_shape, dtype, Quantization(_f32(out_scale), (out_zp,)))
        return Graph((lhs, out), (Operator(0, "BATCH_MATMUL", 1, (0, 0), (1,), options),), (0,), (1,))
    graph_input = 1 if constant == "lhs" else 0
    op = Operator(0, "BATCH_MATMUL", 1, (0, 1), (2,), options)
    return Graph((lhs, rhs, out), (op,), (graph_input,), (2,))
