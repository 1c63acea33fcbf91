"""Did the night regress? Compared with the previous night and with a rolling baseline (the median of
the last N finished nights of the same matrix), from the nights' JSON only.

* a job that did not pass (verification failure, error, timeout) is a failure;
* icount-emulated boards are deterministic, so instructions per inference are compared exactly: any
  increase is a regression, any decrease an improvement (reported apart);
* real boards: latency beyond the board's noise band (thresholds.board_noise_percent, else
  latency_noise_percent);
* flash and RAM: growth beyond thresholds.size_growth_bytes.

A speed finding against the previous night, when both ran profiled (matrix ``build: {profile: true}``),
names the layers whose time changed most, so the night's report already says where to look.
"""

from __future__ import annotations

import enum
import statistics
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from tinyflash.events import Stage
from tinyflash.farm.outcome import Outcome
from tinyflash.farm.records import JobRecord, NightRecord, NightStatus
from tinyflash.farm.thresholds import Thresholds


class Metric(str, enum.Enum):
    INSTRUCTIONS = "instructions"
    LATENCY = "latency_us"
    FLASH = "flash_bytes"
    RAM = "ram_bytes"


SPEED = (Metric.INSTRUCTIONS, Metric.LATENCY)


class Direction(str, enum.Enum):
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"


@dataclass(frozen=True)
class Finding:
    job_id: str
    metric: Metric
    direction: Direction
    old: float
    new: float
    reference: str              # "previous night 20260514-031500" or "baseline (median of 5 nights)"
    note: str = ""

    @property
    def change_percent(self) -> Optional[float]:
        return 100.0 * (self.new - self.old) / self.old if self.old else None

    def describe(self) -> str:
        pct = self.change_percent
        change = f" ({pct:+.2f}%)" if pct is not None else ""
        fmt = (lambda v: f"{v:,.1f}") if self.metric is Metric.LATENCY else (lambda v: f"{int(v):,}")
        return (f"{self.job_id}: {self.metric.value} {fmt(self.old)} -> {fmt(self.new)}{change} vs {self.reference}"
                + (f"; {self.note}" if self.note else ""))

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.job_id, "metric": self.metric.value, "direction": self.direction.value, "old": self.old,
                "new": self.new, "change_percent": None if self.change_percent is None
                else round(self.change_percent, 4), "reference": self.reference, "note": self.note,
                "text": self.describe()}


@dataclass(frozen=True)
class Failure:
    job_id: str
    outcome: Outcome
    stage: Optional[Stage]
    message: str
    was_passing: Optional[bool]      # in the previous night (None: not in it)

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.job_id, "outcome": self.outcome.value, "stage": self.stage.value if self.stage else None,
                "message": self.message, "was_passing": self.was_passing}


@dataclass(frozen=True)
class Analysis:
    night_id: str
    previous: Optional[str]
    baseline: tuple[str, ...]
    failures: tuple[Failure, ...] = ()
    regressions: tuple[Finding, ...] = ()
    improvements: tuple[Finding, ...] = ()
    new_jobs: tuple[str, ...] = ()
    missing_jobs: tuple[str, ...] = ()
    interrupted: bool = False

    @property
    def regressed_jobs(self) -> list[str]:
        return sorted({f.job_id for f in self.regressions} |
                      {f.job_id for f in self.failures if f.outcome is Outcome.FAILED})

    @property
    def failed_jobs(self) -> list[str]:
        return sorted({f.job_id for f in self.failures})

    @property
    def clean(self) -> bool:
        return not self.regressions and not self.failures and not self.interrupted

    def verdict(self) -> str:
        """The report's first line and the CLI's last: does the night need a human?"""
        if self.clean:
            return "CLEAN: every job passed; no regression" + (
                f" against {self.previous}" if self.previous else " (no earlier night to compare with)")
        parts = []
        if self.regressions or any(f.outcome is Outcome.FAILED for f in self.failures):
            jobs = self.regressed_jobs
            parts.append(f"{len(jobs)} job(s) regressed ({', '.join(jobs)})")
        broken = [f.job_id for f in self.failures if f.outcome is not Outcome.FAILED]
        if broken:
            parts.append(f"{len(broken)} job(s) did not complete ({', '.join(broken)})")
        if self.interrupted:
            parts.append("the night was interrupted")
        return "REGRESSED: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict(), "clean": self.clean, "previous_night": self.previous,
                "baseline_nights": list(self.baseline), "regressed_jobs": self.regressed_jobs,
                "failed_jobs": self.failed_jobs, "failures": [f.to_dict() for f in self.failures],
                "regressions": [f.to_dict() for f in self.regressions],
                "improvements": [f.to_dict() for f in self.improvements],
                "new_jobs": list(self.new_jobs), "missing_jobs": list(self.missing_jobs)}


def job_metrics(job: JobRecord) -> dict[Metric, float]:
    """The comparable numbers of one job record (only what it has)."""
    out: dict[Metric, float] = {}
    for metric in (Metric.FLASH, Metric.RAM):
        if job.size.get(metric.value) is not None:
            out[metric] = float(job.size[metric.value])
    perf = job.performance
    if perf and job.outcome is Outcome.PASSED:
        if perf.get("instructions") is not None:
            out[Metric.INSTRUCTIONS] = float(perf["instructions"])
        elif perf.get("latency_us") is not None:
            out[Metric.LATENCY] = float(perf["latency_us"])
    return out


def _judge(metric: Metric, old: float, new: float, board: str, t: Thresholds) -> Optional[Direction]:
    if metric is Metric.INSTRUCTIONS:           # deterministic: exact
        return None if new == old else (Direction.REGRESSION if new > old else Direction.IMPROVEMENT)
    if metric is Metric.LATENCY:
        band = t.noise_percent(board) / 100.0
        if old and abs(new - old) / old > band:
            return Direction.REGRESSION if new > old else Direction.IMPROVEMENT
        return None
    if new - old > t.size_growth_bytes:
        return Direction.REGRESSION
    if new < old:
        return Direction.IMPROVEMENT
    return None


_OPTION_DEFAULTS = {"profile": False}     # keys newer than some stored nights
LAYERS_NAMED = 3


def _options_note(job: JobRecord, old_job: Optional[JobRecord]) -> str:
    if not old_job:
        return ""
    a = {**_OPTION_DEFAULTS, **old_job.build_options}
    b = {**_OPTION_DEFAULTS, **job.build_options}
    changes = [f"{k} {a.get(k)} -> {b.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return ("build options changed: " + ", ".join(changes)) if changes else ""


def _layer_note(job: JobRecord, old_job: Optional[JobRecord]) -> str:
    """The layers whose time changed most between two profiled runs of the same graph ('' otherwise)."""
    new = job.layers
    old = old_job.layers if old_job else None
    if not new or not old or [(r["node"], r["op"]) for r in new] != [(r["node"], r["op"]) for r in old]:
        return ""
    key, unit = ("instructions", "instr") if all(r.get("instructions") is not None for r in new + old) \
        else ("cycles", "cycles")
    changes = sorted(((r[key] - o[key], r, o) for r, o in zip(new, old) if r[key] != o[key]),
                     key=lambda change: -abs(change[0]))
    parts = []
    for delta, row, was in changes[:LAYERS_NAMED]:
        pct = f" ({100 * delta / was[key]:+.1f}%)" if was[key] else ""
        parts.append(f"node {row['node']} {row['op']} {delta:+,.0f} {unit}{pct}")
    return ("most changed layers: " + ", ".join(parts)) if parts else ""


def _notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def analyse(night: NightRecord, earlier: Sequence[NightRecord]) -> Analysis:
    """``earlier``: finished nights of the same matrix before ``night``, oldest first (History.before)."""
    t = night.thresholds
    earlier = list(earlier)[-t.baseline_nights:]
    previous = earlier[-1] if earlier else None
    prev_jobs = {j.id: j for j in previous.jobs} if previous else {}
    jobs = {j.id: j for j in night.jobs}
    failures = []
    for job_id, job in sorted(jobs.items()):
        if job.did_not_pass:
            old = prev_jobs.get(job_id)
            failures.append(Failure(job_id, job.outcome, job.stage, job.message.split("\n")[0],
                                    None if old is None else old.outcome is Outcome.PASSED))
    regressions: list[Finding] = []
    improvements: list[Finding] = []
    for job_id, job in sorted(jobs.items()):
        metrics = job_metrics(job)
        if not metrics:
            continue
        old_job = prev_jobs.get(job_id)
        old_metrics = job_metrics(old_job) if old_job else {}
        history = [job_metrics(n_job) for n in earlier for n_job in n.jobs if n_job.id == job_id]
        for metric, new in metrics.items():
            finding = None
            if metric in old_metrics:
                direction = _judge(metric, old_metrics[metric], new, job.board, t)
                if direction:
                    finding = Finding(job_id, metric, direction, old_metrics[metric], new,
                                      f"previous night {previous.night_id}" if previous else "previous night",
                                      _notes(_options_note(job, old_job),
                                             _layer_note(job, old_job) if metric in SPEED else ""))
            values = [h[metric] for h in history if metric in h]
            if finding is None and len(values) >= 2:
                base = statistics.median(values)
                direction = _judge(metric, base, new, job.board, t)
                if direction:
                    finding = Finding(job_id, metric, direction, base, new,
                                      f"baseline (median of {len(values)} nights)", _options_note(job, old_job))
            if finding:
                (regressions if finding.direction is Direction.REGRESSION else improvements).append(finding)
    new_jobs = tuple(sorted(set(jobs) - set(prev_jobs))) if previous else ()
    missing = tuple(sorted(set(prev_jobs) - set(jobs)))
    return Analysis(night.night_id, previous.night_id if previous else None,
                    tuple(n.night_id for n in earlier), tuple(failures), tuple(regressions), tuple(improvements),
                    new_jobs, missing, night.status is NightStatus.INTERRUPTED)
