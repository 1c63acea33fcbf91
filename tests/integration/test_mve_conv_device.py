"""Helium CONV_2D (tf_mve_conv.h) on the emulated Cortex-M55 in the shapes that steer its paths,
against TFLM's reference kernels on random inputs: the band of shallow filters (16, 5 or 2 input
columns per scatter; an odd output width, so that pixel pairs span two rows and two bands; padding
on one side or both; an odd pixel count, the last pixel alone), the two-pixel dot products' chunk
loop with and without a partial chunk, a strided 1x1 filter, output channels not a multiple of 8;
and a residual ADD folded into the convolution (tf_mve_res_t), either ADD input, written over the
skip tensor. The MLPerf models cover one shape of each (test_mve_bench.py); the first case of each
test runs by default."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ..support.device_check import run_on_device
from ..support.model_builder import ModelBuilder, q
from ..support.synthetic_layers import assert_not_all_clamped, conv_graph, rng_for

pytestmark = [pytest.mark.qemu]

INPUTS = 3
# (name, depthwise, in (h, w, c), out_c, kernel (h, w), stride, dilation, padding): synthetic_layers'
# form; then the activation and what model.c must show for the case to test its path
CASES = [
    (("mvc-band-c3-3x3-s2-oddw", False, (11, 13, 3), 12, (3, 3), 2, 1, "SAME"), "RELU", ".direct = 2,"),
    (("mvc-band-c1-10x4-s2", False, (17, 10, 1), 20, (10, 4), 2, 1, "SAME"), "NONE", ".direct = 2,"),
    (("mvc-band-c8-3x3-valid", False, (7, 9, 8), 16, (3, 3), 1, 1, "VALID"), "NONE", ".direct = 2,"),
    (("mvc-band-c5-2x3-s1", False, (6, 11, 5), 8, (2, 3), 1, 1, "SAME"), "RELU", ".direct = 2,"),
    (("mvc-im2col-c20-k180", False, (6, 7, 20), 24, (3, 3), 1, 1, "SAME"), "NONE", ".k = 180, .direct = 0,"),
    (("mvc-pw-c144-odd", False, (5, 5, 144), 8, (1, 1), 1, 1, "VALID"), "RELU", ".k = 144, .direct = 1,"),
    (("mvc-pw-c40-s2", False, (9, 9, 40), 13, (1, 1), 2, 1, "VALID"), "NONE", ".k = 40, .direct = 1,"),
]
PARAMS = [pytest.param(*case, id=case[0][0], marks=() if i == 0 else pytest.mark.slow)
          for i, case in enumerate(CASES)]


# residual blocks x -> conv -> conv (+ x): (name, input h w c, middle depth, ADD input the second
# convolution feeds, ADD activation)
BLOCKS = [
    ("mvr-c8-odd-pixels", (5, 7, 8), 8, 1, "RELU"),         # 35 pixels: pairs across rows, a last alone
    ("mvr-c3-band-even", (6, 8, 3), 12, 0, "NONE"),         # the first convolution a band; 48 pixels
    ("mvr-c16-1x1", (4, 6, 16), 24, 0, "RELU6"),
]
BLOCK_PARAMS = [pytest.param(case, id=case[0], marks=() if i == 0 else pytest.mark.slow)
                for i, case in enumerate(BLOCKS)]


def _run(graph, name: str, rng: np.random.Generator, tmp_path: Path, scons_cache: Path) -> str:
    """Builds graph for mps3-an547, checks INPUTS random inputs against the golden; model.c."""
    run = run_on_device(graph, name, "mps3-an547", rng, INPUTS, tmp_path, scons_cache)
    assert_not_all_clamped(run.outputs)
    return run.model_c


@pytest.mark.parametrize("case, activation, path", PARAMS)
def test_helium_conv_is_bit_exact(case: tuple, activation: str, path: str, qemu: None, tmp_path: Path,
                                  scons_cache: Path) -> None:
    model_c = _run(conv_graph(case, activation, rng_for(case[0], activation)), case[0],
                   rng_for(case[0], "inputs"), tmp_path, scons_cache)
    assert "tf_mve_conv_s8(" in model_c and path in model_c, f"{case[0]} did not take its path; it tests nothing"


@pytest.mark.parametrize("case", BLOCK_PARAMS)
def test_helium_residual_is_bit_exact(case: tuple, qemu: None, tmp_path: Path, scons_cache: Path) -> None:
    name, (h, w, c), mid, position, activation = case
    b = ModelBuilder(seed=BLOCKS.index(case) + 70)
    x = b.model_input("x", (1, h, w, c), quant=q(0.05, 3))
    kernel = 1 if name.endswith("1x1") else 3
    y = b.conv(x, mid, kernel=kernel, activation="RELU", name="c1")
    z = b.conv(y, c, kernel=kernel, name="c2")
    r = b.op("ADD", (z, x) if position == 0 else (x, z), "residual", (1, h, w, c), calibrate=True,
             activation=activation)
    model_c = _run(b.graph(r), name, rng_for(name, "inputs"), tmp_path, scons_cache)
    assert model_c.count("tf_mve_conv_res_s8(") == 1 and f".position = {position}," in model_c
    assert "tf_mve_add_s8(" not in model_c
