"""#11: the structure-aware fuzzer over every reference model — each mutated model ends in a generated
aot project or a TinyflashError with a message, never another exception, never a hang.
tests/integration/test_fuzz_models_slow.py runs 50,000 cases (-m slow)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.support.fuzz.flatbuffer import model_sites
from tests.support.fuzz import models as fuzz
from tests.support.fuzz.models import CRASH, DEFAULT_CASES, GENERATED, HANG, MODEL_ERROR, fuzz_models, mutate_case

SEED = fuzz.DEFAULT_SEED


def reference_models(model_dir: Path) -> list[Path]:
    models = fuzz.reference_models(model_dir)
    assert len(models) >= 4, f"expected the MLPerf Tiny reference models in {model_dir}"
    return models


def test_cases_are_reproducible_and_change_the_model(model_dir: Path) -> None:
    models = reference_models(model_dir)
    for index in range(60):
        path, data, description = mutate_case(models, SEED, index)
        assert (path, data, description) == mutate_case(models, SEED, index)
        assert data != path.read_bytes() or "->" in description   # a patch may write the old value
    assert mutate_case(models, SEED, 0)[1] != mutate_case(models, SEED + 1, 0)[1]


def test_mutations_cover_every_kind_of_field(model_dir: Path) -> None:
    """Structure first: shapes, types, buffer indices, operator and subgraph tensor lists, quantisation,
    opcode indices, lengths and vtable entries are all changed, not only weight bytes."""
    models = reference_models(model_dir)
    descriptions = [mutate_case(models, SEED, i)[2] for i in range(600)]
    text = "\n".join(descriptions)
    for field in (".shape[", ".type ", ".buffer ", ".inputs[", ".outputs[", ".scale[", ".zero_point[",
                  ".opcode_index", "subgraph inputs", "subgraph outputs", "data length", "(vtable entry)",
                  "randomised", "truncated to"):
        assert field in text, f"no case changed {field!r} in 600 cases"
    kinds = Counter(site.kind for site in model_sites(models[0].read_bytes())[0])
    assert {"index", "dim", "count", "scale", "type", "vtable"} <= set(kinds)


def test_fuzz_reference_models(model_dir: Path) -> None:
    report = fuzz_models(reference_models(model_dir), DEFAULT_CASES, seed=SEED, workers=2, case_timeout=20.0)
    assert report.cases == DEFAULT_CASES
    assert not report.failures, report.summary() + "\n\n" + "\n\n".join(
        f"case {f.index} ({f.model}: {f.mutation}):\n{f.trace}" for f in report.failures[:5])
    assert report.outcomes[CRASH] == report.outcomes[HANG] == 0
    # both ends are reached: many mutated models still generate, many are refused
    assert report.outcomes[GENERATED] > DEFAULT_CASES // 10, report.summary()
    assert report.outcomes[MODEL_ERROR] > DEFAULT_CASES // 3, report.summary()


def never_returns(model_file: Path, board: object, dest: Path) -> None:
    while True:
        pass


def raises_internal_error(model_file: Path, board: object, dest: Path) -> None:
    raise KeyError("planner")


@pytest.mark.parametrize("workers", [0, 1])
def test_a_hang_is_caught_and_reported(model_dir: Path, workers: int) -> None:
    """The per-case deadline works, in this process and in a worker: a case that never returns
    becomes a 'hang' outcome and the run goes on."""
    report = fuzz_models(reference_models(model_dir)[:1], 2, seed=SEED, workers=workers, case_timeout=0.2,
                         target=never_returns)
    assert report.outcomes[HANG] == 2 and len(report.failures) == 2


def test_a_crash_is_reported_with_its_traceback(model_dir: Path) -> None:
    report = fuzz_models(reference_models(model_dir)[:1], 3, seed=SEED, workers=0, target=raises_internal_error)
    assert report.outcomes[CRASH] == 3
    assert "KeyError: 'planner'" in report.failures[0].error and "raises_internal_error" in report.failures[0].trace
