"""Emulated boards: "flash + reset" boots the ELF in qemu-system-arm with the UART on a TCP socket.

The emulator starts paused (-S); the host opens the serial link, then :meth:`reset` resumes the CPU,
so the boot banner is never lost (shared docs qemu_cortexm.md §2.2). The UART listens on a socket
tinyflash binds itself: no port race, and a clear error when a requested port is taken. QEMU's UART is
one end of a socket pair; a :class:`~tinyflash.flash.serial_relay.SerialRelay` serves it to one TCP
client at a time and resets the firmware's command framing when a client leaves mid-command (#11.9). ``-icount shift=N`` makes every timer count executed instructions.

QEMU that dies (a machine option it rejects, a kernel it cannot load, a CPU lockup when the firmware
touches an address with nothing behind it) is an :class:`EmulatorError` quoting QEMU's own last words,
read before the run folder is deleted (#11.6): from :meth:`program`/:meth:`reset` when the monitor
connection breaks, and from :meth:`close` when QEMU had exited on its own while the host was still
talking to the firmware (the serial link then only saw "socket disconnected").
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Callable, Optional

from tinyflash.board.schema import Board, QemuFlash
from tinyflash.deadline import Deadline
from tinyflash.errors import EmulatorError, ToolNotFoundError
from tinyflash.flash import gdb_remote
from tinyflash.flash.base import Flasher
from tinyflash.flash.serial_relay import SerialRelay

log = logging.getLogger(__name__)
QEMU = "qemu-system-arm"
INSTALL_HINT = "install it: apt-get install qemu-system-arm"
# what `qemu: fatal:` prints after its message: R00=... XPSR=... s00=... d00=... FPSCR: ...
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_REGISTER_DUMP = re.compile(r"^(R\d\d=|XPSR=|PSR=|FPSCR|s\d\d=|d\d\d=|[A-Z]{2,4}=[0-9a-f]{8}\b)")


def find_qemu() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise ToolNotFoundError(f"{QEMU} not found on PATH", hint=INSTALL_HINT)
    return path


@lru_cache(maxsize=None)
def _machines_of(qemu: str) -> frozenset[str]:
    log.debug("running %s -machine help", qemu)
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


class HumanMonitor:
    """QEMU's human monitor (HMP) on a unix socket: a command line, its output up to the next prompt.

    tinyflash needs three commands (cont, system_reset, quit), which print nothing when they succeed;
    any output that is not the echo of the command is QEMU refusing it."""

    PROMPT = b"(qemu) "

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
                time.sleep(0.01)
            except OSError as exc:
                self.close()
                raise EmulatorError(f"cannot connect to QEMU's monitor: {exc.strerror or exc}") from None
        self._deadline_s = max(deadline.seconds, 1.0)
        self._read_to_prompt(deadline)          # the greeting

    def _read_to_prompt(self, deadline: Deadline, *, closing: bool = False) -> bytes:
        while self.PROMPT not in self._buf:
            self._sock.settimeout(max(deadline.remaining(), 0.001))
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                raise EmulatorError("QEMU's monitor did not answer in time") from None
            except OSError as exc:             # ConnectionResetError: QEMU died while answering
                if closing:
                    return b""
                raise EmulatorError(f"QEMU's monitor connection broke ({exc.strerror or exc}): QEMU exited?") from None
            if not chunk:
                if closing:                    # quit: QEMU closes the monitor as it exits
                    return b""
                raise EmulatorError("QEMU's monitor closed the connection (QEMU exited?)")
            self._buf += chunk
        text, self._buf = self._buf.split(self.PROMPT, 1)
        return text

    def execute(self, command: str) -> None:
        try:
            self._sock.sendall(command.encode("ascii") + b"\n")
        except OSError as exc:                 # BrokenPipeError: QEMU is gone
            raise EmulatorError(f"QEMU's monitor connection broke ({exc.strerror or exc}): QEMU exited?") from None
        output = self._read_to_prompt(Deadline.after(self._deadline_s), closing=command == "quit")
        # the monitor echoes the line as typed (redrawn with terminal control sequences) up to its
        # newline; what follows is the command's own output
        answer = output.split(b"\n", 1)[1] if b"\n" in output else b""
        said = [line.strip() for line in _ANSI.sub("", answer.decode("ascii", "replace")).splitlines() if line.strip()]
        if said:
            raise EmulatorError(f"QEMU refused '{command}': {' '.join(said)[:200]}")

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass


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
        self._relay: Optional[SerialRelay] = None
        self._uart: Optional[socket.socket] = None       # our end of QEMU's UART
        self._monitor: Optional[HumanMonitor] = None
        self._paused = False
        self._stderr: Optional[BinaryIO] = None
        self._exit_seen = False       # wait() returned: QEMU's exit was expected by the caller
        self.port = 0

    # -- Flasher ------------------------------------------------------------------------------
    def program(self, elf: Path) -> None:
        self._elf = Path(elf)
        try:
            with open(self._elf, "rb") as fh:
                magic = fh.read(4)
        except OSError as exc:
            raise EmulatorError(f"cannot read firmware {elf}: {exc.strerror}") from None
        if magic != b"\x7fELF":
            # QEMU would load it as a raw image and lock up on the first word (#11.6)
            raise EmulatorError(f"firmware {elf} is not an ELF file",
                                hint="pass the firmware.elf that 'tinyflash build' writes (not .bin or .hex)")
        self._launch()

    def reset(self) -> None:
        assert self._monitor is not None, "program() first"
        self._check_alive()
        try:
            if self._paused:
                self._monitor.execute("cont")
                self._paused = False
            else:
                self._monitor.execute("system_reset")
        except EmulatorError:
            self._check_alive(grace=2.0)   # the monitor broke because QEMU died: say why
            raise

    def serial_url(self) -> str:
        return f"socket://{self.options.host}:{self.port}"

    def memory_writer(self) -> Optional[Callable[[int, bytes], None]]:
        return self.write_memory

    def write_memory(self, address: int, data: bytes) -> None:
        """Write guest RAM through the gdbstub (the guest is stopped meanwhile; see gdb_remote)."""
        assert self._proc is not None, "program() first"
        try:
            gdb_remote.write_memory(self.gdb_path, address, data, timeout_s=self.options.start_timeout)
        except EmulatorError:
            self._check_alive(grace=2.0)   # the gdbstub broke because QEMU died: say why
            raise

    def close(self) -> None:
        died = self._exit_error() if not self._exit_seen else None   # before the folder with its logs goes
        self._stop()
        if self._own_run_dir:
            shutil.rmtree(self._run_dir, ignore_errors=True)
        if died is not None:
            raise died

    def _stop(self) -> None:
        if self._monitor is not None:
            try:
                self._monitor.execute("quit")
            except (EmulatorError, OSError):   # QEMU already gone (killed, crashed): nothing to ask
                pass
            self._monitor.close()
            self._monitor = None
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
        if self._relay is not None:
            self._relay.stop()
            self._relay = None
        for sock in (self._listener, self._uart):
            if sock is not None:
                sock.close()
        self._listener = self._uart = None

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

    @property
    def gdb_path(self) -> Path:
        return self._run_dir / "gdb.sock"

    def command_line(self, uart_fd: int) -> list[str]:
        assert isinstance(self.board.flash, QemuFlash) and self._elf is not None
        monitor = self._run_dir / "monitor.sock"
        return [
            find_qemu(), "-M", self.board.flash.machine, "-display", "none",
            # the human monitor, not QMP: a QMP monitor runs in its own I/O thread, and under -icount
            # QEMU wakes that thread at every virtual-clock notification, i.e. for every byte the UART
            # receives (strace of a vww bench: 355k wake-ups for 236k bytes); HMP runs in the main loop.
            # Before the chardev, so its socket exists while QEMU sets up the serial side.
            "-monitor", f"unix:{monitor},server=on,wait=off",
            # a connected socket (server=off): QEMU's end of the pair the relay serves clients from
            "-chardev", f"socket,id=ser0,fd={uart_fd},server=off,nodelay=on",
            "-serial", "chardev:ser0",
            # the gdbstub: the host writes inputs into the firmware's buffer through it (#14: the UART
            # takes one byte per transfer); a unix socket in the run folder, as the monitor's
            "-gdb", f"unix:{self.gdb_path},server=on,wait=off",
            "-icount", f"shift={self.board.flash.icount_shift},align=off,sleep=on",
            "-d", "guest_errors,unimp", "-D", str(self.log_path),
            "-kernel", str(self._elf), "-S",
        ]

    def _launch(self) -> None:
        self._stop()
        self._run_dir.mkdir(parents=True, exist_ok=True)
        monitor_path = self._run_dir / "monitor.sock"
        for stale in (monitor_path, self.gdb_path):
            if stale.exists():
                stale.unlink()      # stale socket of a killed QEMU
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
        self._uart, qemu_uart = socket.socketpair()
        cmd = self.command_line(qemu_uart.fileno())
        log.info("starting %s", " ".join(cmd))
        stderr_path = self._run_dir / "qemu.stderr"
        self._stderr = open(stderr_path, "wb")
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr,
                                          pass_fds=[qemu_uart.fileno()], start_new_session=True)
        finally:
            qemu_uart.close()           # QEMU has its copy; ours would keep the pair open after QEMU exits
        self._relay = SerialRelay(listener, self._uart).start()
        self._paused = True
        try:
            self._monitor = HumanMonitor(monitor_path, Deadline.after(self.options.start_timeout))
        except EmulatorError as exc:
            self._check_alive(grace=2.0)
            tail = self.stderr_tail()
            raise EmulatorError(exc.message + (f"\n    {tail}" if tail else ""), hint=exc.hint) from None

    def _check_alive(self, grace: float = 0.0) -> None:
        """Raise the exit error if QEMU has exited (waiting up to ``grace`` s for one on its way out)."""
        if self._proc is not None and grace > 0:
            try:
                self._proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        error = self._exit_error(any_status=True)
        if error is not None:
            raise error

    def _exit_error(self, any_status: bool = False) -> Optional[EmulatorError]:
        """The error for a QEMU that has exited (by itself: with a failure status unless ``any_status``)."""
        if self._proc is None or self._proc.poll() is None:
            return None
        rc = self._proc.returncode
        if rc == 0 and not any_status:
            return None
        lockup = rc in (134, -6)
        why = "the CPU locked up (a fault inside the fault handler, or no handler)" if lockup else f"exit status {rc}"
        said = self.last_words()
        board = self.board.name
        hint = (f"a lockup at boot usually means an address in the board file has nothing behind it in QEMU's "
                f"{self.board.flash.machine if isinstance(self.board.flash, QemuFlash) else ''} model: check "
                f"memory.ram/memory.flash, uart.base and timer.base of {board}" if lockup else
                "QEMU's own words are quoted above; check flash.machine and the firmware file")
        return EmulatorError(f"QEMU exited: {why}" + "".join(f"\n    {text}" for text in said), hint=hint)

    def last_words(self, lines: int = 6) -> list[str]:
        """QEMU's last messages: its stderr and the -d guest_errors,unimp log (the bad access that led
        to a lockup, for one), without the register dump a fatal error adds to both."""
        said: list[str] = []
        for path in (self.log_path, self._run_dir / "qemu.stderr"):
            try:
                text = path.read_text(errors="replace").splitlines()
            except OSError:
                continue
            for line in text:
                line = line.strip()[:200]
                if line and not _REGISTER_DUMP.match(line) and line not in said:
                    said.append(line)
        return said[-lines:]

    def stderr_tail(self, lines: int = 6) -> str:
        return "\n    ".join(self.last_words(lines))

    def wait(self) -> int:
        """Block until QEMU exits (tinyflash emulate); returns its exit status."""
        assert self._proc is not None
        rc = self._proc.wait()
        self._exit_seen = True
        return rc

