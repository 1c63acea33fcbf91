"""tf_fast_fc.h's FULLY_CONNECTED kernel over int16-widened weights on the real instructions (LDRD,
LDM into r8-r11, SMLAD in inline assembly, which the host harness replaces by C models) of the
emulated Cortex-M7 and Cortex-M4, on the odd shapes of tests/support/fc_cases.py, against TFLM's
reference kernels on the host."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ..support.budget import first_by_default
from ..support.device_check import run_on_device
from ..support.fc_cases import CASES, fc_graph

pytestmark = pytest.mark.qemu

INPUTS = 6


@pytest.mark.parametrize("board_name", ["mps2-an500", "mps2-an386"])
@pytest.mark.parametrize("case", first_by_default(CASES, 1, ids=lambda c: c[0]))
def test_widened_fc_on_the_core(board_name: str, case: tuple, qemu: None, tmp_path: Path,
                                scons_cache: Path) -> None:
    graph = fc_graph(*case)
    run = run_on_device(graph, case[0], board_name, np.random.default_rng(2), INPUTS, tmp_path, scons_cache)
    assert "tf_fast_fc_w16_s8(" in run.model_c, f"{case[0]} did not take the widened kernel; it tests nothing"
