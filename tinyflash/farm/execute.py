"""One attempt of one job on one unit, through :func:`tinyflash.pipeline.run`; exceptions become outcomes.

Cancellation (Ctrl-C) is checked inside every serial wait (the link polls the night's stop event), so
an attempt stops within a fraction of a second; the job's overall deadline is checked at every progress
step the pipeline reports, and between steps every wait has its own deadline (the matrix timeouts x the
board's and the unit's multipliers), so an attempt always ends.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from tinyflash.build.scons import Firmware
from tinyflash.deadline import Deadline
from tinyflash.events import ProgressEvent
from tinyflash.errors import Cancelled, DeviceError, DeviceTimeoutError, EmulatorError, FlashError, TinyflashError
from tinyflash.farm.errors import JobCancelled, JobDeadlineExceeded
from tinyflash.farm.inventory import Unit
from tinyflash.farm.matrix import JobSpec
from tinyflash.farm.outcome import Attempt, Outcome, Stage
from tinyflash.model.spec import ModelSpec
from tinyflash.run.session import Timeouts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttemptContext:
    job: JobSpec
    unit: Unit
    spec: ModelSpec
    firmware: Firmware
    number: int
    log_path: Path
    timeouts: Timeouts                 # already scaled by the unit's multiplier (the board's is applied later)
    verify_count: int
    deadline: Deadline
    stop: threading.Event
    port: Optional[str] = None         # serial URL override (unit.serial, or a labgrid place's port)
    probe: Optional[str] = None        # probe UID (unit.probe, or a labgrid place's probe tag)
    on_progress: Callable[[str], None] = lambda text: None


@dataclass(frozen=True)
class AttemptResult:
    attempt: Attempt
    result: Optional[dict[str, Any]] = None


class Executor(Protocol):
    def __call__(self, ctx: AttemptContext) -> AttemptResult: ...


def tail_of(path: Optional[Path], lines: int = 12) -> tuple[str, ...]:
    if path is None:
        return ()
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ()
    return tuple(text[-lines:])


def pipeline_executor(ctx: AttemptContext) -> AttemptResult:
    """The real thing: program, reset, verify against the golden, measure."""
    from tinyflash import pipeline
    from tinyflash.report.results import result_dict

    phase = [Stage.FLASH]

    def progress(event: ProgressEvent) -> None:
        if ctx.stop.is_set():
            raise JobCancelled("the night was interrupted")
        if ctx.deadline.expired():
            raise JobDeadlineExceeded(ctx.deadline.seconds)
        phase[0] = event.stage
        ctx.on_progress(event.text)

    started = time.monotonic()
    try:
        progress(ProgressEvent(Stage.FLASH, "starting"))
        result = pipeline.run(ctx.firmware, verify_count=ctx.verify_count,
                              timeouts=ctx.timeouts, log_path=ctx.log_path, probe=ctx.probe, port=ctx.port,
                              progress=progress, cancel=ctx.stop)
    except Exception as exc:
        return AttemptResult(_failed_attempt(ctx, _cause(exc), phase[0], time.monotonic() - started))
    data = result_dict(ctx.spec, result)
    seconds = time.monotonic() - started
    log_str = str(ctx.log_path)
    if result.verification.passed:
        return AttemptResult(Attempt(ctx.number, Outcome.PASSED, None, "verified", seconds, log_str), data)
    ver = result.verification
    message = (f"the device's outputs differ from the golden: max |diff| {ver.max_abs_diff} step(s), "
               f"tolerance {ver.tolerance}")
    return AttemptResult(Attempt(ctx.number, Outcome.FAILED, Stage.VERIFY, message, seconds, log_str,
                                 tail_of(ctx.log_path)), data)


def _cause(exc: BaseException) -> BaseException:
    """The error that matters. Cleanup can fail after the real error (a killed QEMU's monitor raises
    BrokenPipeError on 'quit'), hiding it as the exception's context: report the tinyflash error then."""
    seen = exc
    while not isinstance(seen, TinyflashError) and seen.__context__ is not None:
        seen = seen.__context__
    return seen if isinstance(seen, TinyflashError) else exc


def _failed_attempt(ctx: AttemptContext, exc: BaseException, phase: Stage, seconds: float) -> Attempt:
    log_str = str(ctx.log_path)
    after_programming = Stage.RUN if phase is Stage.FLASH else phase   # no answer after programming: a run problem
    if isinstance(exc, Cancelled):
        return Attempt(ctx.number, Outcome.SKIPPED, None, exc.message, seconds, log_str, tail_of(ctx.log_path))
    if isinstance(exc, EmulatorError):
        # QEMU itself failed: while starting it is the flash stage, later it died under the stage that ran
        return Attempt(ctx.number, Outcome.ERROR, phase, str(exc), seconds, log_str, tail_of(ctx.log_path))
    if isinstance(exc, FlashError):
        return Attempt(ctx.number, Outcome.ERROR, Stage.FLASH, str(exc), seconds, log_str, tail_of(ctx.log_path))
    if isinstance(exc, DeviceTimeoutError):
        return Attempt(ctx.number, Outcome.TIMEOUT, after_programming, str(exc), seconds, log_str,
                       tuple(exc.last_lines) or tail_of(ctx.log_path))
    if isinstance(exc, DeviceError):
        return Attempt(ctx.number, Outcome.ERROR, after_programming, str(exc), seconds, log_str,
                       tuple(exc.last_lines) or tail_of(ctx.log_path))
    if isinstance(exc, TinyflashError):
        return Attempt(ctx.number, Outcome.ERROR, phase, str(exc), seconds, log_str, tail_of(ctx.log_path))
    # a bug in tinyflash: one job's outcome, never the whole night
    log.error("internal error in job %s on %s", ctx.job.id, ctx.unit.name, exc_info=exc)
    return Attempt(ctx.number, Outcome.ERROR, phase, f"internal error: {type(exc).__name__}: {exc}", seconds,
                   log_str, tail_of(ctx.log_path))
