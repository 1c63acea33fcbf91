"""scripts/zoo.py on QEMU (#13.3): a folder with a model that runs and one that cannot be read gives two
rows -- the first built on the chosen runtime, verified, measured; the second with its reason -- and
exit status 1 because not every model ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import REPO
from ..support.synthetic_layers import case_graph
from ..support.tflite_writer import write_tflite

pytestmark = pytest.mark.qemu


def test_zoo_builds_verifies_and_reports_every_model(qemu: None, tmp_path: Path, scons_cache: Path) -> None:
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    write_tflite(case_graph("fc-b3-64x9", "RELU"), zoo / "fc.tflite")
    (zoo / "truncated.tflite").write_bytes((zoo / "fc.tflite").read_bytes()[:200])
    env = dict(os.environ, TINYFLASH_CACHE_DIR=str(scons_cache), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "zoo.py"), str(zoo), "--verify-count", "2",
                           "--out", str(tmp_path / "out"), "--json"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["board"] == "mps2-an500" and data["runtime"] == "auto"
    fc, truncated = data["models"]
    assert fc["model"] == "fc.tflite" and fc["operators"] == ["FULLY_CONNECTED"] and fc["runtime"] == "aot"
    assert fc["runtime_reason"] == "aot runs every operator of the model (FULLY_CONNECTED)"
    assert fc["verified"] is True and fc["max_abs_diff"] <= 1 and fc["problem"] == ""
    assert fc["macs"] == 3 * 64 * 9 and fc["instructions"] > fc["macs"] / 4
    assert fc["instructions_per_mac"] == pytest.approx(fc["instructions"] / fc["macs"], abs=1e-3)
    assert fc["arena_bytes"] > 0 and fc["flash_bytes"] > 64 * 9
    # built where 'tinyflash bench' would, under --out
    assert json.loads((tmp_path / "out/mps2-an500/fc-aot/project.json").read_text())["runtime"] == "aot"
    assert truncated["model"] == "truncated.tflite" and truncated["stage"] == "read" and truncated["problem"]
    assert truncated["runtime"] is None and truncated["verified"] is None
