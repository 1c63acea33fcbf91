"""``tinyflash submit``: an MLPerf Tiny submission tree, measured by the official runner and judged by
the official checker (the library call is :func:`tinyflash.submit.flow.submit`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tinyflash.cli.arguments import UsageError, add_board, add_probe, catalog
from tinyflash.errors import EXIT_FAILURE, EXIT_OK

HELP = "measure benchmarks with the official MLPerf Tiny runner and write a checked submission tree"
DEFAULT_BENCHMARKS = "ad,ic,kws,vww"
SUBMITTABLE = ("ad01", "ic01", "ic02", "kws01", "vww01")
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
    p.add_argument("--benchmarks", default=DEFAULT_BENCHMARKS,
                   help=f"comma-separated benchmarks (default {DEFAULT_BENCHMARKS})")
    p.add_argument("--datasets", type=Path, required=True, metavar="DIR",
                   help="the runner's dataset layout: DIR/ad01, ic01, kws01, vww01, each with y_labels.csv")
    p.add_argument("--out", type=Path, required=True, metavar="TREE", help="the submission tree to write (new)")
    p.add_argument("--system", help="system name (default BOARD-tinyflash-RUNTIME)")
    p.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="directory holding the MLPerf Tiny .tflite files (repeatable; also TINYFLASH_MODEL_DIR)")
    p.add_argument("--runtime", default="aot", help="inference runtime, as for bench (default: aot)")
    p.add_argument("--kernels", choices=["auto", "portable", "reference", "cmsis-nn"], default="auto",
                   help="kernel set, as for bench (default: auto)")
    p.add_argument("--tflm-dir", type=Path, metavar="DIR", help="--runtime tflm: TFLM checkout or workspace")
    p.add_argument("-O", dest="optimization", default="2", choices=["0", "1", "2", "3", "s", "fast"],
                   help="compiler optimisation level (default 2)")
    p.add_argument("--mlperf-tiny-dir", type=Path, metavar="DIR",
                   help="mlcommons/tiny checkout with the official runner and checker (default: "
                        "$TINYFLASH_MLPERF_TINY_DIR, else the 'tinyflash deps --mlperf-tiny' workspace)")
    p.add_argument("--usb-id", type=usb_id, metavar="VID:PID",
                   help="real boards: USB VID:PID of the board's serial port, by which the runner finds it")
    add_probe(p)
    p.set_defaults(handler=cmd_submit)


def cmd_submit(args: argparse.Namespace) -> int:
    from tinyflash.cli.output import Console
    from tinyflash.generate.project import BuildOptions
    from tinyflash.model import resolve_model
    from tinyflash.deps import find_mlperf_tiny
    from tinyflash.submit.flow import SubmitRequest, submit
    from tinyflash.submit.tree import Division

    checkout = find_mlperf_tiny(args.mlperf_tiny_dir)
    board = catalog(args).load(args.board)
    names = [n.strip() for n in args.benchmarks.split(",") if n.strip()]
    if not names:
        raise UsageError("--benchmarks names no benchmark", hint=f"e.g. --benchmarks {DEFAULT_BENCHMARKS}")
    specs = []
    for name in names:
        spec = resolve_model(name, args.model_dir)
        if spec.benchmark_id not in SUBMITTABLE:
            raise UsageError(f"--benchmarks: {name} is not a benchmark tinyflash can submit",
                             hint="use ad, ic, kws, vww")
        specs.append(spec)
    if len({s.benchmark_id for s in specs}) != len(specs):
        raise UsageError("--benchmarks names a benchmark twice")
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
