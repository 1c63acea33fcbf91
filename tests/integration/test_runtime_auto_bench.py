"""``--runtime auto`` end to end (#13.2): a plain ``tinyflash bench`` picks the aot runtime for a model it
covers, builds in the folder --runtime aot always used, and says why in its output and results.json;
a build that no runtime can take stops before any file is written, with every node listed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinyflash.cli.main import main
from tinyflash.deps.sources import TFLM_DIR_ENV
from tinyflash.generate.runtime.aot import ops as aot_ops

pytestmark = pytest.mark.qemu


def test_bench_without_runtime_picks_aot_and_says_so(model_dir: Path, qemu: None, tmp_path: Path,
                                                     scons_cache: Path) -> None:
    env = dict(os.environ, TINYFLASH_CACHE_DIR=str(scons_cache))
    env.pop(TFLM_DIR_ENV, None)       # aot is chosen on its own merits, TFLM present or not
    proc = subprocess.run([sys.executable, "-m", "tinyflash", "bench", "-b", "mps2-an500", "-m", "ad",
                           "--model-dir", str(model_dir), "--verify-count", "1"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    reason = "aot runs every operator of the model (FULLY_CONNECTED)"
    assert f"runtime aot: {reason}" in proc.stderr                # the progress line
    assert f"aot ({reason})" in proc.stdout                       # the result table's runtime row
    results = json.loads((tmp_path / "tinyflash-out/mps2-an500/ad-aot/results.json").read_text())
    assert results["runtime"] == "aot" and results["runtime_reason"] == reason
    assert results["verification"]["passed"] is True
    assert not (tmp_path / "tinyflash-out/mps2-an500/ad-auto").exists()
    # the submission folder's provenance says it too
    provenance = json.loads((tmp_path / "tinyflash-out/mps2-an500/ad-aot/results/performance/tinyflash.json")
                            .read_text())
    assert provenance["runtime"] == "aot" and provenance["runtime_reason"] == reason


def test_no_runtime_for_the_model_is_one_error_before_any_work(model_dir: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delitem(aot_ops.SUPPORTED, "DEPTHWISE_CONV_2D")
    monkeypatch.delitem(aot_ops.SUPPORTED, "AVERAGE_POOL_2D")
    monkeypatch.setenv(TFLM_DIR_ENV, str(tmp_path / "no-tflm"))
    monkeypatch.chdir(tmp_path)
    rc = main(["build", "-b", "mps2-an500", "-m", "kws", "--model-dir", str(model_dir)])
    err = capsys.readouterr().err
    assert rc == 1
    assert "no runtime can run kws (--runtime auto):" in err
    assert ("aot: DEPTHWISE_CONV_2D (node 1), DEPTHWISE_CONV_2D (node 3), DEPTHWISE_CONV_2D (node 5), "
            "DEPTHWISE_CONV_2D (node 7), AVERAGE_POOL_2D (node 9): supported operators:") in err
    assert f"tflm: TFLM runtime: TFLM directory {tmp_path / 'no-tflm'} does not exist" in err
    assert "hint: TFLM runs more operators: run 'tinyflash deps'" in err
    assert not (tmp_path / "tinyflash-out").exists()


def test_with_an_operator_removed_from_aot_auto_falls_back_to_tflm_and_verifies(
        model_dir: Path, qemu: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole fallback on a device: TFLM's reference kernels (its library built once per core in the
    user's object cache, as test_tflm_bench.py does), verified against the golden, the reason recorded."""
    from tinyflash import pipeline
    from tinyflash.board import BoardCatalog
    from tinyflash.deps.errors import DepsError
    from tinyflash.deps.sources import find_tflm_sources
    from tinyflash.model import resolve_model
    from tinyflash.report.results import result_dict

    try:
        sources = find_tflm_sources()
    except DepsError as exc:
        pytest.skip(f"TFLM sources not found ({exc.message}): run 'tinyflash deps' or set {TFLM_DIR_ENV}")
    monkeypatch.delitem(aot_ops.SUPPORTED, "FULLY_CONNECTED")
    board = BoardCatalog().load("mps2-an500")
    spec = resolve_model("ad", [model_dir])
    monkeypatch.chdir(tmp_path)
    firmware = pipeline.build(board, spec)               # runtime: auto, the default
    assert firmware.project.directory == Path("tinyflash-out/mps2-an500/ad-tflm")
    result = pipeline.run(firmware, verify_count=1)
    data = result_dict(spec, result)
    assert data["runtime"] == "tflm" and result.device_info["runtime"] == "tflm-reference"
    nodes = ", ".join(str(i) for i in range(10))
    assert data["runtime_reason"] == f"aot lacks FULLY_CONNECTED (nodes {nodes}); TFLM sources found at {sources.root}"
    assert data["verification"]["passed"] is True
