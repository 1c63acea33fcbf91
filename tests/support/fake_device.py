"""A scripted MLPerf Tiny device on a loopback TCP socket, for host-side tests without QEMU.

``script`` maps a received command to the raw bytes to answer (or None: say nothing)."""

from __future__ import annotations

import socket
import threading
from typing import Callable, Optional, Union

Answer = Union[bytes, None, Callable[[str], Optional[bytes]]]


class FakeDevice:
    def __init__(self, script: dict[str, Answer], banner: bytes = b"") -> None:
        self.script = script
        self.banner = banner
        self.received: list[str] = []
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(1)
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        try:
            conn, _ = self._server.accept()
        except OSError:
            return
        with conn:
            if self.banner:
                conn.sendall(self.banner)
            buf = b""
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                while b"%" in buf:
                    cmd, buf = buf.split(b"%", 1)
                    text = cmd.decode()
                    self.received.append(text)
                    answer = self.script.get(text, self.script.get(text.split(" ")[0] + " *"))
                    if callable(answer):
                        answer = answer(text)
                    if answer:
                        conn.sendall(answer)

    def close(self) -> None:
        self._server.close()
