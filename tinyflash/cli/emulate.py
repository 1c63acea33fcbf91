"""``tinyflash emulate``: boot a firmware in QEMU and keep it up, its UART on a TCP port, until interrupted."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tinyflash.cli.arguments import add_board, add_runtime, catalog, tcp_port
from tinyflash.cli.output import Console
from tinyflash.errors import EXIT_FAILURE, EXIT_OK


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("emulate", help="boot firmware in QEMU with its UART on a TCP port",
                       description="Boot a firmware on an emulated board and keep it up until interrupted; "
                                   "its UART listens on 127.0.0.1:PORT for any host tool.")
    add_board(p)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--model", "-m", help="build this model first (as 'tinyflash build')")
    group.add_argument("--firmware", type=Path, help="an ELF built earlier")
    p.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR")
    add_runtime(p)
    p.add_argument("--port", type=tcp_port, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    p.set_defaults(handler=cmd_emulate)


def cmd_emulate(args: argparse.Namespace) -> int:
    from tinyflash.errors import EmulatorError
    from tinyflash.flash.qemu import QemuFlasher, QemuOptions

    console = Console()
    board = catalog(args).load(args.board)
    if not board.emulated:
        raise EmulatorError(f"board {board.name} is a real board; emulate needs a QEMU board",
                            hint="see 'tinyflash boards' for the emulated ones")
    if args.firmware:
        elf = args.firmware
        if not elf.is_file():
            raise EmulatorError(f"firmware {elf} does not exist")
    else:
        from tinyflash import pipeline
        from tinyflash.model import resolve_model

        spec = resolve_model(args.model, args.model_dir)
        with console.progress("building"):
            elf = pipeline.build(board, spec, runtime=args.runtime, progress=console.step).elf
    from tinyflash.run.link import SerialLink
    from tinyflash.run.session import DeviceSession

    with QemuFlasher(board, QemuOptions(port=args.port)) as flasher:
        flasher.program(elf)
        # QEMU's UART models hold output until a client connects, so tinyflash takes the boot banner
        # itself: a client connecting later sees nothing unsolicited, as the official runner needs
        # (spec §7.2). Reading it also proves the firmware booted.
        with SerialLink(flasher.serial_url(), baudrate=board.uart.baud) as link:
            flasher.reset()
            DeviceSession(link, multiplier=board.timeout_multiplier).wait_boot()
        print(f"{board.name}: {elf} running; UART on socket://127.0.0.1:{flasher.port} "
              "(Ctrl-C to stop)", flush=True)
        # Ctrl-C, SIGTERM and SIGHUP raise here (tinyflash.cli.signals): leaving the block stops QEMU and
        # the CLI exits 130 (143, 129), as the README says
        rc = flasher.wait()
    print(f"tinyflash: QEMU exited with status {rc}", file=sys.stderr)
    return EXIT_OK if rc == 0 else EXIT_FAILURE
