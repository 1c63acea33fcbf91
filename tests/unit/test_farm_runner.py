"""The night's scheduling, retries, outcomes and interruption, with an injected executor and builder
(fakes, no QEMU): one job at a time per unit, units in parallel, a failed job never stops the matrix."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from tinyflash.farm.errors import PlaceError
from tinyflash.farm.execute import AttemptContext, AttemptResult
from tinyflash.farm.inventory import Unit, load_inventory
from tinyflash.farm.matrix import JobSpec, load_matrix
from tinyflash.farm.outcome import Attempt, Outcome, Stage
from tinyflash.farm.lease import Lease
from tinyflash.farm.runner import BuiltFirmware, Event, NightRunner, NightSettings, firmware_id


def configs(tmp_path: Path, units: str, matrix_extra: str = "", models: str = "[ad, kws, vww]") -> tuple:
    inv = tmp_path / "farm.yaml"
    inv.write_text("schema_version: 1\nunits:\n" + units)
    mat = tmp_path / "m.yaml"
    mat.write_text(f"schema_version: 1\nname: t\nboards: [mps2-an386, mps2-an500]\nmodels: {models}\n"
                   "run: {retries: 1}\n" + matrix_extra)
    return load_inventory(inv), load_matrix(mat)


def fake_builder(fail: set[str] = frozenset()):  # type: ignore[assignment]
    def build(job: JobSpec, out_dir: Path, cache: object, dirs: object) -> BuiltFirmware:
        fid = firmware_id(job)
        if job.board.name in fail:
            return BuiltFirmware(fid, None, None, error="build failed (scons exit 2):\n    main.c:1: error: boom")
        return BuiltFirmware(fid, object(), object(), summary={"size": {"flash_bytes": 1000, "ram_bytes": 100}})
    return build


class Script:
    """A fake executor: the outcome of each attempt comes from a table; it records when it ran."""

    def __init__(self, table: dict[str, list[Outcome]] | None = None, seconds: float = 0.05) -> None:
        self.table = table or {}
        self.seconds = seconds
        self.calls: list[tuple[str, str, int, float, float]] = []
        self.lock = threading.Lock()

    def __call__(self, ctx: AttemptContext) -> AttemptResult:
        start = time.monotonic()
        ctx.on_progress("verifying")
        time.sleep(self.seconds)
        outcomes = self.table.get(ctx.job.id, [Outcome.PASSED])
        outcome = outcomes[min(ctx.number - 1, len(outcomes) - 1)]
        with self.lock:
            self.calls.append((ctx.job.id, ctx.unit.name, ctx.number, start, time.monotonic()))
        stage = {Outcome.FAILED: Stage.VERIFY, Outcome.ERROR: Stage.FLASH, Outcome.TIMEOUT: Stage.RUN}.get(outcome)
        result = {"performance": {"instructions": 100}} if outcome in (Outcome.PASSED, Outcome.FAILED) else None
        return AttemptResult(Attempt(ctx.number, outcome, stage, outcome.value, time.monotonic() - start,
                                     str(ctx.log_path), ("m-ready",)), result)


def night(tmp_path: Path, inventory, matrix, executor, **kw) -> tuple:
    events: list[Event] = []
    runner = NightRunner(inventory, matrix, NightSettings(out_root=tmp_path / "out", night_id="n1"),
                         executor=executor, builder=kw.pop("builder", fake_builder()),
                         on_event=kw.pop("on_event", events.append), **kw)
    result = runner.run()
    return result, {o.job.id: o for o in result.outcomes}, events


def test_units_in_parallel_one_job_at_a_time_each(tmp_path: Path) -> None:
    inventory, matrix = configs(tmp_path, "  - {id: a, board: mps2-an386, count: 2}\n"
                                          "  - {id: b, board: mps2-an500}\n")
    script = Script(seconds=0.2)
    result, outcomes, _ = night(tmp_path, inventory, matrix, script)
    assert all(o.outcome is Outcome.PASSED for o in outcomes.values()) and len(outcomes) == 6
    by_unit: dict[str, list[tuple[float, float]]] = {}
    for _, unit, _, start, end in script.calls:
        by_unit.setdefault(unit, []).append((start, end))
    assert set(by_unit) == {"a.0", "a.1", "b"}
    for spans in by_unit.values():          # never two jobs at once on one unit
        spans.sort()
        assert all(prev[1] <= nxt[0] for prev, nxt in zip(spans, spans[1:]))
    starts = sorted(s for spans in by_unit.values() for s, _ in spans)
    assert starts[2] - starts[0] < 0.15      # three units started together
    assert {o.job.board.name for o in outcomes.values() if o.unit == "b"} == {"mps2-an500"}


def test_retry_after_error_or_timeout_but_not_after_a_verification_failure(tmp_path: Path) -> None:
    inventory, matrix = configs(tmp_path, "  - {id: a, board: mps2-an386}\n  - {id: b, board: mps2-an500}\n")
    script = Script({"mps2-an386/ad/aot": [Outcome.ERROR, Outcome.PASSED],
                     "mps2-an386/kws/aot": [Outcome.TIMEOUT, Outcome.TIMEOUT],
                     "mps2-an386/vww/aot": [Outcome.FAILED],
                     "mps2-an500/ad/aot": [Outcome.ERROR, Outcome.ERROR]})
    result, outcomes, _ = night(tmp_path, inventory, matrix, script)
    flaky = outcomes["mps2-an386/ad/aot"]
    assert flaky.outcome is Outcome.PASSED and len(flaky.attempts) == 2 and "retry 1" in flaky.message
    hung = outcomes["mps2-an386/kws/aot"]
    assert (hung.outcome, hung.stage, len(hung.attempts)) == (Outcome.TIMEOUT, Stage.RUN, 2)
    assert hung.last_lines == ("m-ready",)
    wrong = outcomes["mps2-an386/vww/aot"]
    assert (wrong.outcome, wrong.stage, len(wrong.attempts)) == (Outcome.FAILED, Stage.VERIFY, 1)
    assert outcomes["mps2-an500/ad/aot"].outcome is Outcome.ERROR
    # the rest of the matrix ran
    assert outcomes["mps2-an500/kws/aot"].outcome is Outcome.PASSED
    data = json.loads(result.json_path.read_text())
    assert data["status"] == "finished"
    assert data["summary"] == {"passed": 3, "failed": 1, "error": 1, "timeout": 1, "skipped": 0, "total": 6}


def test_build_failures_quarantine_and_missing_units(tmp_path: Path) -> None:
    inventory, matrix = configs(tmp_path, "  - {id: a, board: mps2-an386}\n",
                                "quarantine: [{model: vww, reason: flaky}]\n")
    result, outcomes, _ = night(tmp_path, inventory, matrix, Script(), builder=fake_builder({"mps2-an386"}))
    assert outcomes["mps2-an386/ad/aot"].outcome is Outcome.ERROR
    assert outcomes["mps2-an386/ad/aot"].stage is Stage.BUILD
    assert "boom" in outcomes["mps2-an386/ad/aot"].message
    assert outcomes["mps2-an386/vww/aot"].outcome is Outcome.SKIPPED
    assert "quarantined: flaky" in outcomes["mps2-an386/vww/aot"].message
    assert outcomes["mps2-an500/ad/aot"].outcome is Outcome.SKIPPED
    assert "no connected unit" in outcomes["mps2-an500/ad/aot"].message


def test_interrupt_keeps_what_finished(tmp_path: Path) -> None:
    inventory, matrix = configs(tmp_path, "  - {id: a, board: mps2-an386}\n")
    runner_box: list[NightRunner] = []
    seen_on_disk: list[int] = []

    class Interrupting(Script):
        def __call__(self, ctx: AttemptContext) -> AttemptResult:
            out = super().__call__(ctx)
            if len(self.calls) == 2:
                data = json.loads((ctx.log_path.parents[2] / "night.json").read_text())
                seen_on_disk.append(len(data["jobs"]))   # the first job was already written
                runner_box[0].stop.set()                  # what Ctrl-C does
            return out

    script = Interrupting()
    runner = NightRunner(inventory, matrix, NightSettings(out_root=tmp_path / "out", night_id="n1"),
                         executor=script, builder=fake_builder())
    runner_box.append(runner)
    result = runner.run()
    assert result.interrupted and seen_on_disk == [4]     # 3 skipped (no unit) + 1 finished
    data = json.loads(result.json_path.read_text())
    assert data["status"] == "interrupted"
    outcomes = {j["id"]: j for j in data["jobs"]}
    assert len(outcomes) == 6
    ran = [j for j in outcomes.values() if j["outcome"] == "passed"]
    assert len(ran) == 2
    assert any("interrupted" in j["message"] for j in outcomes.values() if j["outcome"] == "skipped")


def test_unit_that_cannot_be_acquired_leaves_its_jobs_to_the_others(tmp_path: Path) -> None:
    inventory, matrix = configs(tmp_path, "  - {id: a, board: mps2-an386, count: 2}\n"
                                          "  - {id: b, board: mps2-an500}\n")

    @contextlib.contextmanager
    def lease(unit: Unit) -> Iterator[Lease]:
        if unit.name in ("a.1", "b"):
            raise PlaceError(f"place for {unit.name} is taken")
        yield Lease(None, None)

    result, outcomes, _ = night(tmp_path, inventory, matrix, Script(), lease=lease)
    assert {o.unit for o in outcomes.values() if o.job.board.name == "mps2-an386"} == {"a.0"}
    assert all(outcomes[f"mps2-an386/{m}/aot"].outcome is Outcome.PASSED for m in ("ad", "kws", "vww"))
    b = outcomes["mps2-an500/ad/aot"]
    assert (b.outcome, b.stage) == (Outcome.ERROR, Stage.FLASH) and "place for b is taken" in b.message


def test_deadline_scales_with_the_board_and_unit_multipliers(tmp_path: Path) -> None:
    inventory, matrix = configs(tmp_path, "  - {id: a, board: mps2-an386, timeout_multiplier: 3}\n",
                                "exclude: [{board: mps2-an500}]\n", models="[ad]")
    seen: list[AttemptContext] = []

    def executor(ctx: AttemptContext) -> AttemptResult:
        seen.append(ctx)
        return AttemptResult(Attempt(1, Outcome.PASSED, None, "ok", 0.0))

    night(tmp_path, inventory, matrix, executor)
    ctx = seen[0]
    assert ctx.deadline.seconds == pytest.approx(600 * 3)
    assert ctx.timeouts.infer == pytest.approx(60 * 3)
