#!/usr/bin/env python3
"""tinyflash benchmark script (not a test): build times and instructions per inference.

For each model x emulated board it prints: cold build (empty object cache, fresh directory), warm
rebuild (nothing changed), rebuild from the object cache (build/ removed), code generation time,
flash bytes, activation arena, kernel scratch outside the arena (im2col columns), instructions per inference under QEMU -icount and per MAC, and
whether the device matched the golden.

    python scripts/benchmark.py --model-dir ../shared/mlperf_tiny/models [--models ad,kws] [--kernels both]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tinyflash import pipeline
from tinyflash.board import BoardCatalog
from tinyflash.build.scons import build_firmware
from tinyflash.generate.project import BuildOptions, generate_project
from tinyflash.model import read_graph, resolve_model

EMULATED = ["mps2-an386", "mps2-an500", "mps3-an547", "netduinoplus2"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, action="append", default=[])
    parser.add_argument("--models", default="ad")
    parser.add_argument("--boards", default=",".join(EMULATED))
    parser.add_argument("--kernels", choices=["auto", "portable", "both"], default="auto")
    args = parser.parse_args()
    kernel_modes = ["portable", "auto"] if args.kernels == "both" else [args.kernels]
    catalog = BoardCatalog()
    work = Path(tempfile.mkdtemp(prefix="tinyflash-bench-"))
    header = (f"{'model':<5} {'board':<14} {'kernels':<8} {'gen s':>6} {'cold s':>7} {'warm s':>7} "
              f"{'cache s':>7} {'flash B':>9} {'arena B':>8} {'scratch B':>9} {'instr/inf':>12} {'instr/MAC':>9}  verified")
    print(header)
    print("-" * len(header))
    try:
        for model in args.models.split(","):
            spec = resolve_model(model, args.model_dir)
            graph = read_graph(spec.path)
            for board_name in args.boards.split(","):
                board = catalog.load(board_name)
                for kernels in kernel_modes:
                    cache = work / f"cache-{model}-{board_name}-{kernels}"
                    out = work / f"{model}-{board_name}-{kernels}"
                    options = BuildOptions(kernels=kernels)
                    t0 = time.monotonic()
                    project = generate_project(board, spec, graph, out, options=options)
                    gen = time.monotonic() - t0
                    cold = build_firmware(project, cache_dir=cache)
                    warm = build_firmware(project, cache_dir=cache)
                    shutil.rmtree(out / "build")
                    cached = build_firmware(project, cache_dir=cache)
                    result = pipeline.run(board, spec, cached, verify_count=2)
                    perf = result.performance
                    per_mac = perf.instructions / project.macs if project.macs else float("nan")
                    print(f"{model:<5} {board_name:<14} {kernels:<8} {gen:>6.2f} {cold.build_seconds:>7.2f} "
                          f"{warm.build_seconds:>7.2f} {cached.build_seconds:>7.2f} {cached.size.flash_bytes:>9,} "
                          f"{project.activation_bytes:>8,} {project.scratch_bytes:>9,} {perf.instructions:>12,} {per_mac:>9.2f}  "
                          f"{'yes' if result.verification.passed else 'NO'} (max diff "
                          f"{result.verification.max_abs_diff})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
