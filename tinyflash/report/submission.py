"""Result folders in the official runner's formats (spec §3.7), so the MLPerf Tiny submission
checker's regexes parse them: log.txt (the serial transcript), results.txt, results.json."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from tinyflash.report.atomic import write_json_atomic, write_text_atomic
from tinyflash.run.accuracy import AccuracyScore
from tinyflash.run.performance import Performance


def _prefix(now: Optional[float] = None) -> str:
    return time.strftime("%m%d.%H%M%S", time.localtime(now)) + " ulp-mlperf: "


def accuracy_text(score: AccuracyScore, now: Optional[float] = None) -> str:
    p = _prefix(now)
    return f"{p}Top 1% = {score.top1:2.1f}\n{p}AUC = {score.auc:.3f}\n"


def performance_text(perf: Performance, now: Optional[float] = None) -> str:
    lines = []
    for k, w in enumerate(perf.windows):
        seconds = w.elapsed_us / 1e6
        lines += [f"Performance results for window {k + 1}:", f"  # Inferences : {w.iterations}",
                  f"  Runtime      : {seconds:.3f} sec.", f"  Throughput   : {w.throughput_ips:.3f} inf./sec."]
        if seconds > 10:
            lines.append("Runtime requirements have been met.")
    text = "\n".join(lines) + "\n"
    rule = "-" * 64 + "\n"
    if len(perf.windows) != 5:
        return text + rule + f"{_prefix(now)}ERROR 1 - loop_count was not exactly 5.\n" + rule
    return text + rule + f"{_prefix(now)}Median throughput is {perf.throughput_ips:>10.3f} inf./sec.\n" + rule


def performance_records(perf: Performance) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for w in perf.windows:
        records.append({"mode": "performance", "infer": {
            "elapsed_time": w.elapsed_us, "iterations": w.iterations, "warmups": w.warmups,
            "total_inferences": w.iterations, "throughput": w.throughput_ips}})
    if len(perf.windows) != 5:
        records.append({"error": "error 1"})
    return records


def write_result_folder(folder: Path, *, serial_log: Optional[Path], results_text: str,
                        records: Sequence[dict[str, Any]], provenance: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if serial_log and serial_log.exists():
        shutil.copyfile(serial_log, folder / "log.txt")
    else:
        write_text_atomic(folder / "log.txt", "")
    write_text_atomic(folder / "results.txt", results_text)
    write_json_atomic(folder / "results.json", list(records))
    write_json_atomic(folder / "tinyflash.json", provenance)
    return folder
