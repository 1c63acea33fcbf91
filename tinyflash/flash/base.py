"""The flasher seam (style rule 5): open, program, reset, close; plus the serial URL the board talks on.

QEMU and pyOCD subclass it explicitly, so they inherit the defaults (``open`` does nothing unless an
implementation has something to find before a build: pyOCD's probe)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Protocol


class Flasher(Protocol):
    def open(self) -> None:
        """Find and connect what programming needs (a probe) so a missing one fails before any build.
        Optional to call: :meth:`program` opens too. Does nothing by default."""
        return None

    def program(self, elf: Path) -> None:
        """Write the firmware. The board does not start running it until :meth:`reset`."""
        raise NotImplementedError

    def reset(self) -> None:
        """Start (or restart) the firmware. Callers open the serial link first, so nothing is lost."""
        raise NotImplementedError

    def serial_url(self) -> str:
        """A pyserial URL (serial_for_url) for the board's benchmark UART."""
        raise NotImplementedError

    def memory_writer(self) -> Optional[Callable[[int, bytes], None]]:
        """``write(address, data)`` into the target's RAM while the firmware idles between commands, or
        None (the default): inputs then travel over the UART as the protocol's hex."""
        return None

    def close(self) -> None:
        """Release the probe or stop the emulator. Safe to call twice."""
        raise NotImplementedError
