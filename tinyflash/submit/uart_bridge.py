"""The emulated-UART adapter: a pty pair whose slave the official runner opens as a serial port,
with its bytes copied to and from QEMU's TCP UART.

Why not hand the runner a ``socket://`` URL: the runner writes each command and its ``%`` in two
writes, so Nagle's algorithm holds the second until the delayed ACK of the first (~44 ms per command,
two days for an ad01 accuracy run, issue #12), and it closes and reopens the port between phases, so a
socket option set on its first connection is lost. A pty has no such pacing; tinyflash's own socket to
QEMU is opened once, with TCP_NODELAY, and lives as long as the bridge.

The bridge keeps its own descriptor of the slave open, so the runner closing and reopening the port
(identification, then the script) never makes the master side see a hang-up.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import tty
from pathlib import Path
from typing import Any, BinaryIO, Optional

from tinyflash.errors import DeviceError

log = logging.getLogger(__name__)


class UartBridge:
    """Copies bytes between a pty and a TCP endpoint until closed. Use as a context manager."""

    def __init__(self, host: str, port: int, *, transcript: Optional[Path] = None,
                 connect_timeout: float = 5.0) -> None:
        self.host, self.port = host, port
        self.transcript = transcript
        self.connect_timeout = connect_timeout
        self._sock: Optional[socket.socket] = None
        self._master = -1
        self._slave = -1
        self._thread: Optional[threading.Thread] = None
        self._stop_r, self._stop_w = -1, -1
        self._log: Optional[BinaryIO] = None
        self.error: Optional[BaseException] = None
        self.bytes_to_device = 0
        self.bytes_from_device = 0
        self.device_path = ""

    def open(self) -> "UartBridge":
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise DeviceError(f"cannot connect to the emulated UART at {self.host}:{self.port}: {exc}",
                              hint="the emulator may have exited; see its log") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self._sock = sock
        self._master, self._slave = os.openpty()
        # raw before anyone opens the slave: no echo, no CR/LF translation, no line buffering
        tty.setraw(self._slave)
        self.device_path = os.ttyname(self._slave)
        os.set_blocking(self._master, False)
        self._stop_r, self._stop_w = os.pipe()
        if self.transcript is not None:
            self.transcript.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.transcript, "ab")
        self._thread = threading.Thread(target=self._pump, name=f"uart-bridge-{self.port}", daemon=True)
        self._thread.start()
        log.info("UART bridge %s <-> %s:%d", self.device_path, self.host, self.port)
        return self

    def _record(self, data: bytes) -> None:
        # both directions in order: commands end in '%', answers in CR LF, so the file reads as a log
        if self._log is not None and data:
            self._log.write(data)

    def _pump(self) -> None:
        assert self._sock is not None
        sock, master = self._sock, self._master
        to_device = b""
        to_host = b""
        try:
            while True:
                readers: list[Any] = [self._stop_r]
                writers: list[Any] = []
                if not to_device:
                    readers.append(master)
                else:
                    writers.append(sock)
                if not to_host:
                    readers.append(sock)
                else:
                    writers.append(master)
                ready_r, ready_w, _ = select.select(readers, writers, [])
                if self._stop_r in ready_r:
                    return
                if master in ready_r:
                    try:
                        to_device = os.read(master, 65536)
                    except BlockingIOError:
                        to_device = b""
                    except OSError:        # EIO: no slave open (cannot happen while we hold one)
                        to_device = b""
                    self._record(to_device)
                if sock in ready_r:
                    data = sock.recv(65536)
                    if not data:
                        raise DeviceError(f"the emulated UART at {self.host}:{self.port} closed the connection",
                                          hint="the emulator exited or reset its serial port")
                    to_host = data
                    self.bytes_from_device += len(data)
                    self._record(data)
                if sock in ready_w and to_device:
                    sent = sock.send(to_device)
                    self.bytes_to_device += sent
                    to_device = to_device[sent:]
                if master in ready_w and to_host:
                    try:
                        written = os.write(master, to_host)
                    except BlockingIOError:
                        written = 0
                    to_host = to_host[written:]
        except BaseException as exc:    # reported by close() and by the runner's failure
            self.error = exc
            log.debug("UART bridge stopped: %r", exc)

    def close(self) -> None:
        if self._thread is not None:
            os.write(self._stop_w, b"x")
            self._thread.join(timeout=5)
            self._thread = None
        for fd in (self._master, self._slave, self._stop_r, self._stop_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = self._stop_r = self._stop_w = -1
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "UartBridge":
        return self.open() if self._sock is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()
