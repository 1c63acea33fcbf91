#!/usr/bin/env python3
"""tinyflash benchmark script (not a test): build times and instructions per inference.

For each model x emulated board it prints: cold build (empty object cache, fresh directory), warm
rebuild (nothing changed), rebuild from the object cache (build/ removed), code generation time,
flash bytes, activation arena, kernel scratch outside the arena (im2col columns), instructions per inference under QEMU -icount and per MAC, and
whether the device matched the golden.

    python scripts/benchmark.py --model-dir ../shared/mlperf_tiny/models [--models ad,kws] [--kernels both]

Runtimes side by side (TFLM needs its sources: 'tinyflash deps' or TINYFLASH_TFLM_DIR); by default aot, and
TFLM with CMSIS-NN beside it when its sources are found, with the ratio of their instructions at the end:

    python scripts/benchmark.py --model-dir ... --models kws,vww,ic,ic2,ad --boards mps2-an500 \
        --runtimes aot,tflm,tflm+cmsis-nn --shared-cache

"tflm+cmsis-nn" is TFLM with CMSIS-NN kernels. An empty object cache per row makes "cold" include
compiling TFLM itself (minutes per core); --shared-cache uses tinyflash's object cache instead, so
"cold" is a fresh project directory whose TFLM library was built before (the case of every board and
model after the first one with that core). "objs" counts what the cold build compiled or retrieved;
"used B" is the arena TFLM reported using on the target.
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
from tinyflash.build.scons import build_firmware, default_cache_dir
from tinyflash.errors import TinyflashError
from tinyflash.generate.project import BuildOptions, generate_project
from tinyflash.model import read_graph, resolve_model
from tinyflash.model.benchmarks import ALL_BENCHMARKS

EMULATED = ["mps2-an386", "mps2-an500", "mps3-an547", "netduinoplus2"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, action="append", default=[])
    parser.add_argument("--models", default="ad",
                        help=f"comma list of {', '.join(b.key for b in ALL_BENCHMARKS)} or .tflite paths")
    parser.add_argument("--boards", default=",".join(EMULATED))
    parser.add_argument("--kernels", choices=["auto", "portable", "both"], default="auto",
                        help="kernels of the aot runtime")
    parser.add_argument("--runtimes", default=None,
                        help="comma list of aot, tflm, tflm+cmsis-nn (default: aot, and tflm+cmsis-nn beside it "
                             "when TFLM sources are found)")
    parser.add_argument("--shared-cache", action="store_true",
                        help="build against tinyflash's object cache instead of an empty one per row")
    args = parser.parse_args()
    if args.runtimes is None:
        args.runtimes = "aot,tflm+cmsis-nn" if _tflm_found() else "aot"
        print(f"runtimes: {args.runtimes}" + ("" if "tflm" in args.runtimes else
                                               " (TFLM sources not found: 'tinyflash deps' or TINYFLASH_TFLM_DIR "
                                               "to measure TFLM + CMSIS-NN beside aot)"))
    variants = []
    for runtime in args.runtimes.split(","):
        if runtime == "aot":
            variants += [("aot", k) for k in (["portable", "auto"] if args.kernels == "both" else [args.kernels])]
        elif runtime in ("tflm", "tflm+cmsis-nn"):
            variants.append(("tflm", "cmsis-nn" if runtime.endswith("cmsis-nn") else "reference"))
        else:
            parser.error(f"unknown runtime {runtime}")
    catalog = BoardCatalog()
    work = Path(tempfile.mkdtemp(prefix="tinyflash-bench-"))
    header = (f"{'model':<5} {'board':<13} {'runtime':<14} {'gen s':>6} {'cold s':>7} {'objs':>4} {'warm s':>7} "
              f"{'cache s':>7} {'flash B':>9} {'arena B':>8} {'scratch B':>9} {'used B':>8} {'instr/inf':>12} "
              f"{'instr/MAC':>9}  verified")
    print(header)
    print("-" * len(header))
    failed = 0
    counted: dict[tuple[str, str], dict[str, int]] = {}     # (model, board) -> label -> instructions
    try:
        for model in args.models.split(","):
            spec = resolve_model(model, args.model_dir)
            graph = read_graph(spec.path)
            for board_name in args.boards.split(","):
                board = catalog.load(board_name)
                for runtime, kernels in variants:
                    label = runtime if kernels == "auto" else f"{runtime}-{kernels}"
                    cache = default_cache_dir() if args.shared_cache else work / f"cache-{model}-{board_name}-{label}"
                    out = work / f"{model}-{board_name}-{label}"
                    options = BuildOptions(kernels=kernels)
                    try:
                        with pipeline.exclusive_out_dir(out):      # one run per directory (#11.2)
                            t0 = time.monotonic()
                            project = generate_project(board, spec, graph, out, runtime=runtime, options=options)
                            gen = time.monotonic() - t0
                            cold = build_firmware(project, cache_dir=cache)
                            warm = build_firmware(project, cache_dir=cache)
                            shutil.rmtree(out / "build")
                            cached = build_firmware(project, cache_dir=cache)
                            result = pipeline.run(cached, verify_count=2)
                    except TinyflashError as exc:
                        # a model too large for a board is a result of the matrix, not the end of it
                        print(f"{model:<5} {board_name:<13} {label:<14} {exc.message}", flush=True)
                        failed += 1
                        continue
                    perf = result.performance
                    instructions = perf.instructions or 0     # every emulated board counts instructions
                    per_mac = instructions / project.macs if project.macs else float("nan")
                    used = result.device_info.get("arena-used-bytes")
                    used_text = f"{used:,}" if isinstance(used, int) else "-"
                    counted.setdefault((model, board_name), {})[label] = instructions
                    print(f"{model:<5} {board_name:<13} {label:<14} {gen:>6.2f} {cold.build_seconds:>7.2f} "
                          f"{cold.compiled_objects:>4} {warm.build_seconds:>7.2f} {cached.build_seconds:>7.2f} "
                          f"{cached.size.flash_bytes:>9,} {project.activation_bytes:>8,} {project.scratch_bytes:>9,} "
                          f"{used_text:>8} {instructions:>12,} {per_mac:>9.2f}  "
                          f"{'yes' if result.verification.passed else 'NO'} (max diff "
                          f"{result.verification.max_abs_diff})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratios = [(key, runs["aot"] / runs["tflm-cmsis-nn"]) for key, runs in counted.items()
              if runs.get("aot") and runs.get("tflm-cmsis-nn")]
    if ratios:
        print("\naot instructions / TFLM + CMSIS-NN instructions, same model and board:")
        for (model, board_name), ratio in ratios:
            print(f"  {model:<5} {board_name:<13} {ratio:.2f}")
    return 1 if failed else 0


def _tflm_found() -> bool:
    from tinyflash.deps.errors import DepsError
    from tinyflash.deps.sources import find_tflm_sources

    try:
        find_tflm_sources()
    except DepsError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
