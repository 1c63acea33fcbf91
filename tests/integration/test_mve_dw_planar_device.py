"""The channel-planar Helium depthwise kernel (tf_mve_dw_planar.h) on the emulated Cortex-M55, in the
shapes that steer its paths (tall and narrow: the transposed view; stride 1 up to 3x3: two rows and two
columns per load; a 4x4 or a 2x3 filter, stride 2: one; channel counts not a multiple of 8; odd row
counts and partial blocks), against TFLM's reference kernels on random inputs. The MLPerf models
cover 3x3 only (test_mve_bench.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support.device_check import run_on_device
from ..support.synthetic_layers import assert_not_all_clamped, conv_graph, rng_for

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

INPUTS = 4
# (name, depthwise, in (h, w, c), out_c, kernel (h, w), stride, dilation, padding): synthetic_layers' form
CASES = [
    ("dwp-c20-3x3-s1-tall", True, (13, 5, 20), 20, (3, 3), 1, 1, "SAME"),
    ("dwp-c11-4x4-s1-same", True, (9, 10, 11), 11, (4, 4), 1, 1, "SAME"),
    ("dwp-c24-2x3-s2-valid", True, (11, 19, 24), 24, (2, 3), 2, 1, "VALID"),
    ("dwp-c8-3x3-s1-wide", True, (5, 21, 8), 8, (3, 3), 1, 1, "SAME"),
]


@pytest.mark.parametrize("activation", ["NONE", "RELU"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_planar_depthwise_is_bit_exact(case: tuple, activation: str, qemu: None, tmp_path: Path,
                                       scons_cache: Path) -> None:
    rng = rng_for(case[0], activation)
    graph = conv_graph(case, activation, rng)
    run = run_on_device(graph, case[0], "mps3-an547", rng, INPUTS, tmp_path, scons_cache)
    assert "tf_mve_dw_planar_s8(" in run.model_c, f"{case[0]} did not take the planar kernel; it tests nothing"
    assert_not_all_clamped(run.outputs)
