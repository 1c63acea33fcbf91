"""Processes a test or scripts/robustness.py looks for: QEMU instances a run must not leave behind."""

from __future__ import annotations

from pathlib import Path


def qemu_processes_mentioning(text: str) -> list[int]:
    """PIDs of running qemu-system-arm processes whose command line contains ``text``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "qemu-system-arm" in cmdline and text in cmdline:
            pids.append(int(entry.name))
    return pids
