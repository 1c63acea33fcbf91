"""The Helium (MVE) path of the AOT runtime, without a device.

The tf_mve_*.h kernels only build for Arm (arm_mve.h), so the host harness cannot run it; its bit-exactness is
checked on the emulated Cortex-M55 (tests/integration/test_mve_bench.py for the models,
test_kernel_shapes_device.py for shapes they lack). Here, in milliseconds:
- which boards and --kernels choices get the path;
- the generator's layouts (ops/mve_requant.py, ops/conv.py), by a NumPy model of what the kernels compute from them;
- the requantisation argument of tf_mve_requant.h and tf_mve_add.h (tf_mve_requant, tf_mve_narrow8, tf_mve_add4), by a
  model of the instructions' Arm ARM semantics (VQRDMULH, VRSHL, VQADD, VQMOVN...) against
  TFLite's arithmetic (quant.multiply_by_quantized_multiplier) on random and edge values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyflash.board import BoardCatalog
from tinyflash.generate.runtime.aot.codegen import AotRuntime
from tinyflash.generate.runtime.aot.ops import conv, mve_requant as mve
from tinyflash.generate.runtime.aot.quant import add_params, multiply_by_quantized_multiplier
from tinyflash.model import read_graph

INT32_MIN, INT32_MAX = -2**31, 2**31 - 1


# ---- which layers take the path -------------------------------------------------------------------
@pytest.mark.parametrize("board, kernels, expected", [
    ("mps3-an547", "auto", True),          # Cortex-M55, mve: float
    ("mps3-an547", "portable", False),
    ("mps2-an500", "auto", False),         # Cortex-M7: DSP, no Helium
])
def test_helium_kernels_only_on_mve_cores(board: str, kernels: str, expected: bool, model_dir: Path,
                                          tmp_path: Path) -> None:
    graph = read_graph(model_dir / "pretrainedResnet_quant.tflite")
    AotRuntime().generate(graph, BoardCatalog().load(board), tmp_path, options={"kernels": kernels})
    model_c = (tmp_path / "model.c").read_text()
    headers = ("tf_mve_requant.h", "tf_mve_conv.h", "tf_mve_add.h", "tf_mve_pool.h")   # no depthwise in ic
    for header in headers:
        assert (f'#include "{header}"' in model_c) is expected
        assert (tmp_path / header).is_file() is expected
    assert not (tmp_path / "tf_mve_depthwise.h").exists()
    if expected:   # every CONV_2D (three with their residual ADD folded in), the pool and the FULLY_CONNECTED
        assert model_c.count("tf_mve_conv_s8(") == 7
        assert model_c.count("tf_mve_conv_res_s8(") == 3 and model_c.count("tf_mve_add_span(") == 3
        assert "tf_mve_add_s8(" not in model_c
        assert "tf_mve_avg_pool_s8(" in model_c
        assert "tf_conv_s8(" not in model_c and "tf_fast_conv_s8(" not in model_c


# ---- a model of the instructions (Arm ARM, MVE) ---------------------------------------------------
def _sat(x: np.ndarray, bits: int) -> np.ndarray:
    return np.clip(x, -2**(bits - 1), 2**(bits - 1) - 1)


def _wrap32(x: np.ndarray) -> np.ndarray:
    return (x + 2**31) % 2**32 - 2**31


def vshl(x: np.ndarray, s: np.ndarray) -> np.ndarray:          # VSHL.S32 (register), s >= 0
    return _wrap32(x << s)


def vqrdmulh(a: np.ndarray, b: np.ndarray) -> np.ndarray:      # VQRDMULH.S32
    return _sat((2 * a * b + 2**31) >> 32, 32)


def vrshl(x: np.ndarray, s: np.ndarray) -> np.ndarray:         # VRSHL.S32 by s <= 0: round half up
    n = -s
    return np.where(n == 0, x, (x + (np.int64(1) << np.maximum(n - 1, 0))) >> n)


def requant_model(acc: np.ndarray, mult: np.ndarray, shift: np.ndarray, rounding: int) -> np.ndarray:
    """tf_mve_requant_v, lane by lane (object arrays of Python ints: no int64 overflow)."""
    left, right = np.maximum(shift, 0), np.minimum(shift, 0)
    r = vqrdmulh(vshl(acc, left), mult)
    if rounding == mve.ROUND_SIGN:
        r = _sat(r + (r >> 31), 32)
    elif rounding == mve.ROUND_MASKED:
        r = _sat(r + ((r & right) >> 31), 32)
    return vrshl(r, right)


def narrow_model(r: np.ndarray, out_zp: int, act_min: int, act_max: int) -> np.ndarray:
    """tf_mve_narrow8: VQMOVN to 16 bits, VQADD of the offset, VQMOVN to 8 bits, clamps."""
    v = _sat(_sat(r, 16) + out_zp, 16)
    return np.clip(_sat(v, 8), act_min, act_max)


def _reference(acc: np.ndarray, mult: np.ndarray, shift: np.ndarray, out_zp: int, act_min: int,
               act_max: int) -> np.ndarray:
    return np.array([min(act_max, max(act_min, multiply_by_quantized_multiplier(int(a), int(m), int(s)) + out_zp))
                     for a, m, s in zip(acc, mult, shift)], dtype=object)


def _edge_accumulators(rng: np.random.Generator, n: int) -> np.ndarray:
    fixed = [0, 1, -1, 2, -2, INT32_MIN, INT32_MAX, INT32_MIN + 1, 2**30, -2**30, 12345, -12345]
    scales = rng.integers(0, 31, n)
    randoms = [int(v) for v in rng.integers(-2**31, 2**31, n) >> scales]
    return np.array((fixed + randoms)[:n], dtype=object)


@pytest.mark.parametrize("act", ["none", "relu", "relu6"])
def test_requantisation_model_equals_tflite(act: str) -> None:
    rng = np.random.default_rng(55)
    checked = 0
    for _ in range(300):
        n = 64
        acc = _edge_accumulators(rng, n)
        mult = np.array([int(v) for v in rng.integers(2**30, 2**31, n)], dtype=object)
        mult[:3] = [2**30, 2**31 - 1, INT32_MIN + 2**31 - 1]
        shift = np.array([int(v) for v in rng.integers(-31, 8, n)], dtype=object)
        if rng.random() < 0.5:
            shift[:] = int(rng.integers(-31, 1))                 # per-tensor, sometimes 0
        out_zp = int(rng.integers(-128, 128))
        act_min, act_max = {"none": (-128, 127), "relu": (max(-128, out_zp), 127),
                            "relu6": (max(-128, out_zp), min(127, out_zp + int(rng.integers(0, 200))))}[act]
        rounding = mve.rounding_mode(np.array(shift, dtype=np.int64), out_zp, act_min)
        got = narrow_model(requant_model(acc, mult, shift, rounding), out_zp, act_min, act_max)
        expected = _reference(acc, mult, shift, out_zp, act_min, act_max)
        # the one documented difference: TFLite's int32 offset add wrapping (|value| > 2^31 - 129)
        raw = np.array([multiply_by_quantized_multiplier(int(a), int(m), int(s)) for a, m, s in zip(acc, mult, shift)],
                       dtype=object)
        keep = np.abs(raw) <= 2**31 - 129
        assert (got[keep] == expected[keep]).all(), (acc[keep][got[keep] != expected[keep]][:5], rounding)
        checked += int(keep.sum())
    assert checked > 15000


def test_every_rounding_mode_is_reached() -> None:
    assert mve.rounding_mode(np.array([-3, -1]), out_zp=-128, act_min=-128) == mve.ROUND_UP
    assert mve.rounding_mode(np.array([-3, -1]), out_zp=5, act_min=-128) == mve.ROUND_SIGN
    assert mve.rounding_mode(np.array([-3, 0, 2]), out_zp=5, act_min=-128) == mve.ROUND_MASKED


def test_add_model_equals_tflite() -> None:
    """tf_mve_add4 (VMLAS, three VQRDMULH + rounding shifts, VQADD offset, clamps) against TFLite's
    AddElementwise on every pair of int8 inputs, for a few scale triples."""
    x1, x2 = (v.reshape(-1).astype(object) for v in np.meshgrid(np.arange(-128, 128), np.arange(-128, 128)))
    for s1, s2, so, zp1, zp2, zo, act_min in [(0.05, 0.02, 0.06, -3, 7, -128, -128), (0.3, 0.3, 0.5, 0, 0, 10, 10),
                                              (0.011, 0.7, 0.35, 127, -128, -5, -128)]:
        q = add_params(s1, s2, so)
        ls = q["left_shift"]

        def rescale(v: np.ndarray, m: int, s: int, half_up: bool) -> np.ndarray:
            r = vqrdmulh(v, np.full(v.shape, m, dtype=object))
            if s < 0 and not half_up:
                r = _sat(r + (r >> 31), 32)
            return vrshl(r, np.full(v.shape, s, dtype=object))

        a = (x1 - zp1) * 2**ls
        b = (x2 - zp2) * 2**ls
        total = rescale(a, q["in1_mult"], q["in1_shift"], False) + rescale(b, q["in2_mult"], q["in2_shift"], False)
        got = np.clip(rescale(total, q["out_mult"], q["out_shift"], act_min >= zo) + zo, act_min, 127)

        def mbqm(v: int, m: int, s: int) -> int:
            return multiply_by_quantized_multiplier(v, m, s)

        expected = [min(127, max(act_min, mbqm(mbqm(int(u - zp1) << ls, q["in1_mult"], q["in1_shift"]) +
                                              mbqm(int(w - zp2) << ls, q["in2_mult"], q["in2_shift"]),
                                              q["out_mult"], q["out_shift"]) + zo))
                    for u, w in zip(x1, x2)]
        assert list(got) == expected


# ---- the generator's layouts, by what the kernels compute from them -------------------------------
def _conv_kernel_model(w_layout: np.ndarray, records: np.ndarray, x: np.ndarray, out_c: int, k: int) -> np.ndarray:
    """tf_mve_conv_pixel's accumulators for one column x: per record (4 lanes), chunks of 16 bytes
    against the record's four interleaved weight rows, plus the record's bias; lane order undone."""
    chunks = -(-k // 16)
    xs = np.zeros(chunks * 16, dtype=np.int64)
    xs[:k] = x                                        # the predicated tail load reads zeros
    blocks = w_layout.reshape(len(records), chunks, 4, 16).astype(np.int64)
    lanes = np.einsum("rcjk,ck->rj", blocks, xs.reshape(chunks, 16)) + records[:, 0]
    order = mve.lane_order(out_c)
    acc = np.zeros(out_c, dtype=np.int64)
    acc[order[order >= 0]] = lanes.reshape(-1)[order >= 0]
    return acc


@pytest.mark.parametrize("out_c, k", [(16, 64), (13, 27), (8, 8), (3, 40), (24, 100)])
def test_conv_layout_gives_the_dot_products(out_c: int, k: int) -> None:
    rng = np.random.default_rng(out_c * 1000 + k)
    w = rng.integers(-127, 128, (out_c, k)).astype(np.int8)
    bias = rng.integers(-5000, 5000, out_c)
    mult = rng.integers(2**30, 2**31, out_c)
    shift = rng.integers(-12, 2, out_c)
    layout = conv.conv_weights(w)
    assert layout.dtype == np.int8 and layout.size == -(-out_c // 8) * 8 * -(-k // 16) * 16
    flat = mve.requant_records(bias, mult, shift)
    assert flat.dtype == np.int32
    records = flat.reshape(-1, 4, 4)          # [record][bias, mult, left, right][lane]
    for _ in range(5):
        x = rng.integers(-128, 128, k)
        assert (_conv_kernel_model(layout, records, x, out_c, k) == w.astype(np.int64) @ x + bias).all()
    # every record lane carries its channel's constants (or zeros for padding lanes)
    order = mve.lane_order(out_c)
    for field, values in ((1, mult), (2, np.maximum(shift, 0)), (3, np.minimum(shift, 0))):
        lanes = records[:, field].reshape(-1)
        assert (lanes[order >= 0] == values[order[order >= 0]]).all() and (lanes[order < 0] == 0).all()


def test_per_tensor_records_hold_biases_only() -> None:
    bias = np.arange(11) * 3
    flat = mve.requant_records(bias, np.full(11, 7), np.full(11, -2), per_tensor=True)
    order = mve.lane_order(11)
    assert flat.tolist() == [int(bias[c]) if c >= 0 else 0 for c in order]


def test_lane_order_pairs_even_and_odd_channels() -> None:
    assert mve.lane_order(8).tolist() == [0, 2, 4, 6, 1, 3, 5, 7]
    assert mve.lane_order(11).tolist() == [0, 2, 4, 6, 1, 3, 5, 7, 8, 10, -1, -1, 9, -1, -1, -1]


@pytest.mark.parametrize("channels", [8, 12, 64])
def test_depthwise_layout_gives_the_taps(channels: int) -> None:
    """tf_mve_dw_pixel reads weights [group][tap][8] (channel order within the group) and its
    accumulators are even/odd channels: their records must follow lane_order too."""
    rng = np.random.default_rng(channels)
    w = rng.integers(-127, 128, (9, channels)).astype(np.int8)
    layout = conv.depthwise_weights(w)
    groups = -(-channels // 8)
    assert layout.shape == (groups, 9, 8)
    x = rng.integers(-128, 128, (9, groups * 8))          # the strip: taps x channels (padded)
    acc = np.einsum("gtc,tgc->gc", layout.astype(np.int64), x.reshape(9, groups, 8)).reshape(-1)[:channels]
    assert (acc == np.einsum("tc,tc->c", w.astype(np.int64), x[:, :channels])).all()
    bias = np.arange(channels)
    records = mve.requant_records(bias, np.ones(channels, np.int64), np.zeros(channels, np.int64)).reshape(-1, 4, 4)
    even_odd = records[:, 0].reshape(groups, 2, 4)
    for g in range(groups):
        for half in (0, 1):
            for i in range(4):
                c = 8 * g + 2 * i + half
                assert even_odd[g, half, i] == (c if c < channels else 0)


def test_strip_width_covers_the_last_tap() -> None:
    # SAME 3x3 stride 1 on width 5: one padding column each side
    geom = {"in_w": 5, "out_w": 5, "k_w": 3, "stride_w": 1, "dil_w": 1, "pad_w": 1}
    assert conv.strip_width(geom) == 7
    # SAME 3x3 stride 2 on width 48: no left padding, one column on the right
    geom = {"in_w": 48, "out_w": 24, "k_w": 3, "stride_w": 2, "dil_w": 1, "pad_w": 0}
    assert conv.strip_width(geom) == 49


# ---- shallow convolutions: the band (tf_mve_conv.h) -------------------------------------------------
def _band_rows(x: np.ndarray, geom: dict, oy: int, pad: int) -> np.ndarray:
    """tf_mve_band for output row oy, store by store: the band starts as pad_value; per kernel row,
    chunks of 16 // in_c input columns scattered with tf_mve_band_offsets, all 16 lanes but the last
    chunk's (predicated to its columns), rows outside the input as pad_value."""
    in_h, in_w, ic = x.shape
    k_h, slot, per = geom["k_h"], geom["k_h"] * ic, 16 // ic
    cols = conv.band_columns(geom)
    band = np.full(cols * slot + 64, pad, dtype=np.int64)      # + room to catch a store past the end
    offs = np.array([lane // ic * slot + lane % ic for lane in range(16)])
    n = min(in_w, cols - geom["pad_w"])
    for ky in range(k_h):
        iy = oy * geom["stride_h"] - geom["pad_h"] + ky
        row = x[iy].reshape(-1) if 0 <= iy < in_h else np.full(in_w * ic, pad)
        src = np.concatenate([row, np.full(16, 99)])              # bytes past the row: never stored
        dst, c = geom["pad_w"] * slot + ky * ic, 0
        while c + per < n:
            band[dst + offs] = src[c * ic:c * ic + 16]
            c, dst = c + per, dst + per * slot
        lanes = (n - c) * ic
        band[dst + offs[:lanes]] = src[c * ic:c * ic + lanes]
    assert (band[cols * slot:] == pad).all(), "a store past the band"
    return band[:cols * slot]


@pytest.mark.parametrize("in_hwc, out_c, kernel, stride, pads", [
    ((11, 13, 3), 12, (3, 3), 2, (0, 0)),      # vww's first layer's shape: pad only bottom / right
    ((12, 10, 1), 20, (10, 4), 2, (4, 1)),     # kws' first layer's: 16 columns per scatter
    ((7, 9, 8), 16, (3, 3), 1, (1, 1)),        # two columns per scatter
    ((6, 11, 5), 8, (2, 3), 1, (0, 1)),        # three columns (15 lanes) per scatter
])
def test_band_columns_give_the_convolution(in_hwc: tuple, out_c: int, kernel: tuple, stride: int,
                                           pads: tuple) -> None:
    """Pixel ox's column read at ox * stride_w * slot from the band, against the weights in
    mve_conv_rows' band order, equals the convolution with padded taps at the input zero point."""
    (in_h, in_w, ic), (k_h, k_w), (pad_h, pad_w) = in_hwc, kernel, pads
    out_h, out_w = (in_h + pad_h - k_h) // stride + 1, (in_w + pad_w - k_w) // stride + 1
    geom = {"in_h": in_h, "in_w": in_w, "in_c": ic, "out_h": out_h, "out_w": out_w, "out_c": out_c,
            "k_h": k_h, "k_w": k_w, "stride_h": stride, "stride_w": stride, "dil_h": 1, "dil_w": 1,
            "pad_h": pad_h, "pad_w": pad_w}
    assert conv.uses_band(geom)
    rng = np.random.default_rng(in_h * 100 + ic)
    x = rng.integers(-128, 128, in_hwc)
    w = rng.integers(-127, 128, (out_c, k_h, k_w, ic))
    pad = int(rng.integers(-20, 20))
    rows = conv.mve_conv_rows(w, band=True).astype(np.int64)
    padded = np.full((in_h + 2 * k_h, in_w + 2 * k_w, ic), pad)
    padded[pad_h:pad_h + in_h, pad_w:pad_w + in_w] = x
    k, slot = k_h * k_w * ic, k_h * ic
    for oy in range(out_h):
        band = _band_rows(x, geom, oy, pad)
        for ox in range(out_w):
            column = band[ox * stride * slot:ox * stride * slot + k]
            window = padded[oy * stride:oy * stride + k_h, ox * stride:ox * stride + k_w]
            assert (rows @ column == w.reshape(out_c, -1) @ window.reshape(-1)).all(), (oy, ox)


def test_band_only_for_shallow_undilated_filters() -> None:
    base = {"in_h": 96, "in_w": 96, "in_c": 3, "out_h": 48, "out_w": 48, "out_c": 8, "k_h": 3, "k_w": 3,
            "stride_h": 2, "stride_w": 2, "dil_h": 1, "dil_w": 1, "pad_h": 0, "pad_w": 0}
    assert conv.uses_band(base)
    assert conv.band_columns(base) == 97
    assert not conv.uses_band({**base, "in_c": 16})                     # im2col copies 16 bytes well
    assert not conv.uses_band({**base, "dil_h": 2, "dil_w": 2})
    assert not conv.uses_band({**base, "k_h": 1})                       # one row: nothing to gather
    assert not conv.uses_band({**base, "in_c": 1, "k_h": 20})           # lane 15's offset 300 > 255
    assert conv.uses_band({**base, "in_c": 1, "k_h": 17})               # 255


def test_mve_conv_scratch_and_modes(tmp_path: Path, model_dir: Path) -> None:
    """vww's first CONV_2D (3 input channels) takes the band, with two bands of scratch; its 1x1
    layers read the input in place."""
    graph = read_graph(model_dir / "vww_96_int8.tflite")
    AotRuntime().generate(graph, BoardCatalog().load("mps3-an547"), tmp_path, options={})
    model_c = (tmp_path / "model.c").read_text()
    first = model_c.split("tf_n0_params = ", 1)[1].split(";", 1)[0]
    assert ".direct = 2" in first and ".strip_w = 97" in first
    assert "TF_MVE_CONV_LAYER_ATTRS void tf_n0_run" in model_c
    convs = [line for line in model_c.splitlines() if line.startswith("static const tf_mve_conv_t ")]
    assert sum(".direct = 1," in line for line in convs) == 14     # its 13 1x1 layers and the FC
