"""The night's record -- the source of truth -- written atomically after every finished job, so an
interrupted night keeps what finished. Also the night-level provenance."""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Optional

from tinyflash.farm.errors import FarmError
from tinyflash.farm.outcome import JobOutcome, Outcome
from tinyflash.farm.records import NightStatus
from tinyflash.report.atomic import write_json_atomic

FORMAT = "tinyflash-night"
FORMAT_VERSION = 1


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_NIGHT_ID = re.compile(r"[A-Za-z0-9._-]+\Z")


def check_night_id(night_id: str) -> str:
    """A night id names a folder under ``OUT/nights``: letters, digits, ``. _ -``; never ``..`` or a path,
    so a night cannot be written outside the farm directory (#11.5)."""
    if not _NIGHT_ID.match(night_id) or ".." in night_id:
        raise FarmError(f"night id {night_id!r} is not a plain name",
                        hint="use letters, digits and . _ - only (no '..', no '/'), e.g. 20260514-nightly")
    return night_id


def new_night_id(nights_dir: Path, now: Optional[_dt.datetime] = None) -> str:
    """``20260514-031500``, made unique within ``nights_dir`` (sorts in time order)."""
    stamp = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y%m%d-%H%M%S")
    candidate, k = stamp, 1
    while (nights_dir / candidate).exists():
        k += 1
        candidate = f"{stamp}-{k}"
    return candidate


def _sha256(path: Path) -> Optional[str]:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _tool_version(cmd: list[str]) -> Optional[str]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = (proc.stdout or proc.stderr).strip().splitlines()
    return first[0] if first else None


def night_provenance(inventory_path: Path, matrix_path: Path, runtimes: list[str]) -> dict[str, Any]:
    from tinyflash import __version__

    checkout = Path(__file__).resolve().parents[2]
    sha = None
    if (checkout / ".git").exists():
        sha = _tool_version(["git", "-C", str(checkout), "rev-parse", "HEAD"])
    return {
        "tinyflash_version": __version__, "tinyflash_git_sha": sha,
        "host": platform.node(), "platform": platform.platform(), "python": sys.version.split()[0],
        "toolchain": _tool_version(["arm-none-eabi-gcc", "--version"]),
        "qemu": _tool_version(["qemu-system-arm", "--version"]),
        "runtimes": runtimes,
        "inventory": {"path": str(inventory_path), "sha256": _sha256(inventory_path)},
        "matrix": {"path": str(matrix_path), "sha256": _sha256(matrix_path),
                   "text": matrix_path.read_text(encoding="utf-8") if matrix_path.is_file() else None},
    }


def summarize(jobs: list[dict[str, Any]]) -> dict[str, int]:
    counts = {o.value: 0 for o in Outcome}
    for job in jobs:
        counts[job["outcome"]] += 1
    counts["total"] = len(jobs)
    return counts


class NightRecorder:
    """Holds the night's JSON and rewrites it atomically on every change (thread-safe)."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data
        self.data.setdefault("jobs", [])
        self._lock = threading.Lock()
        self._write()

    def _write(self) -> None:
        self.data["summary"] = summarize(self.data["jobs"])
        write_json_atomic(self.path, self.data)

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self.data[key] = value
            self._write()

    def append(self, key: str, item: Any) -> None:
        with self._lock:
            self.data.setdefault(key, []).append(item)
            self._write()

    def add_job(self, outcome: JobOutcome) -> None:
        with self._lock:
            self.data["jobs"].append(outcome.to_dict())
            self.data["jobs"].sort(key=lambda j: j["id"])
            self._write()

    def finish(self, status: NightStatus) -> None:
        with self._lock:
            self.data["status"] = status.value
            self.data["finished"] = utc_now()
            self._write()
