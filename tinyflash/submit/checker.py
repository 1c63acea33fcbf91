"""Running the official submission checker (``tools/submission/submission_checker.py`` in
mlcommons/tiny, default ``--version v1.4``) on a tree, and reading its verdict.

The checker always exits 0 (its ``sys.exit`` is commented out); its verdict is the last
``SUMMARY:`` line and the ``ERROR`` lines it logs. It writes ``summary.csv`` (the results table)
where ``--csv`` says, relative to the directory it starts in.
"""

from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tinyflash.errors import TinyflashError
from tinyflash.deps.mlperf_tiny import MlperfTinySources

log = logging.getLogger(__name__)
SUMMARY_OK = "SUMMARY: submission looks OK"
TABLE_COLUMNS = ("Model", "Result", "ResultUnit", "Accuracy", "BoardName", "SystemDesc", "Division",
                 "Organization", "Availability")


class CheckerError(TinyflashError):
    pass


@dataclass(frozen=True)
class Verdict:
    ok: bool
    summary: str                   # the checker's SUMMARY line
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    table: tuple[dict[str, str], ...]
    output: str

    def table_lines(self) -> list[str]:
        rows = [[c for c in TABLE_COLUMNS]] + [[row.get(c, "") or "" for c in TABLE_COLUMNS] for row in self.table]
        widths = [max(len(r[i]) for r in rows) for i in range(len(TABLE_COLUMNS))]
        return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]


def parse_output(output: str, csv_text: str) -> Verdict:
    lines = output.splitlines()
    errors = tuple(line for line in lines if line.startswith("ERROR:") or "Traceback" in line)
    warnings = tuple(line for line in lines if line.startswith("WARNING:"))
    summaries = [line for line in lines if "SUMMARY:" in line]
    summary = summaries[-1].split("SUMMARY:", 1)[1].strip() if summaries else "no SUMMARY line (the checker crashed?)"
    ok = bool(summaries) and SUMMARY_OK in summaries[-1] and not errors
    table = tuple(csv.DictReader(csv_text.splitlines())) if csv_text.strip() else ()
    return Verdict(ok, summary, errors, warnings, table, output)


def run_checker(checkout: MlperfTinySources, tree: Path, *, work_dir: Path, version: Optional[str] = None,
                timeout_s: float = 300.0, python: str = sys.executable) -> Verdict:
    work_dir.mkdir(parents=True, exist_ok=True)
    csv_path = (work_dir / "summary.csv").resolve()     # the checker chdirs into the tree before writing it
    cmd = [python, str(checkout.checker.resolve()), "--input", str(Path(tree).resolve()), "--csv", str(csv_path)]
    if version:
        cmd += ["--version", version]
    log.info("running the submission checker: %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, cwd=work_dir, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout_s, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    except subprocess.TimeoutExpired:
        raise CheckerError(f"the submission checker did not finish within {timeout_s:.0f} s") from None
    output = (proc.stdout or "") + (proc.stderr or "")
    if "ModuleNotFoundError" in output:
        missing = [line for line in output.splitlines() if "ModuleNotFoundError" in line]
        raise CheckerError(f"the submission checker cannot start: {missing[-1].strip()}",
                           hint="install its requirements (tools/submission/requirements.txt: pandas)")
    csv_text = csv_path.read_text() if csv_path.is_file() else ""
    return parse_output(output, csv_text)
