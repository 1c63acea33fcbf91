"""The CLI's shape (#15.2): every command declared in tinyflash/cli with its own handler, and --help
without the heavy imports."""

from __future__ import annotations

import argparse
import subprocess
import sys

from tinyflash.cli.main import build_parser

from ..conftest import REPO

COMMANDS = ["boards", "build", "run", "bench", "flash", "probes", "emulate", "doctor", "deps", "farm", "report",
            "submit", "datasets"]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_its_own_handler_in_the_cli_package() -> None:
    commands = subcommands(build_parser())
    assert list(commands) == COMMANDS                     # the order of --help is kept
    handlers = {name: p.get_default("handler") for name, p in commands.items()}
    for name, handler in handlers.items():
        assert callable(handler), name
        assert handler.__module__.startswith("tinyflash.cli."), (name, handler.__module__)
    assert handlers["run"] is not handlers["bench"]       # two commands, two functions
    assert handlers["farm"].__module__ == "tinyflash.cli.farm"
    assert handlers["deps"].__module__ == "tinyflash.cli.deps"


def test_the_parsed_command_carries_its_handler() -> None:
    args = build_parser().parse_args(["farm", "check", "-i", "farm.yaml", "--matrix", "m.yaml"])
    assert args.handler.__name__ == "cmd_farm" and args.farm_command == "check"
    assert build_parser().parse_args(["bench", "-b", "x", "-m", "ad"]).handler.__name__ == "cmd_bench"


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys\nfrom tinyflash.cli.main import build_parser\nbuild_parser().format_help()\n"
            "heavy = ['jinja2', 'pydantic', 'serial', 'pyocd', 'numpy', 'yaml', 'rich', 'tflite', 'west',\n"
            "         'tinyflash.pipeline', 'tinyflash.board', 'tinyflash.farm.runner']\n"
            "print(' '.join(m for m in heavy if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert proc.stdout.strip() == ""
