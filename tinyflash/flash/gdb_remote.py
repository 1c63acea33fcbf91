"""Writing guest memory through QEMU's gdbstub (the GDB remote serial protocol, on a unix socket).

What for: the emulated UART takes one byte per host-to-guest transfer, so a 27 KB vww input sent as
the protocol's hex costs ~1.5 s of emulator work per upload (#14); written into the firmware's input
buffer through the gdbstub it costs milliseconds. Only the few packets that needs are spoken here:
``M addr,length:hex`` (write memory) and ``D`` (detach). QEMU stops the guest while a GDB client is
connected and lets it run again on detach, so each write is one short connection: the firmware idles
between commands, and under ``-icount`` a stopped guest's clock does not advance.
"""

from __future__ import annotations

import contextlib
import re
import socket
from pathlib import Path

from tinyflash.deadline import Deadline
from tinyflash.errors import EmulatorError

# QEMU's gdbstub takes packets of up to 4096 characters (MAX_PACKET_LENGTH); 1 KB of data is 2 KB of hex
CHUNK_BYTES = 1024
_REPLY = re.compile(rb"\$([^#$]*)#([0-9a-fA-F]{2})")


def packet(body: str) -> bytes:
    """``$body#checksum``: the checksum is the sum of the body's bytes modulo 256."""
    data = body.encode("ascii")
    return b"$" + data + b"#" + f"{sum(data) & 0xFF:02x}".encode("ascii")


class GdbRemote:
    """One connection to the gdbstub: the guest is stopped from connect to :meth:`detach`."""

    def __init__(self, path: Path, deadline: Deadline) -> None:
        self._deadline = deadline
        self._buf = b""
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.settimeout(max(deadline.remaining(), 0.001))
            self._sock.connect(str(path))
        except OSError as exc:
            self._sock.close()
            raise EmulatorError(f"cannot connect to QEMU's gdbstub {path}: {exc.strerror or exc}") from None

    def _request(self, body: str) -> str:
        try:
            self._sock.sendall(packet(body))
            while True:
                match = _REPLY.search(self._buf)
                if match:
                    self._buf = self._buf[match.end():]
                    self._sock.sendall(b"+")          # acknowledge, as a GDB client does
                    reply = match.group(1).decode("ascii", "replace")
                    if not reply.startswith(("T", "S")):
                        return reply
                    continue                          # the stop reply QEMU sends when a client connects
                self._sock.settimeout(max(self._deadline.remaining(), 0.001))
                chunk = self._sock.recv(65536)
                if not chunk:
                    raise EmulatorError("QEMU's gdbstub closed the connection (QEMU exited?)")
                self._buf += chunk
        except socket.timeout:
            raise EmulatorError(f"QEMU's gdbstub did not answer '{body[:12]}' within "
                                f"{self._deadline.seconds:.0f} s") from None
        except OSError as exc:
            raise EmulatorError(f"QEMU's gdbstub connection broke ({exc.strerror or exc}): QEMU exited?") from None

    def write_memory(self, address: int, data: bytes) -> None:
        for offset in range(0, len(data), CHUNK_BYTES):
            chunk = data[offset:offset + CHUNK_BYTES]
            reply = self._request(f"M{address + offset:x},{len(chunk):x}:{chunk.hex()}")
            if reply != "OK":
                raise EmulatorError(f"QEMU refused to write {len(chunk)} bytes at 0x{address + offset:08x}: "
                                    f"gdbstub answered {reply[:20]!r}",
                                    hint="the address is outside the emulated board's memory: check memory.ram "
                                         "in the board file")

    def detach(self) -> None:
        """Let the guest run again."""
        reply = self._request("D")
        if reply != "OK":
            raise EmulatorError(f"QEMU's gdbstub refused to detach: {reply[:20]!r}")

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass


def write_memory(path: Path, address: int, data: bytes, timeout_s: float = 5.0) -> None:
    """Stop the guest, write ``data`` at ``address``, let the guest run again."""
    remote = GdbRemote(path, Deadline.after(timeout_s))
    try:
        try:
            remote.write_memory(address, data)
        except EmulatorError:
            with contextlib.suppress(EmulatorError):   # a refused write: still let the guest run on
                remote.detach()
            raise
        remote.detach()
    finally:
        remote.close()
