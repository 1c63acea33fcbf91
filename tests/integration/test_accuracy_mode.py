"""Accuracy mode on an emulated board, on a dataset made on the fly and labelled by the host
reference, with result folders checked against the submission checker's regexes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyflash.model import read_graph, resolve_model
from tinyflash.run.accuracy import LabelRow, score, windows
from tinyflash.run.golden import Golden, device_input, expected_results

pytestmark = pytest.mark.qemu

# tools/submission/submission_checker.py (spec §3.7)
CHECKER = {
    "top1": re.compile(r".* Top[- ]1%?\s?[:=] ([\d\.]+).*"),
    "auc": re.compile(r".* AUC\s?[:=] ([\d\.]+).*"),
    "throughput": re.compile(r".* Median throughput is\s+([\d\.]+) inf\./sec\..*"),
}


def _ad_dataset(root: Path, model_dir: Path) -> float:
    """Six ad01 files of three windows each; label 1 for the three with the highest host score.
    Returns the AUC the host reference gives."""
    spec = resolve_model("ad", [model_dir], environ={})
    io = spec.benchmark.io(read_graph(spec.path))
    golden = Golden(spec.path)
    rng = np.random.default_rng(7)
    folder = root / "ad01"
    folder.mkdir(parents=True)
    files = {}
    for i in range(6):
        scale = 1.0 + i    # spread the anomaly scores
        data = (rng.normal(-30, 8 * scale, 640 + 2 * 128)).astype("<f4").tobytes()
        name = f"file_{i}.bin"
        (folder / name).write_bytes(data)
        row = LabelRow(name, 2, 0, 2560, 512)
        files[name] = [expected_results(io, w, golden.run(device_input(io, w)))
                       for w in windows(data, row)]
    means = {name: float(np.mean(v)) for name, v in files.items()}
    top = sorted(means, key=means.get)[-3:]
    rows = [LabelRow(name, 2, int(name in top), 2560, 512) for name in files]
    (folder / "y_labels.csv").write_text("".join(f"{r.file},2,{r.label},2560,512\n" for r in rows))
    return score(rows, files).auc


def test_accuracy_mode_matches_host_reference(model_dir: Path, qemu: None, tmp_path: Path,
                                              scons_cache: Path) -> None:
    host_auc = _ad_dataset(tmp_path / "data", model_dir)
    assert host_auc == 1.0
    env = dict(os.environ, TINYFLASH_CACHE_DIR=str(scons_cache))
    proc = subprocess.run([sys.executable, "-m", "tinyflash", "run", "--board", "mps2-an500", "--model", "ad",
                           "--model-dir", str(model_dir), "--mode", "accuracy", "--dataset", str(tmp_path / "data"),
                           "--json"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["files"] == 6 and summary["auc"] == pytest.approx(host_auc)
    folder = Path(tmp_path, summary["submission_folder"])
    text = (folder / "results.txt").read_text()
    assert float(CHECKER["auc"].search(text).group(1)) == pytest.approx(1.0)
    assert CHECKER["top1"].search(text)
    records = json.loads((folder / "results.json").read_text())
    assert len(records) == 6 * 3 and all(r["infer"]["iterations"] == 1 for r in records)
    log = (folder / "log.txt").read_text()
    assert log.count("> infer 1 0%") == 18
    provenance = json.loads((folder / "tinyflash.json").read_text())
    assert provenance["model_sha256"] and provenance["toolchain"].startswith("arm-none-eabi-gcc")


def test_performance_folder_has_the_median_line(model_dir: Path, qemu: None, tmp_path: Path,
                                                scons_cache: Path) -> None:
    env = dict(os.environ, TINYFLASH_CACHE_DIR=str(scons_cache))
    proc = subprocess.run([sys.executable, "-m", "tinyflash", "bench", "--board", "mps2-an386", "--model", "ad",
                           "--model-dir", str(model_dir), "--json", "--verify-count", "1"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    text = (Path(tmp_path, data["submission_folder"]) / "results.txt").read_text()
    assert float(CHECKER["throughput"].search(text).group(1)) == pytest.approx(
        data["performance"]["throughput_ips"], rel=1e-3)
    assert len(data["performance"]["windows"]) == 5


def test_kws_accuracy_agrees_with_host_reference(model_dir: Path, qemu: None, tmp_path: Path,
                                                 scons_cache: Path) -> None:
    """Random kws inputs labelled by the host reference (TFLM kernels): the device must agree on all."""
    spec = resolve_model("kws", [model_dir], environ={})
    io = spec.benchmark.io(read_graph(spec.path))
    golden = Golden(spec.path)
    rng = np.random.default_rng(11)
    folder = tmp_path / "data" / "kws01"
    folder.mkdir(parents=True)
    lines = []
    for i in range(24):
        data = rng.integers(0, 256, io.upload_bytes, dtype=np.uint8).tobytes()
        label = int(np.argmax(golden.run(device_input(io, data))))
        (folder / f"tst_{i:06d}.bin").write_bytes(data)
        lines.append(f"tst_{i:06d}.bin,12,{label}\n")
    (folder / "y_labels.csv").write_text("".join(lines))
    env = dict(os.environ, TINYFLASH_CACHE_DIR=str(scons_cache))
    proc = subprocess.run([sys.executable, "-m", "tinyflash", "run", "--board", "mps2-an500", "--model", "kws",
                           "--model-dir", str(model_dir), "--mode", "accuracy", "--dataset", str(tmp_path / "data"),
                           "--json"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["files"] == 24 and summary["top1_percent"] == 100.0
    text = (Path(tmp_path, summary["submission_folder"]) / "results.txt").read_text()
    assert float(CHECKER["top1"].search(text).group(1)) == 100.0
    assert CHECKER["auc"].search(text)
