"""What became of a job: an outcome enum, the failing stage, every attempt. Never a bare string."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from tinyflash.events import Stage  # noqa: F401  (a job's failing stage is a pipeline stage)

if TYPE_CHECKING:       # the report writers read outcomes without loading the matrix (boards, runtimes)
    from tinyflash.farm.matrix import JobSpec


class Outcome(str, enum.Enum):
    PASSED = "passed"        # ran, every output matched the golden
    FAILED = "failed"        # ran, the device's outputs differ from the golden (stage verify)
    ERROR = "error"          # build, flash or run broke (the stage says where)
    TIMEOUT = "timeout"      # the device stopped answering within its deadline
    SKIPPED = "skipped"      # quarantined, no unit for the board, or the night was interrupted


RETRYABLE = (Outcome.ERROR, Outcome.TIMEOUT)


@dataclass(frozen=True)
class Attempt:
    number: int
    outcome: Outcome
    stage: Optional[Stage]
    message: str
    seconds: float
    serial_log: Optional[str] = None
    last_lines: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "outcome": self.outcome.value,
                "stage": self.stage.value if self.stage else None, "message": self.message,
                "seconds": round(self.seconds, 3), "serial_log": self.serial_log, "last_lines": list(self.last_lines)}


@dataclass(frozen=True)
class JobOutcome:
    job: JobSpec
    outcome: Outcome
    stage: Optional[Stage] = None
    message: str = ""
    unit: Optional[str] = None
    attempts: tuple[Attempt, ...] = ()
    started: Optional[str] = None            # ISO 8601, UTC
    seconds: float = 0.0
    deadline_s: Optional[float] = None
    result: Optional[dict[str, Any]] = None  # result_dict() (or firmware_dict() when the run broke)
    firmware: Optional[str] = None           # firmware id (see the night's "firmware" list)
    last_lines: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        job = self.job
        return {
            "id": job.id, "board": job.board.name, "model": job.model, "runtime": job.runtime, "variant": job.variant,
            "build_options": {"optimization": job.options.optimization, "kernels": job.options.kernels,
                              "defines": list(job.options.defines), "profile": job.options.profile},
            "quarantined": job.quarantined,
            "outcome": self.outcome.value, "stage": self.stage.value if self.stage else None,
            "message": self.message, "unit": self.unit, "firmware": self.firmware,
            "started": self.started, "seconds": round(self.seconds, 3), "deadline_s": self.deadline_s,
            "attempts": [a.to_dict() for a in self.attempts], "last_lines": list(self.last_lines),
            "result": self.result,
        }
