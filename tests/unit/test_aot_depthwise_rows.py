"""tf_fast_dw_rows_s8 (tf_fast_depthwise.h, ops/depthwise.py): DEPTHWISE_CONV_2D by rows of int16
pairs, against TFLM's reference kernels on the host (C models of the SMLAD family), in both views
(rows along x, or along y for tall maps), with strides 1 and 2 on odd and even sizes, VALID and SAME
padding, 3- and 5-wide filters, 4 to 128 channels, small maps whose rows are 3 pixels (the stride-2
groups of 3), and written in place over its input (#14.1, #14.2)."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tinyflash.board import BoardCatalog
from tinyflash.generate.runtime.aot.codegen import AotRuntime, plan_graph
from tinyflash.generate.runtime.aot.host_harness import build_host_model
from tinyflash.generate.runtime.aot.ops import SUPPORTED
from tinyflash.run.golden import Golden

from ..support.budget import first_by_default
from ..support.op_harness import equal_on_random_inputs
from ..support.synthetic_layers import assert_not_all_clamped, conv_graph, rng_for
from ..support.tflite_writer import write_tflite

# (name, depthwise, in (h, w, c), out_c, kernel (h, w), stride, dilation, padding)
ROWS_CASES = [
    ("rows-c8-3x3-s1-same", True, (7, 9, 8), 8, (3, 3), 1, 1, "SAME"),
    ("rows-c4-3x3-s1-w1", True, (6, 1, 4), 4, (3, 3), 1, 1, "SAME"),
    ("rows-c12-3x3-s1-valid", True, (6, 9, 12), 12, (3, 3), 1, 1, "VALID"),
    ("rows-c16-3x3-s2-odd", True, (9, 7, 16), 16, (3, 3), 2, 1, "SAME"),
    ("rows-c8-3x3-s2-even", True, (12, 12, 8), 8, (3, 3), 2, 1, "SAME"),
    ("rows-c8-3x3-s2-valid", True, (10, 11, 8), 8, (3, 3), 2, 1, "VALID"),
    ("rows-c4-5x5-s1-same", True, (9, 10, 4), 4, (5, 5), 1, 1, "SAME"),
    ("rows-c8-3x5-s2-same", True, (8, 13, 8), 8, (3, 5), 2, 1, "SAME"),
    ("rows-c64-tall-kws", True, (25, 5, 64), 64, (3, 3), 1, 1, "SAME"),
    ("rows-c8-1x3-s1", True, (5, 11, 8), 8, (1, 3), 1, 1, "SAME"),
    ("rows-c4-7x7-s1-long", True, (40, 30, 4), 4, (7, 7), 1, 1, "SAME"),      # ring rows moved, overlapping
    ("rows-c8-3x3-s2-long", True, (41, 40, 8), 8, (3, 3), 2, 1, "SAME"),      # bands of a ring, stride 2
    ("rows-c128-3x3-s2-small", True, (6, 6, 128), 128, (3, 3), 2, 1, "SAME"),  # vww's 3 x 3 map: groups of 3
    ("rows-c4-3x3-s2-out7", True, (14, 13, 4), 4, (3, 3), 2, 1, "SAME"),     # a group of 4 then one of 3
    ("rows-c64-3x3-s2-odd-valid", True, (13, 15, 64), 64, (3, 3), 2, 1, "VALID"),
]
NAMES = [c[0] for c in ROWS_CASES]
# depth multiplier m = out_c / in_c > 1: the m output channels of an input channel over its one plane
MULTIPLIER_CASES = [
    ("mult-c1x8-3x3-s2-same", True, (96, 96, 1), 8, (3, 3), 2, 1, "SAME"),      # person_detect's first layer
    ("mult-c1x2-3x3-s1-odd", True, (9, 11, 1), 2, (3, 3), 1, 1, "SAME"),
    ("mult-c1x4-3x3-s2-valid-odd", True, (13, 15, 1), 4, (3, 3), 2, 1, "VALID"),
    ("mult-c2x4-3x3-s2-same-odd", True, (11, 9, 2), 8, (3, 3), 2, 1, "SAME"),
    ("mult-c2x8-3x3-s1-valid", True, (8, 7, 2), 16, (3, 3), 1, 1, "VALID"),
    ("mult-c1x8-5x5-s1-same", True, (10, 13, 1), 8, (5, 5), 1, 1, "SAME"),
    ("mult-c2x2-3x3-s1-same-w3", True, (7, 3, 2), 4, (3, 3), 1, 1, "SAME"),
    ("mult-c3x2-3x3-s1-same", True, (9, 8, 3), 6, (3, 3), 1, 1, "SAME"),
    ("mult-c4x2-3x3-s2-same", True, (9, 10, 4), 8, (3, 3), 2, 1, "SAME"),    # four planes per block
    ("mult-c1x8-3x3-s2-tall", True, (40, 5, 1), 8, (3, 3), 2, 1, "SAME"),
]
INPUTS = 6


def _case(name: str) -> tuple:
    return next(c for c in ROWS_CASES + MULTIPLIER_CASES if c[0] == name)


@pytest.mark.parametrize("in_place", [True, False], ids=["in-place", "apart"])
@pytest.mark.parametrize("activation", first_by_default(["RELU", "NONE"], 1))
@pytest.mark.parametrize("name", NAMES)
def test_rows_kernel_equals_tflm(name: str, activation: str, in_place: bool, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    if not in_place:     # the views the estimate prefers, some of which could not write in place
        monkeypatch.setitem(SUPPORTED, "DEPTHWISE_CONV_2D",
                            dataclasses.replace(SUPPORTED["DEPTHWISE_CONV_2D"], overwrites=None))
    rng = rng_for(name, activation)
    graph = conv_graph(_case(name), activation, rng)
    golden = Golden(write_tflite(graph, tmp_path / f"{name}.tflite"))
    board = BoardCatalog().load("mps2-an500")
    plan = plan_graph(graph, dsp_kernels=True)
    # every case's output fits in its input, which dies at the layer (the graph's input)
    assert plan.overwrites == ({0: 0} if in_place else {})
    out = AotRuntime().generate(graph, board, tmp_path, options={"kernels": "auto"})
    assert "tf_fast_dw_rows_s8" in (tmp_path / "model.c").read_text()
    model = build_host_model(list(out.sources), [tmp_path], tmp_path)
    assert_not_all_clamped(equal_on_random_inputs(model, golden, graph, rng, INPUTS))


def test_stride2_3x3_channels_carry_their_records(tmp_path: Path) -> None:
    """vww's 6x6x128 -> 3x3 layer: each channel's bias and requantisation record follow its weights
    (tf_dwr_t.fused, no separate bias and rq tables), and the result is still TFLM's."""
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    name = "rows-c128-3x3-s2-small"
    rng = rng_for(name, "RELU6")
    graph = conv_graph(_case(name), "RELU6", rng)
    golden = Golden(write_tflite(graph, tmp_path / f"{name}.tflite"))
    out = AotRuntime().generate(graph, BoardCatalog().load("mps2-an500"), tmp_path, options={"kernels": "auto"})
    model_c = (tmp_path / "model.c").read_text()
    assert ".fused = 1" in model_c and "_rq[" not in model_c
    assert re.search(r"tf_n\d+_weights\[1280\]", model_c)      # 128 channels x (6 weight words + 4 of record)
    model = build_host_model(list(out.sources), [tmp_path], tmp_path)
    for _ in range(INPUTS):
        x = rng.integers(-128, 128, size=graph.input.shape, dtype=np.int8)
        assert np.array_equal(model.invoke(x), golden.run(x))


@pytest.mark.parametrize("activation", ["RELU", "NONE"])
@pytest.mark.parametrize("name", first_by_default([c[0] for c in MULTIPLIER_CASES], 3))
def test_rows_kernel_with_a_depth_multiplier_equals_tflm(name: str, activation: str, tmp_path: Path) -> None:
    """Depth multiplier m > 1 (planes of one channel, or of four), never written in place."""
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    rng = rng_for(name, activation)
    graph = conv_graph(_case(name), activation, rng)
    golden = Golden(write_tflite(graph, tmp_path / f"{name}.tflite"))
    assert plan_graph(graph, dsp_kernels=True).overwrites == {}
    out = AotRuntime().generate(graph, BoardCatalog().load("mps2-an500"), tmp_path, options={"kernels": "auto"})
    model_c = (tmp_path / "model.c").read_text()
    _, _, (_, _, c), oc, *_ = _case(name)
    assert "tf_fast_dw_rows_s8" in model_c and f".m = {oc // c}," in model_c
    assert f".planes = {4 if c % 4 == 0 else 1}," in model_c
    model = build_host_model(list(out.sources), [tmp_path], tmp_path)
    assert_not_all_clamped(equal_on_random_inputs(model, golden, graph, rng, INPUTS))


@pytest.mark.parametrize("name", ["mult-c1x8-3x3-s2-same", "rows-c8-3x3-s1-same", "rows-c8-3x3-s2-valid"])
def test_a_narrow_activation_range_clamps_by_saturation(name: str, tmp_path: Path) -> None:
    """RELU6's range (both ends inside int8): SSAT to the fewest bits and one halfword clamp
    (tf_dwr_out, .sat > 0), still TFLM's results, the outputs reaching both ends of the range."""
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    rng = rng_for(name, "RELU6")
    graph = conv_graph(_case(name), "RELU6", rng)
    golden = Golden(write_tflite(graph, tmp_path / f"{name}.tflite"))
    out = AotRuntime().generate(graph, BoardCatalog().load("mps2-an500"), tmp_path, options={"kernels": "auto"})
    params = re.search(r"tf_dwr_t tf_n0_params = \{([^}]*)\}", (tmp_path / "model.c").read_text())
    assert params is not None
    fields = dict(re.findall(r"\.(\w+) = (-?\d+)", params.group(1)))
    act_min, act_max, sat = int(fields["act_min"]), int(fields["act_max"]), int(fields["sat"])
    assert -128 < act_min < act_max < 127 and sat > 0
    assert 1 << (sat - 1) < act_max - act_min + 1 <= 1 << sat and int(fields["lift"]) == act_min + (1 << (sat - 1))
    model = build_host_model(list(out.sources), [tmp_path], tmp_path)
    outputs = []
    for _ in range(INPUTS):
        x = rng.integers(-128, 128, size=graph.input.shape, dtype=np.int8)
        expected = golden.run(x)
        assert np.array_equal(model.invoke(x), expected)
        outputs.append(expected)
    values = np.concatenate(outputs)
    assert values.min() == act_min and values.max() == act_max and len(np.unique(values)) > 8
