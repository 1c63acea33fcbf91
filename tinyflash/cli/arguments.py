"""Options shared by several subcommands.

Light imports only: every command module imports this one while ``--help`` is built.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tinyflash.errors import TinyflashError


class UsageError(TinyflashError):
    """A command-line value that parses but cannot be used (exit 1, with a hint)."""


# --- option groups ------------------------------------------------------------------------------
def add_board(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--board", "-b", required=required, help="board name (see 'tinyflash boards') or a board YAML file")
    p.add_argument("--board-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="extra directory of board YAML files (repeatable; also TINYFLASH_BOARD_PATH)")


def add_model(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--model", "-m", required=required,
                   help="kws, vww, ic, ad (or kws01...), or a path to a .tflite file")
    p.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="directory holding the MLPerf Tiny .tflite files (repeatable; also TINYFLASH_MODEL_DIR)")


def add_build(p: argparse.ArgumentParser) -> None:
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


def add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="per-command deadline before the board's multiplier (default 5; infer 60)")
    p.add_argument("--verify-count", type=int, default=3, metavar="N",
                   help="generated inputs checked against the golden (plus sample files; default 3)")
    p.add_argument("--sample-dir", action="append", type=Path, default=[], metavar="DIR",
                   help="extra directory of sample inputs (<benchmark>*.bin)")
    add_probe(p)


def add_probe(p: argparse.ArgumentParser) -> None:
    p.add_argument("--probe", metavar="UID", help="debug probe unique ID (real boards; see 'tinyflash probes')")
    p.add_argument("--port", dest="serial_port", metavar="PORT|URL",
                   help="serial port or pyserial URL of the board's UART (default: found from the probe)")


# --- helpers for handlers -----------------------------------------------------------------------
def catalog(args: argparse.Namespace) -> Any:
    from tinyflash.board import BoardCatalog

    return BoardCatalog(extra_dirs=args.board_dir)
