"""Options shared by several subcommands, and the checks that refuse values no command can use (#11.8).

Light imports only: every command module imports this one while ``--help`` is built.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from tinyflash.errors import TinyflashError


class UsageError(TinyflashError):
    """A command-line value that parses but cannot be used (exit 1, with a hint)."""


# --- argparse types: a bad value is a usage error with argparse's own message (exit 2) ----------
def positive_seconds(text: str) -> float:
    """A deadline: finite and above zero (``float()`` alone takes 0, -5, nan and inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds above 0, got {text!r}")
    return value


def tcp_port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a TCP port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port from 0 (any free port) to 65535, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return value


def check_out_dir(path: Path | None, option: str = "--out") -> None:
    """Refuse an output directory that is, or lies under, an existing file, before any work is done."""
    if path is None:
        return
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                where = "is" if candidate == path else f"lies under {candidate}, which is"
                raise UsageError(f"{option} {path} {where} a file, not a directory",
                                 hint=f"pass a directory for {option} (it is created if missing)")
            return


OPTIMIZATION_LEVELS = ["0", "1", "2", "3", "s", "fast"]    # gcc -O<level>, for every command that builds


# --- option groups ------------------------------------------------------------------------------
def add_board(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--board", "-b", required=required, help="board name (see 'tinyflash boards') or a board YAML file")
    p.add_argument("--board-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="extra directory of board YAML files (repeatable; also TINYFLASH_BOARD_PATH)")


def add_model(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--model", "-m", required=required,
                   help="kws, vww, ic, ic2, ad, sww (or kws01, ic02...), or a path to a .tflite file")
    p.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="directory holding the MLPerf Tiny .tflite files (repeatable; also TINYFLASH_MODEL_DIR)")


def add_build(p: argparse.ArgumentParser) -> None:
    add_runtime(p)
    p.add_argument("--out", type=Path, help="output directory (default: tinyflash-out/BOARD/MODEL-RUNTIME)")
    # the runtimes own their kernel-set names (tinyflash.generate.runtime.kernel_sets); checked before any work
    p.add_argument("--kernels", default="auto", metavar="SET",
                   help="aot: auto (SIMD kernels where the core has them) or portable (plain C everywhere); "
                        "tflm: auto/reference (TFLM's reference kernels) or cmsis-nn; with --runtime auto, "
                        "portable chooses aot and reference/cmsis-nn choose tflm")
    p.add_argument("--tflm-dir", type=Path, metavar="DIR",
                   help="TFLM runtime: TFLM checkout or 'tinyflash deps' workspace (default: $TINYFLASH_TFLM_DIR, "
                        "else the default workspace)")
    p.add_argument("-O", dest="optimization", default="2", choices=OPTIMIZATION_LEVELS,
                   help="compiler optimisation level (default 2)")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]",
                   help="extra preprocessor definition for every firmware file")
    p.add_argument("--profile", action="store_true",
                   help="time every layer (own output directory); run/bench then print a per-layer table")


RUNTIME_HELP = ("inference runtime: auto (default: aot, tinyflash's own, when it runs every operator of the model, "
                "else TFLM when its sources are present; the choice and why are in the output and results.json), "
                "aot or tflm (forced)")


def add_runtime(p: argparse.ArgumentParser) -> None:
    # the names come from tinyflash.generate.runtime.registry, checked before any work (not listed here:
    # --help must not import the runtimes)
    p.add_argument("--runtime", default="auto", metavar="auto|aot|tflm", help=RUNTIME_HELP)


def add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=positive_seconds, default=None, metavar="SECONDS",
                   help="per-command deadline before the board's multiplier (default 5; infer 60)")
    p.add_argument("--verify-count", type=non_negative_int, default=3, metavar="N",
                   help="generated inputs checked against the golden (plus sample files; default 3)")
    p.add_argument("--sample-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="extra directory of sample inputs (<benchmark>*.bin)")
    p.add_argument("--upload", choices=["auto", "uart"], default="auto",
                   help="how inputs reach the device: auto (default: written into its input buffer through the "
                        "emulator's debug port where there is one, else the protocol's hex over the UART) or "
                        "uart (always the protocol's 'db' hex, as the official runner sends it)")
    add_probe(p)


def add_probe(p: argparse.ArgumentParser) -> None:
    p.add_argument("--probe", metavar="UID", help="debug probe unique ID (real boards; see 'tinyflash probes')")
    p.add_argument("--port", dest="serial_port", metavar="PORT|URL",
                   help="serial port or pyserial URL of the board's UART (default: found from the probe)")


# --- helpers for handlers -----------------------------------------------------------------------
def catalog(args: argparse.Namespace) -> Any:
    from tinyflash.board import BoardCatalog

    return BoardCatalog(extra_dirs=args.board_dir)
