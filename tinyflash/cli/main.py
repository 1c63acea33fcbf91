"""tinyflash CLI: subcommands in the manner of pyOCD, west and PlatformIO.

Only this module maps errors to exit codes: 0 ok, 1 user or job failure, 2 internal error,
130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable, NoReturn, Optional, Sequence

from tinyflash import __version__
from tinyflash.cli import boards, build, deps, doctor, emulate, farm, flash, run, submit
from tinyflash.cli.signals import SignalGuard
from tinyflash.errors import EXIT_FAILURE, EXIT_INTERNAL, TinyflashError

Handler = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a user failure (exit 1, as the README documents): exit 2 means
    a bug in tinyflash, and a script or farm must be able to tell the two apart."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_FAILURE, f"{self.prog}: error: {message}\n")

# each module declares its subcommands (parser + handler); this order is the order of --help
COMMAND_MODULES = (boards, build, run, flash, emulate, doctor, deps, farm, submit)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="tinyflash", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"tinyflash {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parsers(sub)
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
    handler: Handler = args.handler
    stopped = SignalGuard()
    try:
        with stopped.installed():
            try:
                rc = handler(args)
            except TinyflashError as exc:
                print(f"tinyflash: error: {exc}", file=sys.stderr)
                rc = exc.exit_code
            except Exception as exc:  # a bug: say so, keep the traceback for -v
                if args.verbose:
                    logging.exception("internal error")
                print(f"tinyflash: internal error: {type(exc).__name__}: {exc}\n"
                      "  hint: rerun with -v for the traceback and report it", file=sys.stderr)
                rc = EXIT_INTERNAL
    except KeyboardInterrupt:   # Ctrl-C, or SIGTERM/SIGHUP raised by the guard: every `finally` has run
        try:
            print("tinyflash: interrupted" + (f" ({stopped.name})" if stopped.name != "SIGINT" else ""),
                  file=sys.stderr)
        except OSError:   # SIGHUP: the terminal may be gone; the exit code still tells
            pass
        return stopped.exit_code
    # a command that caught the signal itself (the farm keeps the jobs that finished) still exits 128 + signal
    return stopped.exit_code if stopped.signum is not None else rc


if __name__ == "__main__":
    raise SystemExit(main())
