"""``tinyflash flash`` (program a real board and reset it) and ``tinyflash probes`` (list debug probes)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tinyflash.cli.arguments import add_board, add_runtime, add_probe, catalog
from tinyflash.cli.output import Console
from tinyflash.errors import EXIT_OK


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("flash", help="program a board and reset it",
                       description="Program the firmware (built for MODEL, or an ELF) and reset the board.")
    add_board(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--model", "-m", help="build this model first (as 'tinyflash build')")
    group.add_argument("--firmware", type=Path, help="an ELF built earlier (default: the last build for --model)")
    p.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR")
    add_runtime(p)
    add_probe(p)
    p.set_defaults(handler=cmd_flash)

    p = sub.add_parser("probes", help="list attached debug probes and their serial ports",
                       description="List debug probes (pyOCD) with the serial ports that belong to them.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_probes)


def cmd_flash(args: argparse.Namespace) -> int:
    from tinyflash import pipeline
    from tinyflash.errors import FlashError
    from tinyflash.model import resolve_model

    console = Console()
    board = catalog(args).load(args.board)
    flasher = pipeline.make_flasher(board, probe=args.probe, port=args.serial_port)
    try:
        if board.emulated:
            raise FlashError(f"board {board.name} is emulated: there is nothing to flash",
                             hint="use 'tinyflash emulate' or 'tinyflash bench' for QEMU boards")
        # find the probe first: with none attached this fails at once, before any build
        flasher.open()
        if args.firmware:
            elf = args.firmware
        elif args.model:
            spec = resolve_model(args.model, args.model_dir)
            with console.progress("building"):
                elf = pipeline.build(board, spec, runtime=args.runtime, progress=console.step).elf
        else:
            raise FlashError("nothing to flash", hint="pass --model M or --firmware ELF")
        with console.progress(f"flashing {elf}"):
            flasher.program(elf)
            flasher.reset()
        print(f"{board.name}: flashed {elf} and reset")
        return EXIT_OK
    finally:
        flasher.close()


def _usb_ids() -> dict[str, str]:
    """Serial port -> 'VID:PID' (hex) of the USB device behind it, for the ports pyserial lists."""
    try:
        from serial.tools import list_ports
    except ImportError:        # pragma: no cover - pyserial is a dependency of tinyflash
        return {}
    return {p.device: f"{p.vid:04X}:{p.pid:04X}" for p in list_ports.comports() if p.vid is not None}


def cmd_probes(args: argparse.Namespace) -> int:
    from tinyflash.flash.discovery import list_probes

    probes = list_probes()
    if args.json:
        Console().emit_json([p.__dict__ for p in probes])
        return EXIT_OK
    if not probes:
        print("no debug probe found (connect a board's debug USB port; check udev permissions on Linux)")
        return EXIT_OK
    usb = _usb_ids()
    for p in probes:
        # the VID:PID is how the official MLPerf Tiny runner finds a port (board YAML uart.usb, --usb-id)
        ports = ", ".join(f"{port} (USB {usb[port]})" if port in usb else port for port in p.ports) \
            or "no serial port found"
        print(f"{p.unique_id}  {p.vendor} {p.product}  board: {p.board_name or '?'} ({p.board_target or '?'})  "
              f"ports: {ports}")
    return EXIT_OK
