"""A night's JSON as typed records, parsed once: what the report writers (``regressions``, ``render``,
``junit``) read, instead of passing untyped dicts around (#15.6).

The JSON stays the source of truth (written by :mod:`tinyflash.farm.night`, stored by
:mod:`tinyflash.farm.history`); ``NightRecord.data`` keeps it exactly as read, so storing a night
never rewrites it. A job's ``result`` is the bench result document (:func:`tinyflash.report.results.
result_dict`), another module's schema, and stays a mapping with a few typed accessors.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from tinyflash.events import Stage
from tinyflash.farm.errors import FarmError
from tinyflash.farm.outcome import Outcome
from tinyflash.farm.thresholds import Thresholds

_EMPTY: Mapping[str, Any] = {}


class NightStatus(str, enum.Enum):
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"


class NightFormatError(FarmError):
    """A night's JSON that does not have the shape tinyflash writes."""


def _stage(value: Any) -> Optional[Stage]:
    return Stage(value) if value else None


@dataclass(frozen=True)
class AttemptRecord:
    number: int
    outcome: Outcome
    seconds: float
    serial_log: Optional[str] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "AttemptRecord":
        return cls(int(data["number"]), Outcome(data["outcome"]), float(data.get("seconds") or 0.0),
                   data.get("serial_log"))


@dataclass(frozen=True)
class JobRecord:
    id: str
    board: str
    model: str
    runtime: str
    variant: str
    outcome: Outcome
    stage: Optional[Stage]
    message: str
    seconds: float
    unit: Optional[str] = None
    firmware: Optional[str] = None
    build_options: Mapping[str, Any] = field(default_factory=dict)
    attempts: tuple[AttemptRecord, ...] = ()
    last_lines: tuple[str, ...] = ()
    result: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "JobRecord":
        return cls(
            id=data["id"], board=data["board"], model=data["model"], runtime=data.get("runtime") or "",
            variant=data.get("variant") or "default", outcome=Outcome(data["outcome"]),
            stage=_stage(data.get("stage")), message=data.get("message") or "",
            seconds=float(data.get("seconds") or 0.0), unit=data.get("unit"), firmware=data.get("firmware"),
            build_options=dict(data.get("build_options") or {}),
            attempts=tuple(AttemptRecord.from_json(a) for a in data.get("attempts") or ()),
            last_lines=tuple(data.get("last_lines") or ()), result=data.get("result") or {})

    @property
    def did_not_pass(self) -> bool:
        return self.outcome in (Outcome.FAILED, Outcome.ERROR, Outcome.TIMEOUT)

    @property
    def performance(self) -> Mapping[str, Any]:
        return self.result.get("performance") or _EMPTY

    @property
    def size(self) -> Mapping[str, Any]:
        return self.result.get("size") or _EMPTY

    @property
    def layers(self) -> Optional[list[Mapping[str, Any]]]:
        """The per-layer profile of a profiled run (None otherwise)."""
        return (self.result.get("profile") or _EMPTY).get("layers") or None


@dataclass(frozen=True)
class NightRecord:
    night_id: str
    matrix: str
    status: NightStatus
    started: str
    finished: Optional[str]
    thresholds: Thresholds
    jobs: tuple[JobRecord, ...]
    provenance: Mapping[str, Any] = field(default_factory=dict)
    summary: Mapping[str, int] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)   # the JSON as read

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "NightRecord":
        try:
            return cls(
                night_id=data["night_id"], matrix=data["matrix"], status=NightStatus(data["status"]),
                started=data["started"], finished=data.get("finished"),
                thresholds=Thresholds.model_validate(data.get("thresholds") or {}),
                jobs=tuple(JobRecord.from_json(j) for j in data["jobs"]),
                provenance=data.get("provenance") or {}, summary=data.get("summary") or {}, data=data)
        except (KeyError, TypeError, ValueError) as exc:
            what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
            raise NightFormatError(f"night {data.get('night_id', '?') if isinstance(data, Mapping) else '?'}: "
                                   f"not a tinyflash night record ({what})",
                                   hint="render nights written by 'tinyflash farm run'") from None

    def job(self, job_id: str) -> Optional[JobRecord]:
        return next((j for j in self.jobs if j.id == job_id), None)
