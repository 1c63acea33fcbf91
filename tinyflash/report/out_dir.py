"""One run at a time per output directory (#11.2).

Two ``tinyflash bench --out D`` at once used to overwrite each other's firmware and serial log, and one
reported the other's flash size and instruction count. :func:`exclusive_out_dir` holds an exclusive
``flock`` on ``D/.tinyflash.lock`` (the holder's PID written in it); a second process fails at once
with :class:`OutDirBusyError` naming that PID. The lock is re-entrant within a thread, so a caller can
hold it across :func:`tinyflash.pipeline.build` and :func:`tinyflash.pipeline.run`, which take it too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from tinyflash.errors import TinyflashError

LOCK_NAME = ".tinyflash.lock"
# what a run writes beside the firmware; discarded when a new run starts, so a failed run never
# leaves an older result looking current (#11.9)
RESULT_FILES = ("results.json",)
SUBMISSION_FOLDERS = {"performance": "results/performance", "accuracy": "results/accuracy"}


class OutDirBusyError(TinyflashError):
    """Another run is using the output directory."""

    def __init__(self, directory: Path, pid: Optional[int]) -> None:
        holder = f"process {pid}" if pid else "another process"
        super().__init__(f"output directory {directory} is in use by {holder}",
                         hint="wait for that run to finish, or pass a different --out DIR")
        self.directory = directory
        self.pid = pid


@dataclass
class _Held:
    thread: int
    fd: int
    depth: int


# Locks this process holds, by directory. flock conflicts between two open() of the same file even in
# one process, so re-entrancy needs this record of what is already held.
_held: dict[Path, _Held] = {}
_guard = threading.Lock()


def _holder_pid(path: Path, wait_s: float = 1.0) -> Optional[int]:
    # the holder writes its PID right after it locks: give it a moment
    deadline = time.monotonic() + wait_s
    while True:
        with contextlib.suppress(OSError, ValueError):
            return int(path.read_text().strip())
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def _acquire(directory: Path) -> int:
    lock_path = directory / LOCK_NAME
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise TinyflashError(f"cannot use {directory} as output directory: {exc.strerror}",
                             hint="pass --out DIR with a directory you can write (it is created if missing)") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutDirBusyError(directory, _holder_pid(lock_path)) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


@contextlib.contextmanager
def exclusive_out_dir(directory: Path | str) -> Iterator[Path]:
    """Hold ``directory`` for this run; raises :class:`OutDirBusyError` at once if another holds it."""
    key = Path(directory).resolve()
    me = threading.get_ident()
    with _guard:
        held = _held.get(key)
        if held is None:
            _held[key] = held = _Held(me, _acquire(key), 0)
        elif held.thread != me:
            raise OutDirBusyError(key, os.getpid())
        held.depth += 1
    try:
        yield key
    finally:
        with _guard:
            held.depth -= 1
            if held.depth == 0:
                del _held[key]
                with contextlib.suppress(OSError):
                    os.ftruncate(held.fd, 0)     # no stale PID for the next reader
                os.close(held.fd)                # releases the flock


def discard_results(directory: Path, mode: str) -> None:
    """Remove what an earlier ``mode`` run ("performance" or "accuracy") left in ``directory``."""
    if mode == "performance":
        for name in RESULT_FILES:
            with contextlib.suppress(FileNotFoundError):
                (directory / name).unlink()
    folder = directory / SUBMISSION_FOLDERS[mode]
    if folder.is_dir():
        shutil.rmtree(folder)
