"""Terminal output: progress on long steps (rich on a TTY, plain log lines otherwise) and tables."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any, Iterator, Sequence


class Console:
    def __init__(self, *, json_mode: bool = False, quiet: bool = False) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._status: Any = None

    @contextmanager
    def progress(self, title: str) -> Iterator["Console"]:
        """A spinner with the current step on a terminal; one stderr line per step otherwise."""
        if self.quiet:
            yield self
            return
        if self.tty:
            from rich.console import Console as RichConsole

            with RichConsole(stderr=True).status(title) as status:
                self._status = status
                try:
                    yield self
                finally:
                    self._status = None
        else:
            self.step(title)
            yield self

    def step(self, event: object) -> None:
        """Show one step: a string or a :class:`tinyflash.events.ProgressEvent` (its text)."""
        if self.quiet:
            return
        text = str(event)
        if self._status is not None:
            self._status.update(text)
        else:
            print(f"tinyflash: {text}", file=sys.stderr, flush=True)

    def emit_json(self, data: Any) -> None:
        print(json.dumps(data, indent=2))

    def table(self, title: str, rows: Sequence[tuple[str, str]]) -> None:
        if sys.stdout.isatty():
            from rich.console import Console as RichConsole
            from rich.table import Table

            table = Table(title=title, show_header=False)
            table.add_column(style="bold")
            table.add_column()
            for key, value in rows:
                table.add_row(key, value)
            RichConsole().print(table)
            return
        width = max(len(k) for k, _ in rows)
        print(title)
        print("-" * len(title))
        for key, value in rows:
            print(f"{key.ljust(width)}  {value}")
