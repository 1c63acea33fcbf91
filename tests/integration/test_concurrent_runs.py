"""Two bench runs on one --out at once (#11.2): they used to report each other's flash size and
instruction count. Now one fails at once naming the other's PID, and the other reports its own firmware."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.qemu


def test_two_runs_on_one_out_dir(model_dir: Path, qemu: None, tmp_path: Path) -> None:
    out = tmp_path / "D"
    env = dict(os.environ, TINYFLASH_CACHE_DIR=str(tmp_path / "cache"))
    procs = {}
    for level in ("0", "2"):
        procs[level] = subprocess.Popen(
            [sys.executable, "-m", "tinyflash", "bench", "-b", "mps2-an500", "-m", "ad", "--model-dir",
             str(model_dir), "--out", str(out), "-O", level, "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    started = time.monotonic()
    finished: dict[str, tuple[int, str, str, float]] = {}
    while len(finished) < 2:
        for level, proc in procs.items():
            if level not in finished and proc.poll() is not None:
                stdout, stderr = proc.communicate()
                finished[level] = (proc.returncode, stdout, stderr, time.monotonic() - started)
        assert time.monotonic() - started < 600, "bench runs did not finish"
        time.sleep(0.1)

    failed = [level for level, (rc, *_) in finished.items() if rc != 0]
    assert len(failed) == 1, {level: (rc, err[-2000:]) for level, (rc, _, err, _) in finished.items()}
    loser, winner = failed[0], ("2" if failed[0] == "0" else "0")
    rc, _, stderr, seconds = finished[loser]
    assert rc == 1 and f"in use by process {procs[winner].pid}" in stderr, stderr
    assert seconds < finished[winner][3] and seconds < 60          # at once, not after the other's run

    rc, stdout, stderr, _ = finished[winner]
    data = json.loads(stdout)
    assert data["build"]["optimization"] == f"-O{winner}"
    elf = out / "build" / "firmware.elf"
    assert data["build"]["elf_sha256"] == hashlib.sha256(elf.read_bytes()).hexdigest()
    assert data["verification"]["passed"] is True
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["build"]["elf_sha256"] == data["build"]["elf_sha256"]
    assert on_disk["performance"]["instructions"] == data["performance"]["instructions"]
    assert not (out / ".tinyflash.lock").read_text().strip()           # released, no stale PID
