"""One-layer graphs of the quantisation and activation operators (#13): QUANTIZE, DEQUANTIZE, LOGISTIC,
TANH, HARD_SWISH, RELU, RELU6, LEAKY_RELU, PRELU, for checking the AOT C against TFLM
(tests/support/op_harness.py)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from tinyflash.model.graph import Graph, Operator, Quantization, Tensor

QuantSpec = Optional[tuple[float, int]]      # (scale, zero point), None for float32


def _quant(spec: QuantSpec) -> Optional[Quantization]:
    if spec is None:
        return None
    scale, zero_point = spec
    return Quantization((float(np.float32(scale)),), (int(zero_point),))


def unary_graph(opcode: str, shape: tuple[int, ...], in_dtype: str, in_q: QuantSpec, out_dtype: str,
                out_q: QuantSpec, options: Optional[dict[str, Any]] = None) -> Graph:
    """input -> opcode -> output, the two tensors of one shape."""
    tensors = (Tensor(0, "input", shape, in_dtype, _quant(in_q)),
               Tensor(1, "output", shape, out_dtype, _quant(out_q)))
    op = Operator(0, opcode, 1, (0,), (1,), dict(options or {}))
    return Graph(tensors, (op,), (0,), (1,))


def prelu_graph(shape: tuple[int, ...], alpha_shape: tuple[int, ...], dtype: str, in_q: tuple[float, int],
                alpha_q: tuple[float, int], out_q: tuple[float, int], rng: np.random.Generator,
                alpha_constant: bool = True) -> Graph:
    """PRELU(input, alpha) with an int8 alpha: a constant from ``rng``, or (alpha_constant False) an
    activation, which with one model input is the input requantised by a QUANTIZE (alpha_shape = shape)."""
    tensors: list[Tensor] = [Tensor(0, "input", shape, dtype, _quant(in_q))]
    ops: list[Operator] = []
    if alpha_constant:
        alpha = rng.integers(-128, 128, size=alpha_shape, dtype=np.int8)
        tensors.append(Tensor(1, "alpha", alpha_shape, "int8", _quant(alpha_q), alpha.tobytes()))
    else:
        assert alpha_shape == shape and dtype == "int8"
        tensors.append(Tensor(1, "alpha", alpha_shape, "int8", _quant(alpha_q)))
        ops.append(Operator(0, "QUANTIZE", 1, (0,), (1,), {}))
    tensors.append(Tensor(2, "output", shape, dtype, _quant(out_q)))
    ops.append(Operator(len(ops), "PRELU", 1, (0, 1), (2,), {}))
    return Graph(tuple(tensors), tuple(ops), (0,), (2,))


def chain_graph() -> Graph:
    """float32 -> QUANTIZE int8 -> HARD_SWISH -> QUANTIZE int16 -> LEAKY_RELU -> DEQUANTIZE float32: the
    model edges of a float model and every kernel file of the family in one graph."""
    shape = (1, 4, 4, 8)
    specs: list[tuple[str, QuantSpec]] = [("float32", None), ("int8", (0.05, 3)), ("int8", (0.04, -10)),
                                          ("int16", (0.0005, 0)), ("int16", (0.0004, 0)), ("float32", None)]
    tensors = tuple(Tensor(i, f"t{i}", shape, dtype, _quant(q)) for i, (dtype, q) in enumerate(specs))
    opcodes = ["QUANTIZE", "HARD_SWISH", "QUANTIZE", "LEAKY_RELU", "DEQUANTIZE"]
    ops = tuple(Operator(i, opcode, 1, (i,), (i + 1,), {"alpha": 0.1} if opcode == "LEAKY_RELU" else {})
                for i, opcode in enumerate(opcodes))
    return Graph(tensors, ops, (0,), (len(specs) - 1,))
