"""One-operator graphs of the arithmetic and reduction family (ADD, SUB, MUL, SQUARED_DIFFERENCE, MEAN,
ARG_MAX) for checking the aot runtime against TFLM (tests/support/op_harness.py).

A model has one input, so a binary operator's activation operands come from it: the input itself
when an operand has the output's shape, else a MEAN of the input over the operand's broadcast axes
(then a RESHAPE when the operand drops dimensions); when both operands have the output's shape the
second is ADD(input, constant). A constant operand is random data of its shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from tinyflash.model.graph import Graph, Operator, Quantization, Tensor


def f32(value: float) -> float:
    """A scale as a .tflite file stores it (float32)."""
    return float(np.float32(value))


def quant(scale: float, zero_point: int) -> Quantization:
    return Quantization((f32(scale),), (int(zero_point),))


@dataclass(frozen=True)
class Operand:
    shape: tuple[int, ...]
    scale: float
    zero_point: int = 0
    constant: bool = False


class _Builder:
    def __init__(self) -> None:
        self.tensors: list[Tensor] = []
        self.ops: list[Operator] = []

    def tensor(self, name: str, shape: tuple[int, ...], dtype: str, q: Optional[Quantization],
               data: Optional[bytes] = None) -> int:
        self.tensors.append(Tensor(len(self.tensors), name, tuple(shape), dtype, q, data))
        return len(self.tensors) - 1

    def op(self, opcode: str, inputs: tuple[int, ...], outputs: tuple[int, ...], options: dict) -> None:
        self.ops.append(Operator(len(self.ops), opcode, 1, inputs, outputs, options))

    def graph(self, inputs: int, output: int) -> Graph:
        return Graph(tuple(self.tensors), tuple(self.ops), (inputs,), (output,))


def _random(dtype: str, shape: tuple[int, ...], rng: np.random.Generator) -> bytes:
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, size=shape, dtype=dtype).tobytes()


def _mean_into(b: _Builder, x: int, out_shape: tuple[int, ...], target: Operand, dtype: str, name: str) -> int:
    """An activation of ``target``'s shape and quantisation: MEAN of ``x`` over the axes it broadcasts."""
    rank = len(out_shape)
    ext = (1,) * (rank - len(target.shape)) + tuple(target.shape)
    axes = tuple(d for d in range(rank) if ext[d] == 1 and out_shape[d] != 1)
    dropped = tuple(n for d, n in enumerate(out_shape) if d not in axes)
    keep = dropped != tuple(target.shape)
    axis = b.tensor(f"{name}_axes", (len(axes),), "int32", None, np.array(axes, dtype=np.int32).tobytes())
    mean_shape = tuple(1 if d in axes else n for d, n in enumerate(out_shape)) if keep else dropped
    m = b.tensor(f"{name}_mean", mean_shape, dtype, quant(target.scale, target.zero_point))
    b.op("MEAN", (x, axis), (m,), {"keep_dims": keep})
    if mean_shape == tuple(target.shape):
        return m
    r = b.tensor(name, target.shape, dtype, quant(target.scale, target.zero_point))
    b.op("RESHAPE", (m,), (r,), {"new_shape": tuple(target.shape)})
    return r


def binary_graph(opcode: str, dtype: str, a: Operand, c: Operand, out_scale: float, out_zp: int = 0, *,
                 activation: Optional[str] = "NONE", seed: int = 0, options: Optional[dict] = None) -> Graph:
    """``opcode``(a, c) with the operands' shapes, quantisation and constness."""
    rng = np.random.default_rng(seed)
    out_shape = tuple(np.broadcast_shapes(a.shape, c.shape))
    b = _Builder()
    direct = [not o.constant and tuple(o.shape) == out_shape for o in (a, c)]
    xq = a if direct[0] else c if direct[1] else Operand(out_shape, max(a.scale, c.scale) * 2, 0)
    x = b.tensor("input", out_shape, dtype, quant(xq.scale, xq.zero_point))
    ids = []
    for k, o in enumerate((a, c)):
        name = f"operand{k + 1}"
        if o.constant:
            ids.append(b.tensor(name, o.shape, dtype, quant(o.scale, o.zero_point), _random(dtype, o.shape, rng)))
        elif direct[k] and (k == 0 or not direct[0]):
            ids.append(x)
        elif direct[k]:      # both have the output's shape: the second is ADD(input, constant)
            k_const = b.tensor(f"{name}_addend", out_shape, dtype, quant(xq.scale, xq.zero_point),
                               _random(dtype, out_shape, rng))
            t = b.tensor(name, out_shape, dtype, quant(o.scale, o.zero_point))
            b.op("ADD", (x, k_const), (t,), {"activation": "NONE"})
            ids.append(t)
        else:
            ids.append(_mean_into(b, x, out_shape, o, dtype, name))
    out = b.tensor("output", out_shape, dtype, quant(out_scale, out_zp))
    opts = dict(options or {})
    if activation is not None:
        opts["activation"] = activation
    b.op(opcode, (ids[0], ids[1]), (out,), opts)
    return b.graph(x, out)


def mean_graph(dtype: str, shape: tuple[int, ...], axes: tuple[int, ...], keep_dims: bool, *, in_scale: float,
               in_zp: int, out_scale: float, out_zp: int) -> Graph:
    b = _Builder()
    x = b.tensor("input", shape, dtype, quant(in_scale, in_zp))
    axis = b.tensor("axes", (len(axes),), "int32", None, np.array(axes, dtype=np.int32).tobytes())
    rank = len(shape)
    resolved = {a % rank for a in axes}
    out_shape = tuple(1 if d in resolved else n for d, n in enumerate(shape)) if keep_dims else \
        tuple(n for d, n in enumerate(shape) if d not in resolved)
    out = b.tensor("output", out_shape, dtype, quant(out_scale, out_zp))
    b.op("MEAN", (x, axis), (out,), {"keep_dims": keep_dims})
    return b.graph(x, out)


def arg_max_graph(shape: tuple[int, ...], axis: int, *, dtype: str = "int8", output_type: str = "int32",
                  axis_type: str = "int32") -> Graph:
    b = _Builder()
    x = b.tensor("input", shape, dtype, quant(0.1, 3))
    a = b.tensor("axis", (1,), axis_type, None, np.array([axis], dtype=axis_type).tobytes())
    rank = len(shape)
    out = b.tensor("output", tuple(n for d, n in enumerate(shape) if d != axis % rank), output_type, None)
    b.op("ARG_MAX", (x, a), (out,), {"output_type": output_type})
    return b.graph(x, out)
