"""The realistic models of tests/support/realistic_models.py on emulated boards (#13): ``tinyflash bench``
with the default ``--runtime auto`` picks aot and verifies bit-exact against TFLM's reference kernels
(the DSP kernels on the Cortex-M7, Helium on the Cortex-M55); with one of their operators taken out of
aot's table, auto falls back to TFLM when its sources are present and verifies too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinyflash.deps.sources import TFLM_DIR_ENV
from tinyflash.generate.runtime.aot import ops as aot_ops

from ..support.realistic_models import MODELS
from ..support.tflite_writer import write_tflite

pytestmark = pytest.mark.qemu
# two models in the default run (one per board); every model on both boards with -m slow
DEFAULT = {("mps2-an500", "segmenter"), ("mps3-an547", "pytorch_block")}
CASES = [pytest.param(board, name, marks=() if (board, name) in DEFAULT else pytest.mark.slow)
         for board in ("mps2-an500", "mps3-an547") for name in sorted(MODELS)]


@pytest.mark.parametrize("board,name", CASES)
def test_bench_picks_aot_and_verifies(board: str, name: str, qemu: None, tmp_path: Path, scons_cache: Path) -> None:
    model = write_tflite(MODELS[name](), tmp_path / f"{name}.tflite")
    env = dict(os.environ, TINYFLASH_CACHE_DIR=str(scons_cache))
    env.pop(TFLM_DIR_ENV, None)
    proc = subprocess.run([sys.executable, "-m", "tinyflash", "bench", "-b", board, "-m", str(model),
                           "--verify-count", "3", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert results["runtime"] == "aot", results.get("runtime_reason")
    assert results["verification"]["passed"] is True and results["verification"]["max_abs_diff"] == 0


@pytest.mark.slow
def test_without_an_aot_operator_auto_falls_back_to_tflm(qemu: None, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tinyflash import pipeline
    from tinyflash.board import BoardCatalog
    from tinyflash.deps.errors import DepsError
    from tinyflash.deps.sources import find_tflm_sources
    from tinyflash.model import resolve_model
    from tinyflash.report.results import result_dict

    try:
        find_tflm_sources()
    except DepsError as exc:
        pytest.skip(f"TFLM sources not found ({exc.message}): run 'tinyflash deps' or set {TFLM_DIR_ENV}")
    monkeypatch.delitem(aot_ops.SUPPORTED, "HARD_SWISH")
    model = write_tflite(MODELS["pytorch_block"](), tmp_path / "pytorch_block.tflite")
    monkeypatch.chdir(tmp_path)
    spec = resolve_model(str(model), [])
    firmware = pipeline.build(BoardCatalog().load("mps2-an500"), spec)
    data = result_dict(spec, pipeline.run(firmware, verify_count=3))
    assert data["runtime"] == "tflm" and data["runtime_reason"].startswith("aot lacks HARD_SWISH (node 2)")
    assert data["verification"]["passed"] is True
