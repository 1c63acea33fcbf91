"""Emulated boards: "flash + reset" boots the ELF in qemu-system-arm with the UART on a TCP socket.

The emulator starts paused (-S); the host opens the serial link, then :meth:`reset` resumes the CPU,
so the boot banner is never lost (shared docs qemu_cortexm.md §2.2). The UART listens on a socket
tinyflash binds itself and hands over by file descriptor: no port race, and a clear error when a
requested port is taken. ``-icount shift=N`` makes every timer count executed instructions.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Optional

from tinyflash.board.schema import Board, QemuFlash
from tinyflash.deadline import Deadline
from tinyflash.errors import EmulatorError, ToolNotFoundError
from tinyflash.flash.base import Flasher
from tinyflash.flash.qmp import QmpClient

log = logging.getLogger(__name__)
QEMU = "qemu-system-arm"
INSTALL_HINT = "install it: apt-get install qemu-system-arm"


def find_qemu() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise ToolNotFoundError(f"{QEMU} not found on PATH", hint=INSTALL_HINT)
    return path


@lru_cache(maxsize=None)
def _machines_of(qemu: str) -> frozenset[str]:
    out = subprocess.run([qemu, "-machine", "help"], capture_output=True, text=True, timeout=30,
                         stdin=subprocess.DEVNULL).stdout
    return frozenset(line.split()[0] for line in out.splitlines()[1:] if line.strip())


def qemu_machines() -> Optional[frozenset[str]]:
    """The machine names the installed QEMU knows (asked once per process), None without QEMU: a
    board file naming another machine then fails when it loads, not as a QEMU that dies at boot (#11.6)."""
    try:
        qemu = find_qemu()
    except ToolNotFoundError:
        return None
    try:
        machines = _machines_of(qemu)
    except (OSError, subprocess.SubprocessError):
        return None
    return machines or None


@dataclass(frozen=True)
class QemuOptions:
    host: str = "127.0.0.1"
    port: int = 0                 # 0: any free port
    start_timeout: float = 10.0


class QemuFlasher(Flasher):
    """One QEMU instance per board session. Use as a context manager: it never outlives its owner."""

    def __init__(self, board: Board, options: QemuOptions = QemuOptions(), run_dir: Optional[Path] = None) -> None:
        if not isinstance(board.flash, QemuFlash):
            raise EmulatorError(f"board {board.name} is not an emulated board")
        self.board = board
        self.options = options
        self._run_dir = Path(run_dir) if run_dir else Path(tempfile.mkdtemp(prefix="tinyflash-qemu-"))
        self._own_run_dir = run_dir is None
        self._elf: Optional[Path] = None
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._listener: Optional[socket.socket] = None
        self._qmp: Optional[QmpClient] = None
        self._paused = False
        self._stderr: Optional[BinaryIO] = None
        self.port = 0

    # -- Flasher ------------------------------------------------------------------------------
    def program(self, elf: Path) -> None:
        self._elf = Path(elf)
        self._launch()

    def reset(self) -> None:
        assert self._qmp is not None, "program() first"
        self._check_alive()
        if self._paused:
            self._qmp.execute("cont")
            self._paused = False
        else:
            self._qmp.execute("system_reset")

    def serial_url(self) -> str:
        return f"socket://{self.options.host}:{self.port}"

    def close(self) -> None:
        self._stop()
        if self._own_run_dir:
            shutil.rmtree(self._run_dir, ignore_errors=True)

    def _stop(self) -> None:
        if self._qmp is not None:
            try:
                self._qmp.execute("quit")
            except (EmulatorError, OSError):   # QEMU already gone (killed, crashed): nothing to ask
                pass
            self._qmp.close()
            self._qmp = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=5)
            self._proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> "QemuFlasher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- details ------------------------------------------------------------------------------
    @property
    def pid(self) -> Optional[int]:
        return self._proc.pid if self._proc else None

    @property
    def log_path(self) -> Path:
        return self._run_dir / "qemu.log"

    def command_line(self, listener_fd: int) -> list[str]:
        assert isinstance(self.board.flash, QemuFlash) and self._elf is not None
        qmp = self._run_dir / "qmp.sock"
        return [
            find_qemu(), "-M", self.board.flash.machine, "-display", "none", "-monitor", "none",
            # QMP before the chardev, so its socket exists while QEMU sets up the serial side
            "-qmp", f"unix:{qmp},server=on,wait=off",
            "-chardev", f"socket,id=ser0,fd={listener_fd},server=on,wait=off,nodelay=on",
            "-serial", "chardev:ser0",
            "-icount", f"shift={self.board.flash.icount_shift},align=off,sleep=on",
            "-d", "guest_errors,unimp", "-D", str(self.log_path),
            "-kernel", str(self._elf), "-S",
        ]

    def _launch(self) -> None:
        self._stop()
        self._run_dir.mkdir(parents=True, exist_ok=True)
        qmp_path = self._run_dir / "qmp.sock"
        if qmp_path.exists():
            qmp_path.unlink()   # stale socket of a killed QEMU
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.options.host, self.options.port))
        except OSError as exc:
            listener.close()
            raise EmulatorError(f"cannot listen on {self.options.host}:{self.options.port}: {exc.strerror}",
                                hint="pick another --port, or 0 for any free port") from None
        listener.listen(1)
        self._listener = listener
        self.port = listener.getsockname()[1]
        cmd = self.command_line(listener.fileno())
        log.info("starting %s", " ".join(cmd))
        stderr_path = self._run_dir / "qemu.stderr"
        self._stderr = open(stderr_path, "wb")
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr,
                                      pass_fds=[listener.fileno()], start_new_session=True)
        self._paused = True
        try:
            self._qmp = QmpClient(qmp_path, Deadline.after(self.options.start_timeout))
        except EmulatorError as exc:
            self._check_alive()
            raise exc

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            rc = self._proc.returncode
            tail = self.stderr_tail()
            why = "the CPU locked up (a fault with no handler)" if rc in (134, -6) else f"exit status {rc}"
            raise EmulatorError(f"QEMU exited: {why}" + (f"\n    {tail}" if tail else ""),
                                hint=f"QEMU's log: {self.log_path}")

    def stderr_tail(self, lines: int = 6) -> str:
        path = self._run_dir / "qemu.stderr"
        try:
            text = path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n    ".join(text[-lines:])

    def wait(self) -> int:
        """Block until QEMU exits (tinyflash emulate); returns its exit status."""
        assert self._proc is not None
        return self._proc.wait()
