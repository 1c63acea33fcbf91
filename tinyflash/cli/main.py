"""tinyflash CLI: subcommands in the manner of pyOCD, west and PlatformIO.

Only this module maps errors to exit codes: 0 ok, 1 user or job failure, 2 internal error,
130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from tinyflash import __version__
from tinyflash.errors import EXIT_FAILURE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, TinyflashError  # noqa: F401


def _add_board(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--board", "-b", required=required, help="board name (see 'tinyflash boards') or a board YAML file")
    p.add_argument("--board-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="extra directory of board YAML files (repeatable; also TINYFLASH_BOARD_PATH)")


def _add_model(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--model", "-m", required=required,
                   help="kws, vww, ic, ad (or kws01...), or a path to a .tflite file")
    p.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="directory holding the MLPerf Tiny .tflite files (repeatable; also TINYFLASH_MODEL_DIR)")


def _add_build(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runtime", default="aot", help="inference runtime (default: aot, tinyflash's own)")
    p.add_argument("--out", type=Path, help="output directory (default: tinyflash-out/BOARD/MODEL-RUNTIME)")
    p.add_argument("--kernels", choices=["auto", "portable", "reference", "cmsis-nn"], default="auto",
                   help="aot: auto (SIMD kernels where the core has them) or portable (plain C everywhere); "
                        "tflm: auto/reference (TFLM's reference kernels) or cmsis-nn")
    p.add_argument("--tflm-dir", type=Path, metavar="DIR",
                   help="--runtime tflm: TFLM checkout or 'tinyflash deps' workspace (default: $TINYFLASH_TFLM_DIR, "
                        "else the default workspace)")
    p.add_argument("-O", dest="optimization", default="2", choices=["0", "1", "2", "3", "s", "fast"],
                   help="compiler optimisation level (default 2)")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]",
                   help="extra preprocessor definition for every firmware file")
    p.add_argument("--profile", action="store_true",
                   help="time every layer (own output directory); run/bench then print a per-layer table")


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="per-command deadline before the board's multiplier (default 5; infer 60)")
    p.add_argument("--verify-count", type=int, default=3, metavar="N",
                   help="generated inputs checked against the golden (plus sample files; default 3)")
    p.add_argument("--sample-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="extra directory of sample inputs (<benchmark>*.bin)")
    _add_probe(p)


def _add_probe(p: argparse.ArgumentParser) -> None:
    p.add_argument("--probe", metavar="UID", help="debug probe unique ID (real boards; see 'tinyflash probes')")
    p.add_argument("--port", dest="serial_port", metavar="PORT|URL",
                   help="serial port or pyserial URL of the board's UART (default: found from the probe)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinyflash", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"tinyflash {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("boards", help="list boards, or show one", description="List the boards tinyflash knows.")
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("name", nargs="?", help="board to show")
    p.add_argument("--board-dir", action="append", type=Path, default=[], metavar="DIR")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("build", help="generate and compile the benchmark firmware",
                       description="Generate the benchmark application for BOARD and MODEL and compile it.")
    _add_board(p)
    _add_model(p)
    _add_build(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    for name, text in (("run", "flash the firmware, verify it and measure performance (or accuracy)"),
                       ("bench", "build, flash, verify and measure: the whole pipeline")):
        p = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        _add_board(p)
        _add_model(p)
        _add_build(p)
        _add_run(p)
        p.add_argument("--mode", choices=["performance", "accuracy"], default="performance",
                       help="performance (default; also verifies against the golden) or accuracy on --dataset")
        p.add_argument("--dataset", type=Path, metavar="DIR",
                       help="accuracy mode: DIR/<benchmark>/y_labels.csv with the .bin files beside it")
        p.add_argument("--json", action="store_true", help="print one JSON object with the results")

    p = sub.add_parser("flash", help="program a board and reset it",
                       description="Program the firmware (built for MODEL, or an ELF) and reset the board.")
    _add_board(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--model", "-m", help="build this model first (as 'tinyflash build')")
    group.add_argument("--firmware", type=Path, help="an ELF built earlier (default: the last build for --model)")
    p.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR")
    p.add_argument("--runtime", default="aot")
    _add_probe(p)

    p = sub.add_parser("probes", help="list attached debug probes and their serial ports",
                       description="List debug probes (pyOCD) with the serial ports that belong to them.")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("emulate", help="boot firmware in QEMU with its UART on a TCP port",
                       description="Boot a firmware on an emulated board and keep it up until interrupted; "
                                   "its UART listens on 127.0.0.1:PORT for any host tool.")
    _add_board(p)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--model", "-m", help="build this model first (as 'tinyflash build')")
    group.add_argument("--firmware", type=Path, help="an ELF built earlier")
    p.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR")
    p.add_argument("--runtime", default="aot")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")

    p = sub.add_parser("doctor", help="check the toolchain, QEMU and Python dependencies",
                       description="Check what tinyflash needs and say how to install what is missing.")
    p.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    from tinyflash.deps.cli import add_deps_parser

    add_deps_parser(sub)
    from tinyflash.farm.cli import add_parsers as add_farm_parsers

    add_farm_parsers(sub)
    return parser


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_FAILURE
    _setup_logging(args.verbose)
    from tinyflash.cli import commands

    handler: Callable[[argparse.Namespace], int] = getattr(commands, f"cmd_{args.command}")
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("tinyflash: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except TinyflashError as exc:
        print(f"tinyflash: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # a bug: say so, keep the traceback for -v
        if args.verbose:
            logging.exception("internal error")
        print(f"tinyflash: internal error: {type(exc).__name__}: {exc}\n"
              "  hint: rerun with -v for the traceback and report it", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
