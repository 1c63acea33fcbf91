"""The shape-specialised kernels on the emulated cores themselves, on the synthetic one-layer graphs of
tests/support/synthetic_layers.py, against TFLM's reference kernels on the host (the graph written to a
.tflite file).

The host harness cannot run Helium (tf_mve_*.h need arm_mve.h), and it runs the SMLAD kernels through
C models of the intrinsics, so a shape the MLPerf models lack (dilation, depths that are not a multiple
of 8, padded pools...) is checked on the real instructions only here. Default run: the Helium path on
the Cortex-M55 (mps3-an547); -m slow adds the SMLAD path on the Cortex-M7 (mps2-an500)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support.device_check import run_on_device
from ..support.synthetic_layers import HELIUM_CASES, SMLAD_CASES, assert_not_all_clamped, case_graph, rng_for

pytestmark = pytest.mark.qemu

INPUTS = 6
# board -> what model.c must call for the case to test the board's kernels at all
PATHS = {"mps3-an547": "tf_mve_", "mps2-an500": "tf_fast_"}


def _check(board_name: str, case: str, activation: str, tmp_path: Path, cache: Path) -> None:
    rng = rng_for(case, activation)
    graph = case_graph(case, activation, rng)
    run = run_on_device(graph, case, board_name, rng, INPUTS, tmp_path, cache)
    assert PATHS[board_name] in run.model_c, f"{case} did not take the {board_name} kernels; it tests nothing"
    assert_not_all_clamped(run.outputs)


@pytest.mark.parametrize("activation", ["NONE", "RELU"])
@pytest.mark.parametrize("case", HELIUM_CASES)
def test_helium_kernels_on_the_cortex_m55(case: str, activation: str, qemu: None, tmp_path: Path,
                                          scons_cache: Path) -> None:
    _check("mps3-an547", case, activation, tmp_path, scons_cache)


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["NONE", "RELU"])
@pytest.mark.parametrize("case", SMLAD_CASES)
def test_smlad_kernels_on_the_cortex_m7(case: str, activation: str, qemu: None, tmp_path: Path,
                                        scons_cache: Path) -> None:
    _check("mps2-an500", case, activation, tmp_path, scons_cache)
