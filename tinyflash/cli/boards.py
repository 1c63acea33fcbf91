"""``tinyflash boards``: list the boards tinyflash knows, or show one."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tinyflash.cli.arguments import catalog
from tinyflash.cli.output import Console
from tinyflash.errors import EXIT_OK


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("boards", help="list boards, or show one", description="List the boards tinyflash knows.")
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("name", nargs="?", help="board to show")
    p.add_argument("--board-dir", action="append", type=Path, default=[], metavar="DIR")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_boards)


def cmd_boards(args: argparse.Namespace) -> int:
    boards = catalog(args)
    console = Console(json_mode=args.json)
    if args.action == "show" or args.name:
        board = boards.load(args.name or "")
        data = board.model_dump(mode="json")
        if args.json:
            console.emit_json(data)
        else:
            import yaml

            print(f"# {boards.files().get(board.name, args.name)}")
            print(yaml.safe_dump(data, sort_keys=False), end="")
        return EXIT_OK
    loaded = list(boards.load_all())
    if args.json:
        console.emit_json([{"name": b.name, "core": b.core.value, "emulated": b.emulated,
                            "flash_bytes": b.memory.flash.size, "ram_bytes": b.memory.ram.size,
                            "description": b.description} for b in loaded])
        return EXIT_OK
    width = max(len(b.name) for b in loaded)
    for b in loaded:
        kind = f"qemu:{b.flash.machine}" if b.emulated else f"pyocd:{b.flash.target}"
        print(f"{b.name.ljust(width)}  {b.core.value:<14} {b.memory.flash.size // 1024:>5} KB flash "
              f"{b.memory.ram.size // 1024:>5} KB RAM  {kind}")
    return EXIT_OK
