"""``tinyflash submit``: an MLPerf Tiny submission tree, measured by the official runner and judged by
the official checker (the library call is :func:`tinyflash.submit.flow.submit`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tinyflash.cli.arguments import OPTIMIZATION_LEVELS, UsageError, add_board, add_probe, catalog
from tinyflash.errors import EXIT_FAILURE, EXIT_OK

HELP = "measure benchmarks with the official MLPerf Tiny runner and write a checked submission tree"
DATASETS_HELP = "generate labelled rehearsal datasets in the official runner's layout (for tinyflash submit)"
# --benchmarks' default: every benchmark whose class says the official runner and checker know it
# (tinyflash.model.benchmarks.SUBMITTABLE: ad, ic, ic2, kws, vww), resolved when a command runs, since
# the benchmark classes import numpy and --help stays instant
# names written out so --help needs no import; a unit test keeps them equal to default_benchmarks()
BENCHMARKS_HELP = "comma-separated benchmarks (default: ad,ic,ic2,kws,vww, every one tinyflash submits)"
DATASET_FOLDERS_HELP = "DIR/<folder>/y_labels.csv with the files it lists (folders ad01, ic01, kws01, vww01; ic2 " \
                       "runs on ic01's)"


def default_benchmarks() -> str:
    """ad,ic,ic2,kws,vww: the short names of the benchmarks tinyflash submits."""
    from tinyflash.model.benchmarks import SUBMITTABLE

    return ",".join(b.key for b in SUBMITTABLE)
REHEARSAL = ("tinyflash: note: {board} is an emulated board: its times are virtual time under QEMU -icount. "
             "This tree is a rehearsal of a submission, not a publishable result.")


def usb_id(text: str) -> tuple[int, int]:
    try:
        vid, pid = (int(part, 16) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected VID:PID in hex (e.g. 0483:374B), got {text!r}") from None
    if not (0 <= vid <= 0xFFFF and 0 <= pid <= 0xFFFF):
        raise argparse.ArgumentTypeError(f"VID and PID are 16-bit numbers, got {text!r}")
    return vid, pid


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("submit", help=HELP, description=HELP[0].upper() + HELP[1:] + ".")
    add_board(p)
    p.add_argument("--submitter", required=True, metavar="ORG", help="organisation name (a folder of the tree)")
    p.add_argument("--division", choices=["closed", "open"], default="closed")
    p.add_argument("--benchmarks", help=BENCHMARKS_HELP)
    p.add_argument("--datasets", type=Path, required=True, metavar="DIR",
                   help=f"the runner's dataset layout: {DATASET_FOLDERS_HELP}; 'tinyflash datasets --out DIR' "
                        "generates a rehearsal set")
    p.add_argument("--out", type=Path, required=True, metavar="TREE", help="the submission tree to write (new)")
    p.add_argument("--system", help="system name (default BOARD-tinyflash-RUNTIME)")
    p.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="directory holding the MLPerf Tiny .tflite files (repeatable; also TINYFLASH_MODEL_DIR)")
    # aot by default, not auto: the runtime names the submitted system (<board>-tinyflash-<runtime>)
    p.add_argument("--runtime", default="aot", metavar="aot|tflm", help="inference runtime (default: aot)")
    p.add_argument("--kernels", default="auto", metavar="SET",
                   help="kernel set, as for bench (default: auto); the runtime checks the name")
    p.add_argument("--tflm-dir", type=Path, metavar="DIR", help="--runtime tflm: TFLM checkout or workspace")
    p.add_argument("-O", dest="optimization", default="2", choices=OPTIMIZATION_LEVELS,
                   help="compiler optimisation level (default 2)")
    p.add_argument("--mlperf-tiny-dir", type=Path, metavar="DIR",
                   help="mlcommons/tiny checkout with the official runner and checker (default: "
                        "$TINYFLASH_MLPERF_TINY_DIR, else the 'tinyflash deps --mlperf-tiny' workspace)")
    p.add_argument("--usb-id", type=usb_id, metavar="VID:PID",
                   help="real boards: USB VID:PID of the board's serial port, by which the runner finds it "
                        "(default: the board YAML's uart.usb; 'tinyflash probes' shows the ports' ids)")
    add_probe(p)
    p.set_defaults(handler=cmd_submit)

    d = sub.add_parser("datasets", help=DATASETS_HELP, description=DATASETS_HELP[0].upper() + DATASETS_HELP[1:]
                       + ": inputs drawn at random (seeded) and labelled by the host golden, so a bit-exact firmware "
                         "scores Top-1 100 % and AUC 1.0. They rehearse a submission; published results need the "
                         "official datasets (mlcommons/tiny benchmark/evaluation/datasets).",
                       epilog="example: tinyflash datasets --out ds && tinyflash submit --board mps2-an500 "
                              "--submitter ORG --datasets ds --out tree")
    d.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help=f"where to write {DATASET_FOLDERS_HELP} (created)")
    d.add_argument("--benchmarks", help=BENCHMARKS_HELP)
    d.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="directory holding the MLPerf Tiny .tflite files (repeatable; also TINYFLASH_MODEL_DIR)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d.add_argument("--per-class", type=int, default=1, metavar="N",
                   help="classifiers: files per class (at least 5 files in all; default 1)")
    d.add_argument("--files", type=int, default=6, metavar="N",
                   help="anomaly detection: files, half normal (at least 5; default 6)")
    d.add_argument("--windows", type=int, default=4, metavar="N",
                   help="anomaly detection: windows per file (the official files have 196; default 4)")
    d.set_defaults(handler=cmd_datasets)


def _benchmarks(text: str | None, model_dirs: list[Path]) -> list[Any]:
    """The ModelSpecs --benchmarks names, each a benchmark tinyflash submits, none twice."""
    from tinyflash.model import resolve_model
    from tinyflash.model.benchmarks import SUBMITTABLE

    text = default_benchmarks() if text is None else text
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--benchmarks names no benchmark", hint=f"e.g. --benchmarks {default_benchmarks()}")
    specs = []
    for name in names:
        spec = resolve_model(name, model_dirs)
        if not spec.benchmark.submittable:
            raise UsageError(f"--benchmarks: {name} is not a benchmark tinyflash can submit",
                             hint=f"use {', '.join(b.key for b in SUBMITTABLE)}")
        specs.append(spec)
    if len({s.benchmark for s in specs}) != len(specs):
        raise UsageError("--benchmarks names a benchmark twice")
    return specs


def cmd_datasets(args: argparse.Namespace) -> int:
    from tinyflash.submit.datasets import generate_dataset

    specs = _benchmarks(args.benchmarks, args.model_dir)
    # benchmarks that read one folder (ic and ic2 read ic01/) get one set whose labels all of them agree on
    by_folder: dict[str, list[Any]] = {}
    for spec in specs:
        by_folder.setdefault(spec.benchmark.dataset_folder, []).append(spec)
    for folder, sharing in by_folder.items():
        names = "+".join(s.benchmark.key for s in sharing)
        print(f"{names}: generating {args.out / folder} ...", flush=True)
        written = generate_dataset(sharing[0], args.out, sharing=sharing[1:], files=args.files,
                                   ad_windows=args.windows, per_class=args.per_class, seed=args.seed,
                                   progress=lambda text: print(f"  {text}", flush=True))
        rows = (written / "y_labels.csv").read_text().splitlines()
        print(f"{names}: {len(rows)} files in {written}")
    return EXIT_OK


def cmd_submit(args: argparse.Namespace) -> int:
    from tinyflash.cli.output import Console
    from tinyflash.generate.project import BuildOptions
    from tinyflash.deps import find_mlperf_tiny
    from tinyflash.submit.flow import SubmitRequest, submit
    from tinyflash.submit.tree import Division

    from tinyflash.generate.runtime import select_kernels

    select_kernels(args.runtime, args.kernels)       # the runtime owns its kernel-set names; before any work
    checkout = find_mlperf_tiny(args.mlperf_tiny_dir)
    board = catalog(args).load(args.board)
    specs = _benchmarks(args.benchmarks, args.model_dir)
    options = BuildOptions(optimization=f"-O{args.optimization}", kernels=args.kernels,
                           tflm_dir=str(args.tflm_dir) if args.tflm_dir else None)
    request = SubmitRequest(board, tuple(specs), args.submitter, args.datasets, args.out,
                            division=Division(args.division), runtime=args.runtime, options=options,
                            system=args.system, usb_id=args.usb_id, probe=args.probe, port=args.serial_port)
    if board.emulated:
        print(REHEARSAL.format(board=board.name), file=sys.stderr)
    console = Console()
    with console.progress("submitting") as progress:
        result = submit(request, checkout, progress=progress.step)
    verdict = result.verdict
    print(f"submission tree: {result.tree}")
    for run in result.runs:
        print(f"  {run.spec.name}: median throughput {run.median_throughput:.3f} inf./sec. "
              f"(infer {run.iterations}); runner results in {run.performance.parent}")
    print(f"official checker: {verdict.summary}")
    for line in verdict.table_lines():
        print("  " + line)
    for line in verdict.errors:
        print(f"  {line}")
    print(f"  checker output: {result.checker_log}")
    if result.emulated:
        print(REHEARSAL.format(board=board.name))
    return EXIT_OK if verdict.ok else EXIT_FAILURE
