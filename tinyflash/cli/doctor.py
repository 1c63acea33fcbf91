"""``tinyflash doctor``: what the machine has and lacks, each missing piece with how to install it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tinyflash.cli.output import Console
from tinyflash.errors import EXIT_FAILURE, EXIT_OK


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("doctor", help="check the toolchain, QEMU and Python dependencies",
                       description="Check what tinyflash needs and say how to install what is missing.")
    p.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR")
    p.add_argument("--mlperf-tiny-dir", type=Path, metavar="DIR",
                   help="mlcommons/tiny checkout to check (default: $TINYFLASH_MLPERF_TINY_DIR, else the "
                        "'tinyflash deps --mlperf-tiny' workspace)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    from tinyflash.doctor import run_checks

    checks = run_checks(args.model_dir, mlperf_tiny_dir=args.mlperf_tiny_dir)
    console = Console(json_mode=args.json)
    if args.json:
        console.emit_json([c.__dict__ for c in checks])
    else:
        for c in checks:
            mark = "ok " if c.ok else ("-- " if not c.required else "!! ")
            print(f"{mark} {c.name:<28} {c.detail}")
            if not c.ok and c.hint:
                print(f"    {'':<28} hint: {c.hint}")
    return EXIT_OK if all(c.ok or not c.required for c in checks) else EXIT_FAILURE
