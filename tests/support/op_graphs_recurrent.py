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
