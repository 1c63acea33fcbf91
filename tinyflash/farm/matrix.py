"""The matrix file (``nightly.yaml``): what a night runs -- boards x models x runtimes, with include,
exclude, quarantine, build options, run settings and regression thresholds. Which units exist is the
inventory's business (:mod:`tinyflash.farm.inventory`).

```yaml
schema_version: 1
name: nightly
boards: [mps2-an386, mps2-an500, mps3-an547, netduinoplus2]
models: [ad]                       # kws, vww, ic, ic2, ad, or paths to .tflite files
runtimes: [aot]                    # the default; auto (aot when it runs every operator, else TFLM), tflm
build: {optimization: -O2, kernels: auto, defines: []}
board_build: {mps2-an500: {optimization: -O0, profile: true}}   # per-board overrides
include: [{board: mps2-an386, model: ad, variant: hang, build: {defines: [TF_FAULT_HANG_IN_INFER]}}]
exclude: [{board: netduinoplus2, model: vww}]
quarantine: [{board: mps3-an547, model: kws, reason: "flaky UART, issue #12"}]
run: {verify_count: 1, retries: 1, job_timeout: 600, timeouts: {boot: 10, command: 5, infer: 60}}
thresholds: {latency_noise_percent: 5, board_noise_percent: {stm32h7: 2}, size_growth_bytes: 0, baseline_nights: 5}
```
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import yaml
from pydantic import Field, StrictInt, model_validator

from tinyflash.board.loader import BoardCatalog
from tinyflash.board.schema import Board
from tinyflash.config_file import StrictModel
from tinyflash.errors import BoardError, GenerateError, InvalidDefineError
from tinyflash.farm.config import located, read_yaml, validate
from tinyflash.farm.thresholds import Thresholds
from tinyflash.generate.escape import check_define
from tinyflash.generate.project import BuildOptions
from tinyflash.generate.runtime import select_kernels
from tinyflash.model.benchmarks import find_benchmark
from tinyflash.model.spec import BENCHMARKS
from tinyflash.run.session import Timeouts

DEFAULT_VARIANT = "default"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class BuildSettings(StrictModel):
    """Build options; unset keys inherit (matrix build < board_build < include); defines add up."""

    optimization: Optional[Annotated[str, Field(pattern=r"^-O(0|1|2|3|s|z|g|fast)$")]] = None
    kernels: Optional[str] = None      # checked against the runtime in one place: runtime_problem()
    # checked by tinyflash.generate.escape.check_define when the matrix loads (they reach a command line)
    defines: list[str] = Field(default_factory=list)
    # time every layer (bench --profile): a regression then names the layers that grew
    profile: Optional[bool] = None


class Pattern(StrictModel):
    """Selects jobs; every given key must match (shell globs: ``mps2-*``)."""

    board: Optional[str] = None
    model: Optional[str] = None
    runtime: Optional[str] = None
    variant: Optional[str] = None
    reason: str = ""

    @model_validator(mode="after")
    def _something(self) -> "Pattern":
        if not any((self.board, self.model, self.runtime, self.variant)):
            raise ValueError("board: give at least one of board, model, runtime, variant")
        return self

    def matches(self, job: "JobSpec") -> bool:
        pairs = ((self.board, job.board.name), (self.model, job.model), (self.runtime, job.runtime),
                 (self.variant, job.variant))
        return all(want is None or fnmatch.fnmatchcase(have, want) for want, have in pairs)


class Include(StrictModel):
    board: str
    model: str
    runtime: Optional[str] = None             # default: the first of runtimes
    variant: Annotated[str, Field(pattern=_NAME)] = DEFAULT_VARIANT
    build: BuildSettings = Field(default_factory=BuildSettings)


class TimeoutSettings(StrictModel):
    boot: Annotated[float, Field(gt=0)] = 10.0
    command: Annotated[float, Field(gt=0)] = 5.0
    infer: Annotated[float, Field(gt=0)] = 60.0


class RunSettings(StrictModel):
    verify_count: Annotated[StrictInt, Field(ge=1)] = 3
    retries: Annotated[StrictInt, Field(ge=0, le=5)] = 1      # re-runs after an error or timeout
    job_timeout: Annotated[float, Field(gt=0)] = 600.0        # seconds, times the board's multiplier
    timeouts: TimeoutSettings = Field(default_factory=TimeoutSettings)


class MatrixConfig(StrictModel):
    schema_version: int
    name: Annotated[str, Field(pattern=_NAME)] = "nightly"
    boards: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    # aot, not auto: a job id names its runtime, and nightly histories compare nights by job id
    runtimes: list[str] = Field(default_factory=lambda: ["aot"], min_length=1)
    build: BuildSettings = Field(default_factory=BuildSettings)
    board_build: dict[str, BuildSettings] = Field(default_factory=dict)
    include: list[Include] = Field(default_factory=list)
    exclude: list[Pattern] = Field(default_factory=list)
    quarantine: list[Pattern] = Field(default_factory=list)
    run: RunSettings = Field(default_factory=RunSettings)
    thresholds: Thresholds = Field(default_factory=Thresholds)


@dataclass(frozen=True)
class JobSpec:
    """One job. ``board`` is the Board the matrix was checked against (from --board-dir too): nothing
    looks a board up again by name after validation (#15.3)."""

    board: Board
    model: str
    runtime: str
    variant: str = DEFAULT_VARIANT
    options: BuildOptions = BuildOptions()
    quarantined: str | None = None            # the reason, when quarantined

    @property
    def id(self) -> str:
        base = f"{self.board.name}/{self.model}/{self.runtime}"
        return base if self.variant == DEFAULT_VARIANT else f"{base}@{self.variant}"

    @property
    def board_name(self) -> str:
        return self.board.name

    @property
    def firmware_key(self) -> tuple[str, str, str, BuildOptions]:
        """Jobs with equal keys share one firmware (built once)."""
        return (self.board.name, self.model, self.runtime, self.options)


@dataclass(frozen=True)
class Matrix:
    path: Path
    config: MatrixConfig
    jobs: tuple[JobSpec, ...]

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def run(self) -> RunSettings:
        return self.config.run

    @property
    def thresholds(self) -> Thresholds:
        return self.config.thresholds

    def timeouts(self) -> Timeouts:
        t = self.config.run.timeouts
        return Timeouts(boot=t.boot, command=t.command, infer=t.infer)


def _merge(*layers: BuildSettings) -> BuildOptions:
    base = BuildOptions()
    optimization, kernels, defines, profile = base.optimization, base.kernels, list(base.defines), base.profile
    for layer in layers:
        optimization = layer.optimization or optimization
        kernels = layer.kernels or kernels
        defines += [d for d in layer.defines if d not in defines]
        profile = profile if layer.profile is None else layer.profile
    return BuildOptions(optimization=optimization, defines=tuple(defines), kernels=kernels, profile=profile)


def _model_problem(model: str) -> str | None:
    # the benchmarks own their names and aliases (tinyflash.model.benchmarks)
    if model.endswith(".tflite") or find_benchmark(model) is not None:
        return None
    return f"unknown model '{model}'"


def runtime_problem(runtime: str, kernels: Optional[str], known_runtimes: set[str]) -> tuple[str, str, str] | None:
    """(key, problem, hint) when ``runtime`` (with ``kernels``, if set) cannot be built, else None. The
    runtimes own their kernel sets (TFLM's cmsis-nn included); this is the one place the matrix asks them."""
    if runtime not in known_runtimes:
        return "runtime", f"unknown runtime '{runtime}'", f"known runtimes: {', '.join(sorted(known_runtimes))}"
    if kernels is not None:
        try:
            select_kernels(runtime, kernels)
        except GenerateError as exc:
            return "kernels", f"kernel set '{kernels}' is not available with runtime {runtime}", exc.hint or ""
    return None


def _check_defines(path: Path, root: yaml.Node | None, settings: BuildSettings, loc: list[str | int]) -> None:
    """Defines reach the compiler's command line: the one validator, at load time, as a located error."""
    for i, define in enumerate(settings.defines):
        try:
            check_define(define)
        except InvalidDefineError as exc:
            raise located(path, root, loc + ["defines", i], exc.message, hint=exc.hint) from None


def load_matrix(path: Path | str, catalog: Optional[BoardCatalog] = None) -> Matrix:
    path = Path(path)
    catalog = catalog or BoardCatalog()
    data, root = read_yaml(path)
    config = validate(MatrixConfig, data, path, root, what="schema_version: 1, boards, models, runtimes")
    known_boards = set(catalog.names())
    from tinyflash.generate.runtime import runtime_choices

    runtimes = set(runtime_choices())
    board_hint = f"known boards: {', '.join(sorted(known_boards))} (add your own with --board-dir)"
    model_hint = f"use one of {', '.join(sorted(BENCHMARKS))}, or a path to a .tflite file"
    boards: dict[str, Board] = {}      # as written in the matrix -> the Board checked (and kept by the jobs)

    def check_board(name: str, loc: list[str | int]) -> Board:
        if name not in boards:
            try:
                boards[name] = catalog.load(name)        # a path to a board YAML also works
            except BoardError as exc:
                if name in known_boards:       # the file exists but is not a valid board
                    raise located(path, root, loc, exc.message, hint=exc.hint) from None
                raise located(path, root, loc, f"no board named '{name}'", hint=board_hint) from None
        return boards[name]

    def check_runtime(runtime: str, kernels: Optional[str], loc: list[str | int], key_loc: list[str | int]) -> None:
        found = runtime_problem(runtime, kernels, runtimes)
        if found:
            key, problem, hint = found
            raise located(path, root, loc if key == "runtime" else key_loc, problem, hint=hint)

    for i, board in enumerate(config.boards):
        check_board(board, ["boards", i])
    for i, model in enumerate(config.models):
        problem = _model_problem(model)
        if problem:
            raise located(path, root, ["models", i], problem, hint=model_hint)
    for i, runtime in enumerate(config.runtimes):
        check_runtime(runtime, config.build.kernels, ["runtimes", i], ["build", "kernels"])
    _check_defines(path, root, config.build, ["build"])
    for board, settings in config.board_build.items():
        check_board(board, ["board_build", board])
        _check_defines(path, root, settings, ["board_build", board])
        for runtime in config.runtimes:
            check_runtime(runtime, settings.kernels, ["runtimes"], ["board_build", board, "kernels"])
    for i, inc in enumerate(config.include):
        check_board(inc.board, ["include", i, "board"])
        problem = _model_problem(inc.model)
        if problem:
            raise located(path, root, ["include", i, "model"], problem, hint=model_hint)
        check_runtime(inc.runtime or config.runtimes[0], inc.build.kernels, ["include", i, "runtime"],
                      ["include", i, "build", "kernels"])
        _check_defines(path, root, inc.build, ["include", i, "build"])

    jobs: dict[str, JobSpec] = {}
    for board in config.boards:
        for model in config.models:
            for runtime in config.runtimes:
                options = _merge(config.build, config.board_build.get(board, BuildSettings()))
                job = JobSpec(boards[board], model, runtime, DEFAULT_VARIANT, options)
                if not any(p.matches(job) for p in config.exclude):
                    jobs[job.id] = job
    for i, inc in enumerate(config.include):
        options = _merge(config.build, config.board_build.get(inc.board, BuildSettings()), inc.build)
        job = JobSpec(boards[inc.board], inc.model, inc.runtime or config.runtimes[0], inc.variant, options)
        if job.id in jobs and jobs[job.id] != job:
            raise located(path, root, ["include", i], f"job {job.id} is already in the matrix with other options",
                          hint="give the included job its own variant: name")
        jobs[job.id] = job
    if not jobs:
        raise located(path, root, [], "the matrix selects no job",
                      hint="list boards and models (or include entries), and check exclude")
    out = []
    for job in jobs.values():
        reason = next((p.reason or "quarantined" for p in config.quarantine if p.matches(job)), None)
        out.append(JobSpec(job.board, job.model, job.runtime, job.variant, job.options, reason))
    return Matrix(path, config, tuple(out))
