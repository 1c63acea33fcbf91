"""FULLY_CONNECTED int8 graphs of the shapes MLPerf Tiny's models lack, for the widened kernel's tests
(tests/unit/test_aot_fc_fast.py on the host, tests/integration/test_fc_fast_device.py on emulated cores)."""

from __future__ import annotations

import zlib

import numpy as np

from tinyflash.model.graph import Graph, Operator, Quantization, Tensor

# (name, batches, depth, units, activation, zero_rows): depths 1..13 and 33 leave 1-3 after the groups
# of 4 (and of 8); units 1, 3, 5, 6, 7 leave a partial block of rows
CASES = [
    ("b1-d13-u7", 1, 13, 7, "NONE", ()),
    ("b3-d9-u5-relu", 3, 9, 5, "RELU", ()),
    ("b2-d33-u6-relu6", 2, 33, 6, "RELU6", ()),
    ("b1-d1-u3", 1, 1, 3, "NONE", ()),
    ("b4-d6-u1-relu-n1-to-1", 4, 6, 1, "RELU_N1_TO_1", ()),
    ("b1-d40-u12-zero-rows", 1, 40, 12, "NONE", (2, 11)),
    ("b2-d20-u9-relu-zero-row", 2, 20, 9, "RELU", (4,)),
    ("b1-d128-u8", 1, 128, 8, "NONE", ()),
    # one or two units, depth a multiple of 4: the two-row path without a column buffer (vww's 256 -> 2)
    ("b1-d256-u2", 1, 256, 2, "NONE", ()),
    ("b3-d12-u1-relu", 3, 12, 1, "RELU", ()),
    ("b2-d8-u2-zero-row", 2, 8, 2, "NONE", (1,)),
]


def _f32(*values: float) -> tuple[float, ...]:
    return tuple(float(np.float32(v)) for v in values)


def fc_graph(name: str, batches: int, depth: int, units: int, activation: str, zero_rows: tuple[int, ...]) -> Graph:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    in_scale, in_zp = 0.05, int(rng.integers(-20, 20))
    w_scale = float(rng.uniform(0.004, 0.02))
    weights = rng.integers(-128, 128, size=(units, depth), dtype=np.int8)
    weights[list(zero_rows)] = 0              # pruned rows: constant requantisation rows, no shared row
    bias = rng.integers(-3000, 3000, size=units).astype(np.int32)
    out_scale = in_scale * w_scale * 74.0 * 74.0 * np.sqrt(depth) / 50.0
    if activation in ("RELU6", "RELU_N1_TO_1"):   # outputs spread over the clamp's range, not all clamped
        spread = {"RELU6": 3.0, "RELU_N1_TO_1": 0.5}[activation]
        w_scale = spread / (in_scale * 74.0 * 74.0 * np.sqrt(depth))
        out_scale = 4.0 * spread / 200.0
    out_zp = -128 if activation == "RELU" else int(rng.integers(-10, 10))
    tensors = (
        Tensor(0, "input", (batches, depth), "int8", Quantization(_f32(in_scale), (in_zp,))),
        Tensor(1, "weights", (units, depth), "int8", Quantization(_f32(w_scale), (0,)), weights.tobytes()),
        Tensor(2, "bias", (units,), "int32", Quantization(_f32(in_scale * w_scale), (0,)), bias.tobytes()),
        Tensor(3, "output", (batches, units), "int8", Quantization(_f32(out_scale), (out_zp,))),
    )
    op = Operator(0, "FULLY_CONNECTED", 1, (0, 1, 2), (3,),
                  {"activation": activation, "keep_num_dims": False, "weights_format": 0})
    return Graph(tensors, (op,), (0,), (3,))
