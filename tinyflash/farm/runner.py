"""A night: build every distinct firmware (a small thread pool; objects come from SCons's CacheDir),
then run the jobs -- one at a time per unit, units in parallel -- with a deadline per attempt and one
retry after a reset on error or timeout. A failed job is an outcome and never stops the matrix;
Ctrl-C stops cleanly and keeps what finished (the night's JSON is written after every job).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import enum
import functools
import hashlib
import logging
import queue
import shutil
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from tinyflash.build.scons import Firmware
from tinyflash.deadline import Deadline
from tinyflash.errors import TinyflashError
from tinyflash.farm.errors import FarmError
from tinyflash.farm.execute import AttemptContext, Executor, pipeline_executor
from tinyflash.farm.history import History
from tinyflash.farm.inventory import Inventory, Unit, slug
from tinyflash.farm.lease import Lease, PlaceProvider
from tinyflash.farm.matrix import JobSpec, Matrix
from tinyflash.farm.night import (FORMAT, FORMAT_VERSION, NightRecorder, check_night_id, new_night_id,
                                  night_provenance, utc_now)
from tinyflash.farm.outcome import RETRYABLE, Attempt, JobOutcome, Outcome, Stage
from tinyflash.farm.records import NightStatus
from tinyflash.generate.project import BuildOptions
from tinyflash.model.spec import ModelSpec
from tinyflash.run.session import Timeouts

log = logging.getLogger(__name__)


class EventKind(str, enum.Enum):
    """What happened in the night (a str enum: ``event.kind == "job-progress"`` keeps working)."""

    BUILD_START = "build-start"
    BUILD_DONE = "build-done"
    UNIT_ACQUIRED = "unit-acquired"
    JOB_START = "job-start"
    JOB_PROGRESS = "job-progress"
    JOB_DONE = "job-done"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Event:
    """Progress for whoever watches the night (the CLI prints these; tests may act on them)."""

    kind: EventKind
    text: str
    job_id: Optional[str] = None
    unit: Optional[str] = None
    attempt: Optional[int] = None
    outcome: Optional[JobOutcome] = None


@dataclass(frozen=True)
class BuiltFirmware:
    id: str
    firmware: Optional[Firmware]   # None when the build failed
    spec: Optional[ModelSpec]      # None when the model was not found
    summary: Optional[dict[str, Any]] = None     # firmware_dict(): sizes, toolchain, build info
    provenance: Optional[dict[str, Any]] = None  # pipeline.provenance()
    error: Optional[str] = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "error": self.error, "seconds": round(self.seconds, 3),
                "elf": str(getattr(self.firmware, "elf", None) or "") or None,
                "provenance": self.provenance}


Builder = Callable[[JobSpec, Path, Optional[Path], tuple[Path, ...]], BuiltFirmware]


@dataclass(frozen=True)
class NightSettings:
    out_root: Path
    model_dirs: tuple[Path, ...] = ()
    night_id: Optional[str] = None
    cache_dir: Optional[Path] = None      # SCons CacheDir (default: TINYFLASH_CACHE_DIR or ~/.cache)
    build_workers: int = 2
    verify_count: Optional[int] = None    # overrides the matrix's run.verify_count
    inventory_path: Optional[Path] = None
    history: Optional[Path] = None        # SQLite history, checked before the first job (default OUT/history.sqlite)
    replace: bool = False                 # True: a night of the same id (folder and history row) is replaced


@dataclass
class NightResult:
    night_dir: Path
    json_path: Path
    data: dict[str, Any]
    interrupted: bool = False
    outcomes: list[JobOutcome] = field(default_factory=list)


def firmware_id(job: JobSpec) -> str:
    """A stable directory name per distinct firmware: same options, same place, so SCons finds its work."""
    name = f"{job.model}-{job.runtime}"
    if job.options != BuildOptions():
        key: tuple[object, ...] = (job.options.optimization, job.options.kernels, sorted(job.options.defines))
        if job.options.profile:      # appended only when set: unprofiled firmware keeps its directory
            key += ("profile",)
        digest = hashlib.sha256(repr(key).encode()).hexdigest()[:8]
        name += f"-{digest}"
    return f"{job.board.name}/{slug(name)}"


def pipeline_builder(job: JobSpec, out_dir: Path, cache_dir: Optional[Path],
                     model_dirs: tuple[Path, ...]) -> BuiltFirmware:
    from tinyflash import pipeline
    from tinyflash.model import resolve_model
    from tinyflash.report.results import firmware_dict

    started = time.monotonic()
    fid = firmware_id(job)
    spec = None
    try:
        spec = resolve_model(job.model, model_dirs)
        # the Board the matrix was checked against (--board-dir included), never looked up again by name
        firmware = pipeline.build(job.board, spec, runtime=job.runtime, out_dir=out_dir, options=job.options,
                                  cache_dir=cache_dir)
    except TinyflashError as exc:
        return BuiltFirmware(fid, None, spec, error=str(exc), seconds=time.monotonic() - started)
    return BuiltFirmware(fid, firmware, spec, firmware_dict(spec, firmware), pipeline.provenance(spec, firmware),
                         seconds=time.monotonic() - started)


@contextlib.contextmanager
def local_lease(unit: Unit, cancel: Optional[threading.Event] = None) -> Iterator[Lease]:
    if unit.labgrid is not None:
        from tinyflash.farm.labgrid_unit import acquired_place

        with acquired_place(unit, cancel=cancel) as lease:
            yield lease
        return
    yield Lease(unit.serial, unit.probe)


def _stamp(epoch: Optional[float] = None) -> str:
    """UTC to the millisecond: holds of one place by two farm runs must be comparable."""
    moment = _dt.datetime.fromtimestamp(time.time() if epoch is None else epoch, _dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class NightRunner:
    def __init__(self, inventory: Inventory, matrix: Matrix, settings: NightSettings, *,
                 executor: Executor = pipeline_executor, builder: Builder = pipeline_builder,
                 lease: Optional[PlaceProvider] = None, on_event: Callable[[Event], None] = lambda e: None,
                 history: Optional[History] = None) -> None:
        self.inventory = inventory
        self.matrix = matrix
        self.settings = settings
        self.executor = executor
        self.builder = builder
        self.on_event = on_event
        self.stop = threading.Event()
        self.lease: PlaceProvider = lease or functools.partial(local_lease, cancel=self.stop)
        self.history = history or History(settings.history or settings.out_root / "history.sqlite")
        self._recorder: Optional[NightRecorder] = None
        self._outcomes: list[JobOutcome] = []
        self._lock = threading.Lock()

    # -- the night ------------------------------------------------------------------------------------------
    def run(self) -> NightResult:
        nights = self.settings.out_root / "nights"
        night_id = check_night_id(self.settings.night_id) if self.settings.night_id is not None \
            else new_night_id(nights)
        # a broken, foreign or read-only history is found now, not after the whole night ran
        self.history.check()
        night_dir = nights / night_id
        self._claim(night_id, night_dir)
        night_dir.mkdir(parents=True)
        self.night_dir = night_dir
        json_path = night_dir / "night.json"
        provenance = night_provenance(self.settings.inventory_path or self.inventory.path, self.matrix.path,
                                      list(self.matrix.config.runtimes))
        self._recorder = NightRecorder(json_path, {
            "format": FORMAT, "format_version": FORMAT_VERSION, "night_id": night_id, "matrix": self.matrix.name,
            "status": NightStatus.RUNNING.value, "started": utc_now(), "finished": None, "provenance": provenance,
            "thresholds": self.matrix.thresholds.model_dump(),
            "units": [{"name": u.name, "board": u.board.name, "emulated": u.emulated, "probe": u.probe,
                       "serial": u.serial, "labgrid": u.labgrid.model_dump() if u.labgrid else None}
                      for u in self.inventory.units],
            "firmware": [], "jobs": [], "holds": [],
        })
        interrupted = False
        try:
            runnable = self._skip_unrunnable(list(self.matrix.jobs))
            built = self._build_all(runnable)
            runnable = self._drop_failed_builds(runnable, built)
            self._run_jobs(runnable, built)
        except KeyboardInterrupt:
            interrupted = True
        interrupted = interrupted or self.stop.is_set()
        if interrupted:
            self.on_event(Event(EventKind.INTERRUPTED, "interrupted: keeping the jobs that finished"))
            done = {o.job.id for o in self._outcomes}
            for job in self.matrix.jobs:
                if job.id not in done:
                    self._record(JobOutcome(job, Outcome.SKIPPED, message="not run: the night was interrupted"))
        self._recorder.finish(NightStatus.INTERRUPTED if interrupted else NightStatus.FINISHED)
        return NightResult(night_dir, json_path, self._recorder.data, interrupted, list(self._outcomes))

    def _claim(self, night_id: str, night_dir: Path) -> None:
        """A night id names one night: reusing it would mix job folders and silently replace the stored
        night (#11.5), so it takes ``replace=True``, which removes the old folder and history row first."""
        taken = [where for where, used in ((str(night_dir), night_dir.exists() or night_dir.is_symlink()),
                                           (f"history {self.history.path}", self.history.has(night_id))) if used]
        if not taken:
            return
        if not self.settings.replace:
            raise FarmError(f"night '{night_id}' already exists ({', '.join(taken)})",
                            hint="choose another --night-id, or pass --replace to replace that night")
        log.info("replacing night %s", night_id)
        if night_dir.is_symlink() or night_dir.is_file():
            night_dir.unlink()
        elif night_dir.exists():
            shutil.rmtree(night_dir)
        self.history.remove(night_id)

    def _record(self, outcome: JobOutcome) -> None:
        assert self._recorder is not None
        with self._lock:
            self._outcomes.append(outcome)
        self._recorder.add_job(outcome)
        self.on_event(Event(EventKind.JOB_DONE, f"{outcome.job.id}: {outcome.outcome.value}"
                            + (f" ({outcome.stage.value})" if outcome.stage else "")
                            + (f" on {outcome.unit}" if outcome.unit else "") + f" in {outcome.seconds:.1f} s",
                            outcome.job.id, outcome.unit, outcome=outcome))

    def _skip_unrunnable(self, jobs: list[JobSpec]) -> list[JobSpec]:
        runnable = []
        for job in jobs:
            if job.quarantined:
                self._record(JobOutcome(job, Outcome.SKIPPED, message=f"quarantined: {job.quarantined}"))
            elif not self.inventory.units_for(job.board):
                self._record(JobOutcome(job, Outcome.SKIPPED,
                                        message=f"no connected unit for board {job.board.name} in the inventory"))
            else:
                runnable.append(job)
        return runnable

    # -- builds ---------------------------------------------------------------------------------------------
    def _build_all(self, jobs: list[JobSpec]) -> dict[str, BuiltFirmware]:
        distinct: dict[str, JobSpec] = {}
        for job in jobs:
            distinct.setdefault(firmware_id(job), job)
        built: dict[str, BuiltFirmware] = {}
        pool = ThreadPoolExecutor(max_workers=max(1, self.settings.build_workers), thread_name_prefix="build")
        futures: dict[str, Future[BuiltFirmware]] = {}
        try:
            for fid, job in distinct.items():
                out_dir = self.settings.out_root / "firmware" / fid
                futures[fid] = pool.submit(self._build_one, job, out_dir)
            for fid, future in futures.items():
                while True:
                    try:
                        built[fid] = future.result(timeout=0.2)
                        break
                    except FutureTimeout:
                        continue
        except KeyboardInterrupt:
            self.stop.set()
            for future in futures.values():
                future.cancel()
            pool.shutdown(wait=True)
            raise
        pool.shutdown(wait=True)
        assert self._recorder is not None
        self._recorder.set("firmware", [b.to_dict() for b in built.values()])
        return built

    def _build_one(self, job: JobSpec, out_dir: Path) -> BuiltFirmware:
        fid = firmware_id(job)
        self.on_event(Event(EventKind.BUILD_START, f"building {fid}"))
        result = self.builder(job, out_dir, self.settings.cache_dir, self.settings.model_dirs)
        self.on_event(Event(EventKind.BUILD_DONE, f"built {fid} in {result.seconds:.1f} s" if not result.error
                            else f"build of {fid} failed"))
        return result

    def _drop_failed_builds(self, jobs: list[JobSpec], built: dict[str, BuiltFirmware]) -> list[JobSpec]:
        runnable = []
        for job in jobs:
            b = built[firmware_id(job)]
            if b.error:
                self._record(JobOutcome(job, Outcome.ERROR, Stage.BUILD, b.error, firmware=b.id, result=b.summary,
                                        last_lines=tuple(b.error.splitlines()[-12:])))
            else:
                runnable.append(job)
        return runnable

    # -- runs -----------------------------------------------------------------------------------------------
    def _run_jobs(self, jobs: list[JobSpec], built: dict[str, BuiltFirmware]) -> None:
        queues: dict[str, queue.Queue[JobSpec]] = {}
        for job in jobs:
            queues.setdefault(job.board.name, queue.Queue()).put(job)
        unit_errors: dict[str, list[str]] = {}
        finished: list[threading.Event] = []
        for unit in self.inventory.units:
            q = queues.get(unit.board.name)
            if q is None:
                continue
            done = threading.Event()
            finished.append(done)
            threading.Thread(target=self._unit_worker, args=(unit, q, built, unit_errors, done),
                             name=f"unit-{unit.name}", daemon=True).start()
        # Wait with sleep, not Thread.join: a join interrupted by Ctrl-C can leave is_alive() False while the
        # thread still runs (CPython 3.11), and the process would exit under a running QEMU.
        try:
            while not all(d.is_set() for d in finished):
                time.sleep(0.1)
        except KeyboardInterrupt:
            self.stop.set()                 # each worker aborts its attempt at the next progress step
            while not all(d.is_set() for d in finished):
                time.sleep(0.1)
            raise
        if self.stop.is_set():
            return                          # run() records what is left as interrupted
        for board, q in queues.items():     # jobs no unit could take (every place failed to acquire)
            while not q.empty():
                job = q.get_nowait()
                why = "; ".join(unit_errors.get(board, [])) or "no unit could run it"
                self._record(JobOutcome(job, Outcome.ERROR, Stage.FLASH, f"no unit available: {why}",
                                        firmware=firmware_id(job), result=built[firmware_id(job)].summary))

    def _unit_worker(self, unit: Unit, jobs: "queue.Queue[JobSpec]", built: dict[str, BuiltFirmware],
                     unit_errors: dict[str, list[str]], done: threading.Event) -> None:
        try:
            self._serve(unit, jobs, built, unit_errors)
        finally:
            done.set()

    def _serve(self, unit: Unit, jobs: "queue.Queue[JobSpec]", built: dict[str, BuiltFirmware],
               unit_errors: dict[str, list[str]]) -> None:
        if jobs.empty() or self.stop.is_set():
            return
        hold: dict[str, Any] = {}
        try:
            with self.lease(unit) as lease:
                if lease.place is not None:
                    hold = {"unit": unit.name, "place": lease.place, "acquired": _stamp(lease.since), "jobs": []}
                    self.on_event(Event(EventKind.UNIT_ACQUIRED, f"{unit.name}: acquired labgrid place {lease.place}",
                                        unit=unit.name))
                while not self.stop.is_set():
                    try:
                        job = jobs.get_nowait()
                    except queue.Empty:
                        return
                    if hold:
                        hold["jobs"].append(job.id)
                    self._record(self._run_job(job, unit, lease, built[firmware_id(job)]))
        except TinyflashError as exc:     # the unit could not be acquired: the others take its jobs
            log.warning("unit %s unavailable: %s", unit.name, exc)
            with self._lock:
                unit_errors.setdefault(unit.board.name, []).append(f"{unit.name}: {exc.message}")
        finally:
            if hold:                      # stamped after the release returned: the hold's outer bound
                hold["released"] = _stamp()
                assert self._recorder is not None
                self._recorder.append("holds", hold)

    def _progress_reporter(self, job: JobSpec, unit: Unit, number: int) -> Callable[[str], None]:
        def report(text: str) -> None:
            self.on_event(Event(EventKind.JOB_PROGRESS, text, job.id, unit.name, number))
        return report

    def _run_job(self, job: JobSpec, unit: Unit, lease: Lease, fw: BuiltFirmware) -> JobOutcome:
        # only jobs whose firmware was built are queued for a unit; a failed build is its own outcome
        assert fw.firmware is not None and fw.spec is not None, fw.error
        run = self.matrix.run
        multiplier = unit.board.timeout_multiplier * unit.timeout_multiplier
        deadline_s = run.job_timeout * multiplier
        t = self.matrix.timeouts()
        m = unit.timeout_multiplier         # the board's own multiplier is applied by the device session
        timeouts = Timeouts(boot=t.boot * m, command=t.command * m, infer=t.infer * m)
        job_dir = self.night_dir / "jobs" / slug(job.id)
        job_dir.mkdir(parents=True, exist_ok=True)
        started_iso, started = utc_now(), time.monotonic()
        attempts: list[Attempt] = []
        result: Optional[dict[str, Any]] = None
        for number in range(1, run.retries + 2):
            if self.stop.is_set():
                break
            self.on_event(Event(EventKind.JOB_START, f"{job.id} on {unit.name}" + (f" (retry {number - 1})" if number > 1
                                                                              else ""), job.id, unit.name, number))
            ctx = AttemptContext(
                job=job, unit=unit, spec=fw.spec, firmware=fw.firmware, number=number,
                log_path=job_dir / f"serial-{number}.log", timeouts=timeouts,
                verify_count=self.settings.verify_count or run.verify_count,
                deadline=Deadline.after(deadline_s), stop=self.stop, port=lease.port, probe=lease.probe,
                on_progress=self._progress_reporter(job, unit, number))
            attempt_result = self.executor(ctx)
            attempts.append(attempt_result.attempt)
            result = attempt_result.result or result
            if attempt_result.attempt.outcome not in RETRYABLE:
                break
        seconds = time.monotonic() - started
        if not attempts:
            return JobOutcome(job, Outcome.SKIPPED, message="not run: the night was interrupted", unit=unit.name)
        last = attempts[-1]
        message = last.message
        if len(attempts) > 1 and last.outcome is Outcome.PASSED:
            message = f"passed on retry {len(attempts) - 1} (first attempt: {attempts[0].outcome.value})"
        return JobOutcome(job, last.outcome, last.stage, message, unit.name, tuple(attempts), started_iso, seconds,
                          round(deadline_s, 3), result or fw.summary, fw.id, last.last_lines)
