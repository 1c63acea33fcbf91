"""``tinyflash build``: generate the benchmark application and compile it; the build step run and bench share."""

from __future__ import annotations

import argparse
from typing import Any

from tinyflash.cli.arguments import add_board, add_build, add_model, catalog, check_out_dir
from tinyflash.cli.output import Console
from tinyflash.errors import EXIT_OK


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("build", help="generate and compile the benchmark firmware",
                       description="Generate the benchmark application for BOARD and MODEL and compile it.")
    add_board(p)
    add_model(p)
    add_build(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_build)


def build_options(args: argparse.Namespace) -> Any:
    from tinyflash.generate.project import BuildOptions
    from tinyflash.generate.runtime import select_kernels

    select_kernels(args.runtime, args.kernels)      # an unknown runtime or kernel set fails before any work
                                                    # (auto: a kernel set of any runtime)
    tflm_dir = getattr(args, "tflm_dir", None)
    return BuildOptions(optimization=f"-O{args.optimization}", defines=tuple(args.defines), kernels=args.kernels,
                        profile=getattr(args, "profile", False), tflm_dir=str(tflm_dir) if tflm_dir else None)


def load_inputs(args: argparse.Namespace) -> tuple[Any, Any]:
    """The board and the model spec the arguments name, checked before any work starts."""
    from tinyflash.model import resolve_model

    check_out_dir(args.out)
    board = catalog(args).load(args.board)
    return board, resolve_model(args.model, args.model_dir)


def choose_runtime(args: argparse.Namespace, board: Any, spec: Any) -> Any:
    """The runtime --runtime (auto by default) resolves to for this model and board, and why: decided once
    per command."""
    from tinyflash import pipeline

    return pipeline.choose_runtime(board, spec, args.runtime, build_options(args))


def out_dir(args: argparse.Namespace, board: Any, spec: Any, choice: Any) -> Any:
    """Where this command writes: --out, or the default folder for (board, model, chosen runtime, kernels)."""
    from tinyflash import pipeline

    options = build_options(args)
    return args.out or pipeline.default_out_dir(board, spec, choice.name, options.kernels, options.profile)


def build_firmware(args: argparse.Namespace, board: Any, spec: Any, console: Console, choice: Any) -> Any:
    from tinyflash import pipeline

    return pipeline.build(board, spec, runtime=choice, out_dir=out_dir(args, board, spec, choice),
                          options=build_options(args), progress=console.step)


def cmd_build(args: argparse.Namespace) -> int:
    from tinyflash.report.results import firmware_dict, table_rows

    console = Console(json_mode=args.json)
    with console.progress("building"):
        board, spec = load_inputs(args)
        firmware = build_firmware(args, board, spec, console, choose_runtime(args, board, spec))
    data = firmware_dict(spec, firmware)
    if args.json:
        console.emit_json(data)
    else:
        console.table(f"tinyflash build: {board.name} / {spec.name}", table_rows(data))
    return EXIT_OK
