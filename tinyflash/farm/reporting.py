"""After a night (or on demand): compare with the history, write JSON, JUnit, Markdown, HTML, and store
the night. Everything here reads nights' JSON only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from tinyflash.farm.errors import HistoryError, HistoryStoreError
from tinyflash.farm.history import History
from tinyflash.farm.records import NightRecord
from tinyflash.farm.regressions import Analysis, analyse
from tinyflash.farm.render import write_reports
from tinyflash.report.atomic import write_json_atomic

TREND_NIGHTS = 10


@dataclass(frozen=True)
class Report:
    night: dict[str, Any]            # the night's JSON as written (with its analysis)
    analysis: Analysis
    paths: dict[str, Path]


def report_night(night: dict[str, Any], history: History, out_dir: Path, *, store: bool) -> Report:
    """Analyse ``night`` against the finished nights before it, write the reports into ``out_dir``, and
    (``store``) add the night, with its analysis, to the history. The JSON and the reports are written
    even when the history cannot be read or written; that failure is raised afterwards as a
    :class:`HistoryStoreError` carrying the report (#11.5)."""
    record = NightRecord.from_json(night)          # parsed once; every writer reads the record
    limit = max(record.thresholds.baseline_nights, TREND_NIGHTS)
    problem: Optional[HistoryError] = None
    try:
        earlier = [NightRecord.from_json(n) for n in history.before(night, limit)] if history.path.is_file() else []
    except HistoryError as exc:
        if not store:
            raise
        earlier, problem = [], exc
    analysis = analyse(record, earlier)
    night = dict(night, analysis=analysis.to_dict())
    paths = write_reports(out_dir, record, analysis, earlier[-TREND_NIGHTS:])
    paths["json"] = out_dir / "night.json"
    write_json_atomic(paths["json"], night)
    report = Report(night, analysis, paths)
    if store and problem is None:
        try:
            history.add(night)
        except HistoryError as exc:
            problem = exc
    if problem is not None:
        raise HistoryStoreError(report, problem, out_dir)
    return report


def report_from_history(history: History, out_dir: Path, night_id: Optional[str] = None) -> Report:
    night = history.get(night_id)
    return report_night(night, history, out_dir, store=False)
