#!/usr/bin/env python3
"""Wall time of the emulated nightly matrix (examples/farm.yaml x examples/nightly.yaml): cold (an empty
SCons object cache and no build trees) and warm (a second night on the same farm directory and cache).

Not a test: prints a small table. Usage:
    python scripts/farm_benchmark.py [--model-dir DIR] [--models ad,kws] [--verify-count N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def night(farm: Path, cache: Path, inventory: Path, matrix: Path, model_dirs: list[str], verify_count: int,
          night_id: str) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "tinyflash", "farm", "run", "--inventory", str(inventory), "--matrix",
           str(matrix), "--out", str(farm), "--night-id", night_id, "--replace", "--json", "-q",
           "--verify-count", str(verify_count)]
    for d in model_dirs:
        cmd += ["--model-dir", d]
    # --replace: a kept farm directory (--keep) is measured again under the same two night ids
    env = dict(os.environ, TINYFLASH_CACHE_DIR=str(cache))
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=farm)
    elapsed = time.monotonic() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"farm run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed, json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", action="append", default=[],
                        help="MLPerf Tiny models (default: ../shared/mlperf_tiny/models or TINYFLASH_MODEL_DIR)")
    parser.add_argument("--models", default="", help="comma-separated models instead of the matrix's "
                                                      "(default: kws, vww, ic, ad)")
    parser.add_argument("--verify-count", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the farm directory here")
    args = parser.parse_args()
    model_dirs = args.model_dir or [str(REPO.parent / "shared" / "mlperf_tiny" / "models")]
    work = Path(tempfile.mkdtemp(prefix="tinyflash-farm-bench-"))
    farm, cache = (args.keep or work / "farm"), work / "cache"
    farm.mkdir(parents=True, exist_ok=True)
    matrix = REPO / "examples" / "nightly.yaml"
    if args.models:
        text = re.sub(r"(?m)^models: \[[^\]]*\]", f"models: [{args.models}]", matrix.read_text())
        matrix = work / "nightly.yaml"
        matrix.write_text(text)
    inventory = REPO / "examples" / "farm.yaml"
    try:
        rows = []
        for label, night_id in (("cold (empty object cache)", "cold"), ("warm (object cache + build trees)", "warm")):
            elapsed, data = night(farm, cache, inventory, matrix, model_dirs, args.verify_count, night_id)
            night_json = json.loads(Path(data["files"]["json"]).read_text())
            build_s = sum(f["seconds"] for f in night_json["firmware"])
            run_s = sum(j["seconds"] for j in night_json["jobs"])
            rows.append((label, elapsed, data["summary"], len(night_json["firmware"]), build_s, run_s,
                         data["analysis"]["verdict"]))
        print(f"emulated nightly matrix: {inventory.name} x {matrix.name}, verify_count {args.verify_count}, "
              f"{os.cpu_count()} CPU(s)")
        print(f"{'night':<36} {'wall s':>7} {'jobs':>5} {'passed':>6} {'firmware':>8} {'build s*':>8} {'run s*':>7}")
        for label, elapsed, summary, fw, build_s, run_s, _ in rows:
            print(f"{label:<36} {elapsed:7.1f} {summary['total']:>5} {summary['passed']:>6} {fw:>8} "
                  f"{build_s:8.1f} {run_s:7.1f}")
        print("* summed over parallel builds/units (2 build workers; jobs run on units in parallel)")
        print(f"warm night verdict: {rows[-1][-1]}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
