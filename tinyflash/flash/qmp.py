"""A minimal QMP (QEMU Machine Protocol) client over a unix socket: JSON lines, one command at a time."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from tinyflash.deadline import Deadline
from tinyflash.errors import EmulatorError


class QmpClient:
    def __init__(self, path: Path, deadline: Deadline) -> None:
        self._buf = b""
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                self._sock.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if deadline.expired():
                    self.close()
                    raise EmulatorError(f"QEMU's monitor socket {path} did not appear within {deadline.seconds:.0f} s")
                import time

                time.sleep(0.01)
            except OSError as exc:
                self.close()
                raise EmulatorError(f"cannot connect to QEMU's monitor: {exc.strerror or exc}") from None
        self._deadline_s = max(deadline.seconds, 1.0)
        self._read(deadline)                    # greeting
        self.execute("qmp_capabilities")

    def _read(self, deadline: Deadline) -> dict[str, Any]:
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                if line.strip():
                    try:
                        message = json.loads(line)
                    except ValueError:
                        raise EmulatorError(f"QEMU's monitor sent something that is not JSON: {line[:80]!r}") from None
                    if isinstance(message, dict) and "event" not in message:   # events are not answers
                        return message
            self._sock.settimeout(max(deadline.remaining(), 0.001))
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                raise EmulatorError("QEMU's monitor did not answer in time") from None
            except OSError as exc:             # ConnectionResetError: QEMU died while answering
                raise EmulatorError(f"QEMU's monitor connection broke ({exc.strerror or exc}): QEMU exited?") from None
            if not chunk:
                raise EmulatorError("QEMU's monitor closed the connection (QEMU exited?)")
            self._buf += chunk

    def execute(self, command: str, **arguments: Any) -> Any:
        payload: dict[str, Any] = {"execute": command}
        if arguments:
            payload["arguments"] = arguments
        try:
            self._sock.sendall(json.dumps(payload).encode() + b"\n")
        except OSError as exc:                 # BrokenPipeError: QEMU is gone
            raise EmulatorError(f"QEMU's monitor connection broke ({exc.strerror or exc}): QEMU exited?") from None
        reply = self._read(Deadline.after(self._deadline_s))
        if "error" in reply:
            raise EmulatorError(f"QEMU refused '{command}': {reply['error'].get('desc', reply['error'])}")
        return reply.get("return")

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass
