"""One cleanup path for Ctrl-C, SIGTERM and SIGHUP (#11.4).

Python turns only SIGINT into an exception; SIGTERM and SIGHUP kill the process at once, so no ``finally``
runs: QEMU was left running under PID 1 with its temporary folder, and a probe session stayed open. Here
all three raise :class:`Interrupted` (a KeyboardInterrupt, so code that already stops cleanly on Ctrl-C,
such as the farm's night runner, stops the same way), every context manager closes its flasher, and the
CLI exits with 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Any, Iterator, Optional

from tinyflash.errors import EXIT_INTERRUPTED

# SIGHUP does not exist on Windows
HANDLED = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)


class Interrupted(KeyboardInterrupt):
    """A stop signal raised in the main thread where it was waiting."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SignalGuard:
    """Which stop signal arrived, if any, while the guard was installed."""

    def __init__(self) -> None:
        self.signum: Optional[int] = None

    @property
    def exit_code(self) -> int:
        return 128 + self.signum if self.signum is not None else EXIT_INTERRUPTED

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else "SIGINT"

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.signum is not None:
            # cleanup is under way (QEMU being stopped, a probe closed): a second signal must not cut it short
            print("tinyflash: stopping, please wait", file=sys.stderr, flush=True)
            return
        self.signum = signum
        raise Interrupted(signum)

    @contextmanager
    def installed(self) -> Iterator["SignalGuard"]:
        """Within the block, SIGINT/SIGTERM/SIGHUP raise :class:`Interrupted` once; later ones are ignored."""
        if threading.current_thread() is not threading.main_thread():   # signals reach the main thread only
            yield self
            return
        previous: dict[int, Any] = {}
        for signum in HANDLED:
            previous[signum] = signal.signal(signum, self._handle)
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
