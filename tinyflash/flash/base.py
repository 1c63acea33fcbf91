"""The flasher seam (style rule 5): program, reset, close; plus the serial URL the board talks on."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Flasher(Protocol):
    def program(self, elf: Path) -> None:
        """Write the firmware. The board does not start running it until :meth:`reset`."""

    def reset(self) -> None:
        """Start (or restart) the firmware. Callers open the serial link first, so nothing is lost."""

    def serial_url(self) -> str:
        """A pyserial URL (serial_for_url) for the board's benchmark UART."""

    def close(self) -> None:
        """Release the probe or stop the emulator. Safe to call twice."""
