#!/usr/bin/env python3
"""tinyflash model zoo check: build and verify every .tflite of a folder on one board, one table row each.

    python scripts/zoo.py DIR [--board mps2-an500] [--runtime auto] [--kernels auto] [--json]

Per model: the operators it runs, the runtime chosen (and why, below the table), whether the device
matched the TFLM golden, instructions per inference and per MAC (emulated boards), the activation arena,
the flash used, or the reason it cannot run. A model that fails is a row, never the end of the check;
the exit status is 1 when any model did not build and verify. Firmware goes to the folders
'tinyflash bench' uses (tinyflash-out/BOARD/MODEL-RUNTIME), or under --out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tinyflash.board import BoardCatalog
from tinyflash.errors import TinyflashError
from tinyflash.generate.project import BuildOptions
from tinyflash.generate.runtime import select_kernels
from tinyflash.report.zoo import ZooRow, check_models, markdown_table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, metavar="DIR", help="folder of .tflite files")
    parser.add_argument("--board", "-b", default="mps2-an500", help="board name (default mps2-an500)")
    parser.add_argument("--runtime", default="auto", help="auto (default), aot or tflm")
    parser.add_argument("--kernels", default="auto", metavar="SET")
    parser.add_argument("--tflm-dir", type=Path, metavar="DIR", help="TFLM sources (default: $TINYFLASH_TFLM_DIR)")
    parser.add_argument("--verify-count", type=int, default=3, metavar="N", help="generated inputs checked")
    parser.add_argument("--out", type=Path, metavar="DIR", help="root of the output folders (default tinyflash-out)")
    parser.add_argument("--json", action="store_true", help="one JSON object with every row")
    args = parser.parse_args()
    try:
        if not args.directory.is_dir():
            raise TinyflashError(f"{args.directory} is not a directory", hint="pass a folder of .tflite files")
        select_kernels(args.runtime, args.kernels)
        board = BoardCatalog().load(args.board)
    except TinyflashError as exc:
        print(f"zoo: error: {exc}", file=sys.stderr)
        return 1
    options = BuildOptions(kernels=args.kernels, tflm_dir=str(args.tflm_dir) if args.tflm_dir else None)

    def progress(event: object) -> None:
        print(f"zoo: {event}", file=sys.stderr, flush=True)

    def done(row: ZooRow) -> None:
        verdict = "verified" if row.verified else row.problem or "verification FAILED"
        print(f"zoo: {row.model}: {verdict}", file=sys.stderr, flush=True)

    rows = check_models(args.directory, board, runtime=args.runtime, options=options,
                        verify_count=args.verify_count, out_root=args.out, progress=progress, on_row=done)
    if args.json:
        print(json.dumps({"board": board.name, "runtime": args.runtime, "kernels": args.kernels,
                          "models": [row.to_json() for row in rows]}, indent=2))
    else:
        print(f"model zoo: {args.directory} on {board.name}, --runtime {args.runtime}\n")
        print(markdown_table(rows))
        reasons = [f"- {row.model}: {row.runtime_reason}" for row in rows if row.runtime_reason]
        if reasons:
            print("\nruntime chosen because:\n" + "\n".join(reasons))
    return 0 if rows and all(row.verified for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
