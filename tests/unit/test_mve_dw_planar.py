"""The layouts of the channel-planar Helium depthwise kernel (ops/depthwise_mve.py, tf_mve_dw_planar.h),
without a device: a NumPy model of what the kernel loads (planes of 4-byte slots, lane iy & 3 holding
input row iy; 16-byte windows against the weight records of the row's phase, w0 and w1 one slot on,
two output rows from one load) must give every output pixel's depthwise sum. The kernel's arithmetic on
the real instructions is checked on the emulated Cortex-M55 (tests/integration/test_mve_dw_planar_device.py,
test_mve_bench.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyflash.generate.runtime.aot.ops import depthwise_mve as dwp


def _geom(in_hw: tuple[int, int], k: tuple[int, int], stride: int, pad: tuple[int, int], c: int) -> dict[str, int]:
    out_h = (in_hw[0] + 2 * pad[0] - k[0]) // stride + 1
    out_w = (in_hw[1] + 2 * pad[1] - k[1]) // stride + 1
    return {"batches": 1, "in_h": in_hw[0], "in_w": in_hw[1], "in_c": c, "out_h": out_h, "out_w": out_w,
            "out_c": c, "k_h": k[0], "k_w": k[1], "stride_h": stride, "stride_w": stride, "dil_h": 1, "dil_w": 1,
            "pad_h": pad[0], "pad_w": pad[1]}


def _reference(x: np.ndarray, w: np.ndarray, g: dict[str, int], pad_value: int) -> np.ndarray:
    padded = np.pad(x.astype(np.int64), ((g["pad_h"], g["k_h"]), (g["pad_w"], g["k_w"]), (0, 0)),
                    constant_values=pad_value)
    out = np.zeros((g["out_h"], g["out_w"], g["out_c"]), np.int64)
    for ky in range(g["k_h"]):
        for kx in range(g["k_w"]):
            rows = padded[ky::g["stride_h"]][:g["out_h"], kx::g["stride_w"]][:, :g["out_w"]]
            out += rows * w[ky, kx].astype(np.int64)
    return out


def _model(x: np.ndarray, w: np.ndarray, geom: dict[str, int], pad_value: int) -> np.ndarray:
    """tf_mve_dw_planar_s8's sums, by its loads; x [h][w][c] in the tensor's orientation."""
    v = dwp.view(geom)
    g = v.geom
    xs = x.transpose(1, 0, 2) if v.transposed else x
    records = dwp.weight_records(w.transpose(1, 0, 2) if v.transposed else w)
    slots = dwp.slots(g)
    planes = np.full((g["out_c"], slots, dwp.LANES), pad_value, np.int64)
    out = np.zeros((g["out_h"], g["out_w"], g["out_c"]), np.int64)
    two_rows = g["stride_h"] == g["stride_w"] == 1 and g["k_h"] <= 3 and g["k_w"] <= 3
    oy = 0
    while oy < g["out_h"]:
        rows = 2 if two_rows and oy + 1 < g["out_h"] else 1
        iy0 = oy * g["stride_h"] - g["pad_h"]
        for iy in range(iy0, iy0 + g["k_h"] + rows - 1):    # converting every row again is the same
            row = xs[iy] if 0 <= iy < g["in_h"] else np.full((g["in_w"], g["out_c"]), pad_value)
            planes[:, g["pad_w"]:g["pad_w"] + g["in_w"], iy & 3] = row.T
        flat = planes.reshape(g["out_c"], -1)
        for r in range(rows):
            rec = records[:, (iy0 + r) & 3].astype(np.int64)       # [c][20]: w1 = rec[:16], w0 = rec[4:]
            for ox in range(g["out_w"]):
                if two_rows:   # the load at the even column's slot, against w0 (even) or w1 (odd)
                    start, weights = (ox - ox % 2) * 4, rec[:, 4:] if ox % 2 == 0 else rec[:, :16]
                else:
                    start, weights = ox * g["stride_w"] * 4, rec[:, 4:]
                assert start + 16 <= flat.shape[1], "a load reads past the plane"
                out[oy + r, ox] = (flat[:, start:start + 16] * weights).sum(axis=1)
        oy += rows
    return out.transpose(1, 0, 2) if v.transposed else out


@pytest.mark.parametrize("in_hw, k, stride, pad", [
    ((7, 9), (3, 3), 1, (1, 1)),     # rows, two at a time, a partial block of columns
    ((25, 5), (3, 3), 1, (1, 1)),    # kws: tall and narrow, transposed
    ((9, 7), (3, 3), 2, (1, 1)),     # stride 2, one row at a time, transposed (out 5x4)
    ((6, 9), (3, 3), 1, (0, 0)),     # VALID
    ((8, 10), (4, 4), 1, (1, 2)),    # 4x4: no second weight vector, one row at a time
    ((5, 11), (2, 3), 2, (0, 1)),
])
def test_planar_loads_give_the_depthwise_sums(in_hw: tuple[int, int], k: tuple[int, int], stride: int,
                                              pad: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(in_hw) * 31 + k[0])
    c = 12
    geom = _geom(in_hw, k, stride, pad, c)
    assert dwp.supported(geom, 1)
    x = rng.integers(-128, 128, (*in_hw, c)).astype(np.int8)
    w = rng.integers(-127, 128, (*k, c)).astype(np.int8)
    np.testing.assert_array_equal(_model(x, w, geom, -5), _reference(x, w, geom, -5))


def test_which_layers_and_views() -> None:
    kws = _geom((25, 5), (3, 3), 1, (1, 1), 64)
    assert dwp.view(kws).transposed and dwp.view(kws).geom["out_w"] == 25
    vww = _geom((48, 48), (3, 3), 1, (1, 1), 8)
    assert not dwp.view(vww).transposed
    assert dwp.supported(vww, 1)
    assert not dwp.supported(vww, 2)                                    # depth multiplier
    assert not dwp.supported({**vww, "dil_h": 2}, 1)
    assert not dwp.supported(_geom((12, 12), (5, 5), 1, (2, 2), 8), 1)  # filter over 4x4
    assert not dwp.supported(_geom((8, 2400), (3, 3), 1, (1, 1), 8), 1)  # planes past 16-bit scatter offsets


def test_rq_table_splits_the_shift() -> None:
    table = dwp.rq_table(np.array([5, -7]), np.array([2**30, 2**31 - 1]), np.array([2, -9]))
    assert table.tolist() == [[5, 2**30, 2, 0], [-7, 2**31 - 1, 0, -9]]


def test_short_strided_rows_keep_the_strip_kernel() -> None:
    assert not dwp.supported(_geom((6, 6), (3, 3), 2, (0, 0), 128), 1)   # vww's 3x3 output, stride 2
    assert dwp.supported(_geom((3, 3), (3, 3), 1, (1, 1), 256), 1)       # 3x3 output, stride 1
