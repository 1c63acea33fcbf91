"""The serial link: pyserial's serial_for_url (real ports, socket://, rfc2217://, loop:// share one
path), line reading with a deadline, and the transcript written to a log as it happens.

A ``cancel`` event (the farm's Ctrl-C) is checked between the short reads of every wait, so a waiting
reader stops within ~0.1 s instead of at the wait's deadline."""

from __future__ import annotations

import collections
import contextlib
import logging
import socket
import threading
from pathlib import Path
from typing import Any, Deque, Optional, TextIO

from tinyflash.deadline import Deadline
from tinyflash.errors import Cancelled, DeviceError, DeviceTimeoutError

log = logging.getLogger(__name__)


class SerialLink:
    def __init__(self, url: str, *, baudrate: int = 115200, log_path: Optional[Path] = None,
                 keep_lines: int = 12, cancel: Optional[threading.Event] = None) -> None:
        self.url = url
        self.cancel = cancel
        self.baudrate = baudrate
        self.log_path = log_path
        self._serial: Any = None
        self._buffer = b""
        self._log: Optional[TextIO] = None
        self.last_lines: Deque[str] = collections.deque(maxlen=keep_lines)

    def open(self) -> "SerialLink":
        import serial

        try:
            self._serial = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceError(f"cannot open serial port {self.url}: {exc}",
                              hint="check the board is connected and the port is not used by another program")
        sock = getattr(self._serial, "_socket", None)
        if isinstance(sock, socket.socket):   # socket://: no Nagle delay on our small commands
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "a", encoding="utf-8", buffering=1)
        return self

    def close(self) -> None:
        if self._serial is not None:
            sock = getattr(self._serial, "_socket", None)
            try:
                if isinstance(sock, socket.socket):
                    # socket://: pyserial's close() sleeps 0.3 s afterwards "for quick reconnects"
                    # (protocol_socket.py), a tenth of a warm emulated bench (#14); nobody reconnects here
                    self._serial._socket = None
                    self._serial.is_open = False
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
                else:
                    self._serial.close()
            except Exception:   # a vanished port may fail to close; it is gone either way
                pass
            self._serial = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "SerialLink":
        return self.open() if self._serial is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, text: str) -> None:
        if self._log:
            self._log.write(f"> {text}\n")
        try:
            self._serial.write(text.encode("ascii"))
        except Exception as exc:
            raise DeviceError(f"writing to {self.url} failed: {exc}", last_lines=list(self.last_lines),
                              log_path=self.log_path) from None

    def read_line(self, deadline: Deadline, what: str = "a line") -> str:
        while b"\n" not in self._buffer:
            if self.cancel is not None and self.cancel.is_set():
                raise Cancelled(f"stopped while waiting for {what} ({self.url})")
            remaining = deadline.remaining()
            if remaining <= 0:
                raise DeviceTimeoutError(
                    f"the device sent no {what} within {deadline.seconds:.1f} s ({self.url})",
                    last_lines=list(self.last_lines) + ([f"(partial) {self._buffer!r}"] if self._buffer else []),
                    log_path=self.log_path,
                    hint="the firmware may have hung or crashed; increase --timeout for slow boards")
            try:
                # read(n) waits for all n bytes or the timeout, so never ask for more than is there;
                # on socket:// in_waiting is only ever 0 or 1 (qemu_cortexm.md §2.1): byte reads then.
                waiting = self._serial.in_waiting
                chunk = self._serial.read(waiting if waiting > 1 else 1)
            except Exception as exc:
                raise DeviceError(f"reading from {self.url} failed: {exc}", last_lines=list(self.last_lines),
                                  log_path=self.log_path, hint="the port vanished or the emulator exited") from None
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\n", 1)
        line = raw.replace(b"\r", b"").replace(b"\0", b"").decode("ascii", errors="replace")
        self.last_lines.append(line)
        if self._log:
            self._log.write(f"< {line}\n")
        return line
