"""One-layer graphs of the recurrent operators (SVDF, UNIDIRECTIONAL_SEQUENCE_LSTM), quantised as TFLM's
integer kernels expect them (tests/unit/test_aot_ops_recurrent.py runs them against TFLM).

Scales are chosen from the weights' spread so the state and the outputs use a good part of their
ranges over a few steps: neither all saturated nor all near zero."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from tinyflash.model.graph import Graph, Operator, Quantization, Tensor


def _f32(value: float) -> float:
    return float(np.float32(value))


def _q(scale: float, zero_point: int = 0) -> Quantization:
    return Quantization((_f32(scale),), (int(zero_point),))


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


@dataclass(frozen=True)
class SvdfCase:
    name: str
    batches: int
    input_size: int
    units: int
    rank: int
    memory: int
    activation: str = "NONE"
    state_zp: int = 0


SVDF_CASES = (
    SvdfCase("b1-r1-m4", 1, 12, 5, 1, 4),
    SvdfCase("b2-r2-m3", 2, 9, 4, 2, 3, "RELU"),
    SvdfCase("b1-r2-m10-odd", 1, 7, 3, 2, 10),
    SvdfCase("b2-r1-m1", 2, 16, 8, 1, 1),
    SvdfCase("b1-r3-m5-zp", 1, 20, 6, 3, 5, "NONE", 7),
)


def svdf_graph(case: SvdfCase, rng: np.random.Generator | None = None) -> Graph:
    rng = rng or rng_for(case.name)
    filters = case.units * case.rank
    in_scale, in_zp = 0.05, int(rng.integers(-20, 20))
    wf_scale = float(rng.uniform(0.004, 0.02))
    wf = rng.integers(-127, 128, size=(filters, case.input_size), dtype=np.int8)
    # the feature dot product (std ~74*74*sqrt(n)) fills about a tenth of the int16 state range
    state_scale = in_scale * wf_scale * 74.0 * 74.0 * np.sqrt(case.input_size) / 3000.0
    wt_scale = 1.0 / 2000.0
    wt = rng.integers(-2000, 2001, size=(filters, case.memory)).astype(np.int16)
    # the time sum over rank * memory terms, std ~3000*1150*sqrt(terms), to ~50 output steps
    terms = case.rank * case.memory
    acc_std = 3000.0 * 1150.0 * np.sqrt(terms)
    out_scale = _f32(state_scale) * _f32(wt_scale) * acc_std / 50.0
    bias_scale = _f32(np.float32(state_scale) * np.float32(wt_scale))
    bias = rng.integers(-int(acc_std / 3), int(acc_std / 3) + 1, size=case.units).astype(np.int32)
    out_zp = int(rng.integers(-10, 10))
    tensors = (
        Tensor(0, "input", (case.batches, case.input_size), "int8", _q(in_scale, in_zp)),
        Tensor(1, "weights_feature", wf.shape, "int8", _q(wf_scale), wf.tobytes()),
        Tensor(2, "weights_time", wt.shape, "int16", _q(wt_scale), wt.tobytes()),
        Tensor(3, "bias", (case.units,), "int32", _q(bias_scale), bias.tobytes()),
        Tensor(4, "activation_state", (case.batches, case.memory * filters), "int16",
               _q(state_scale, case.state_zp), is_variable=True),
        Tensor(5, "output", (case.batches, case.units), "int8", _q(out_scale, out_zp)),
    )
    op = Operator(0, "SVDF", 1, (0, 1, 2, 3, 4), (5,), {"rank": case.rank, "activation": case.activation,
                                                         "asymmetric_quantize_inputs": False})
    return Graph(tensors, (op,), (0,), (5,))


@dataclass(frozen=True)
class LstmCase:
    name: str
    batches: int
    time_steps: int
    input_size: int
    units: int
    time_major: bool = False
    cell_clip: float = 0.0
    cell_scale: float = 2.0 ** -11       # a power of two, as converters make it
    hidden_zp: int = 0


LSTM_CASES = (
    LstmCase("b1-t1-i4-u3", 1, 1, 4, 3),
    LstmCase("b2-t3-i5-u4-tm", 2, 3, 5, 4, time_major=True, hidden_zp=-21),
    LstmCase("b1-t8-i8-u6-clip", 1, 8, 8, 6, cell_clip=2.5, hidden_zp=9),
    LstmCase("b2-t4-i3-u9", 2, 4, 3, 9, hidden_zp=5),
    LstmCase("b2-t2-i12-u5-tm-clip", 2, 2, 12, 5, time_major=True, cell_clip=1.0),
    LstmCase("b1-t5-i6-u4-odd-cell", 1, 5, 6, 4, cell_scale=2.0 ** -11 * 1.3, hidden_zp=-3),
    # the cell's tanh scales its input down (2^-15: a right shift) or up (2^-8: a larger multiplier)
    LstmCase("b1-t6-i4-u5-cell-2e-15", 1, 6, 4, 5, cell_scale=2.0 ** -15, hidden_zp=2),
    LstmCase("b2-t3-i7-u3-tm-cell-2e-8", 2, 3, 7, 3, time_major=True, cell_scale=2.0 ** -8),
)

# operand positions of lstm_shared.h: (input weights, recurrent weights, bias) per gate
_LSTM_GATES = ((1, 5, 12), (2, 6, 13), (3, 7, 14), (4, 8, 15))
_LSTM_INPUTS = 24


def lstm_graph(case: LstmCase, rng: np.random.Generator | None = None) -> Graph:
    """A standard (no CIFG, peephole, projection or layer norm) int8 LSTM: 24 operands, the optional
    ones absent (-1), the hidden (int8) and cell (int16) states variable tensors."""
    rng = rng or rng_for(case.name)
    b, t, n, u = case.batches, case.time_steps, case.input_size, case.units
    in_scale, in_zp = 1.0 / 128, int(rng.integers(-10, 10))
    hidden_scale = 1.0 / 128               # tanh(cell) * sigmoid(.) lies in (-1, 1)
    tensors: list[Tensor] = []

    def add(name: str, shape: tuple[int, ...], dtype: str, quant: Quantization | None,
            data: np.ndarray | None = None, variable: bool = False) -> int:
        tensors.append(Tensor(len(tensors), name, shape, dtype, quant,
                              None if data is None else data.tobytes(), is_variable=variable))
        return len(tensors) - 1

    inputs = [-1] * _LSTM_INPUTS
    in_shape = (t, b, n) if case.time_major else (b, t, n)
    inputs[0] = add("input", in_shape, "int8", _q(in_scale, in_zp))
    for gate, (pos_in, pos_rec, pos_bias) in zip(("input", "forget", "cell", "output"), _LSTM_GATES):
        # real weights up to ~4.5/sqrt(fan-in): gate pre-activations of a few units, inside Q3.12's +-8
        for pos, fan_in, x_scale in ((pos_in, n, in_scale), (pos_rec, u, hidden_scale)):
            w_scale = 4.5 / np.sqrt(fan_in) / 127.0
            w = rng.integers(-127, 128, size=(u, fan_in), dtype=np.int8)
            inputs[pos] = add(f"{gate}_{'input' if pos == pos_in else 'recurrent'}_weights", w.shape, "int8",
                              _q(w_scale), w)
            if pos == pos_in:
                bias_scale = _f32(np.float32(x_scale) * np.float32(w_scale))
        bias = np.round(rng.uniform(-1.0, 1.0, size=u) / bias_scale).astype(np.int32)
        inputs[pos_bias] = add(f"{gate}_bias", (u,), "int32", _q(bias_scale), bias)
    inputs[18] = add("hidden_state", (b, u), "int8", _q(hidden_scale, case.hidden_zp), variable=True)
    inputs[19] = add("cell_state", (b, u), "int16", _q(case.cell_scale), variable=True)
    out_shape = (t, b, u) if case.time_major else (b, t, u)
    output = add("output", out_shape, "int8", _q(hidden_scale, case.hidden_zp))
    options = {"activation": "TANH", "cell_clip": case.cell_clip, "proj_clip": 0.0,
               "time_major": case.time_major, "asymmetric_quantize_inputs": False,
               "diagonal_recurrent_tensors": False}
    op = Operator(0, "UNIDIRECTIONAL_SEQUENCE_LSTM", 1, tuple(inputs), (output,), options)
    return Graph(tuple(tensors), (op,), (inputs[0],), (output,))
