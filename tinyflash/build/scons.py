"""Running the packaged SConstruct as a subprocess (never in-process: SCons keeps global state)."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from tinyflash.board.schema import Board
from tinyflash.build.boot2 import check_boot2
from tinyflash.build.size import SizeReport, check_segments, size_report
from tinyflash.build.toolchain import Toolchain, find_toolchain
from tinyflash.errors import BuildError, RegionOverflowError
from tinyflash.generate.project import GeneratedProject
from tinyflash.resources import sconstruct_path

log = logging.getLogger(__name__)
CACHE_ENV = "TINYFLASH_CACHE_DIR"
_OVERFLOW = re.compile(r"region [`']?(\w+)'? overflowed by (\d+) bytes")


@dataclass(frozen=True)
class Firmware:
    project: GeneratedProject
    elf: Path
    bin: Path
    hex: Path
    map: Path
    size: SizeReport
    toolchain: str
    build_seconds: float
    compiled_objects: int
    elf_sha256: str = ""      # of the ELF this build produced; checked again before it is flashed


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tinyflash" / "scons"


def prepare_cache(cache: Path) -> None:
    """Create and configure the object cache once, before any build uses it.

    SCons creates a missing cache directory atomically, but for an existing empty one (what mkdir or a
    test's tmp dir leaves) every SCons process writes `config` itself, and parallel farm builds then
    fail with FileExistsError on it. So one process at a time does it here, with SCons's own code.
    """
    if (cache / "config").is_file():
        return
    cache.parent.mkdir(parents=True, exist_ok=True)
    with open(cache.parent / f".{cache.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)     # threads of one farm run and separate processes alike
        if not (cache / "config").is_file():
            from SCons.CacheDir import CacheDir   # only the cache layout; builds still run out of process
            CacheDir(str(cache))


def build_firmware(project: GeneratedProject, *, jobs: int | None = None, cache_dir: Path | None = None,
                   toolchain: Toolchain | None = None,
                   on_line: Optional[Callable[[str], None]] = None) -> Firmware:
    toolchain = toolchain or find_toolchain()
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    prepare_cache(cache)
    cmd = [sys.executable, "-m", "SCons", "-Q", f"-j{jobs or os.cpu_count() or 1}",
           "-C", str(project.directory), "-f", str(sconstruct_path()),
           f"PROJECT={project.project_file.name}", f"TOOLCHAIN_BIN={toolchain.bin_dir}", f"CACHE={cache}"]
    log.info("running %s", " ".join(cmd))
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    compiled = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        output.append(line)
        if (" -c " in line and "gcc" in line) or line.startswith("Retrieved `"):
            compiled += 1
        if on_line:
            on_line(line)
    rc = proc.wait()
    elapsed = time.monotonic() - started
    text = "\n".join(output)
    if rc != 0:
        _raise_build_error(project.board, text, rc)
    build = project.directory / "build"
    elf = build / "firmware.elf"
    report = size_report(elf, project.board)
    check_segments(elf, project.board)
    if project.board.boot2 is not None:
        check_boot2(elf, project.board)
    return Firmware(project, elf, build / "firmware.bin", build / "firmware.hex", build / "firmware.map",
                    report, toolchain.version, elapsed, compiled, hashlib.sha256(elf.read_bytes()).hexdigest())


def _raise_build_error(board: Board, text: str, rc: int) -> None:
    match = _OVERFLOW.search(text)
    if match:
        raise RegionOverflowError(match.group(1), int(match.group(2)), board=board.name)
    errors = [line for line in text.splitlines() if "error" in line.lower()][:8]
    summary = "\n    ".join(errors) if errors else "\n    ".join(text.splitlines()[-8:])
    raise BuildError(f"build failed (scons exit {rc}):\n    {summary}", log=text,
                     hint="the full compiler output is in the exception's log; rerun with -v to see it")
