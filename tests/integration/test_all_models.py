"""Every MLPerf Tiny model on the own runtime, verified on emulated boards. The default run covers
kws and ic on one board each; the whole board x model matrix is a slow suite (pytest -m slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import EMULATED_BOARDS

pytestmark = pytest.mark.qemu


def _bench(board: str, model: str, model_dir: Path, cwd: Path, cache: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "tinyflash", "bench", "--board", board, "--model", model,
                           "--model-dir", str(model_dir), "--json", "--verify-count", "2"],
                          capture_output=True, text=True, cwd=cwd, timeout=900,
                          env=dict(os.environ, TINYFLASH_CACHE_DIR=str(cache)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _check(data: dict) -> None:
    assert data["verification"]["passed"] is True
    assert data["verification"]["max_abs_diff"] == 0
    # Helium's VMLADAV does 16 int8 MACs in one instruction: no fewer instructions than MACs / 16
    assert data["performance"]["instructions"] > data["macs"] / 16 > 0


@pytest.mark.parametrize("board, model", [("mps3-an547", "kws"), ("netduinoplus2", "ic")])
def test_model_verifies(board: str, model: str, model_dir: Path, qemu: None, tmp_path: Path,
                        scons_cache: Path) -> None:
    _check(_bench(board, model, model_dir, tmp_path, scons_cache))


@pytest.mark.slow
@pytest.mark.parametrize("model", ["kws", "vww", "ic"])
@pytest.mark.parametrize("board", EMULATED_BOARDS)
def test_every_model_on_every_board(board: str, model: str, model_dir: Path, qemu: None, tmp_path: Path,
                                    scons_cache: Path) -> None:
    _check(_bench(board, model, model_dir, tmp_path, scons_cache))
