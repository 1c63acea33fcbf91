"""#11: 50,000 structure-aware fuzz cases over the reference models (tests/support/fuzz/models.py), every one
ending in a generated aot project or a TinyflashError with a message. Cases start past the default
run's 2,000 (tests/unit/test_fuzz_models.py), so the two never repeat each other."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fuzz.models import DEFAULT_CASES, DEFAULT_SEED, fuzz_models, reference_models

pytestmark = pytest.mark.slow


def test_fuzz_reference_models_50k(model_dir: Path) -> None:
    models = reference_models(model_dir)
    assert len(models) >= 4, f"expected the MLPerf Tiny reference models in {model_dir}"
    report = fuzz_models(models, 50_000, seed=DEFAULT_SEED, workers=2, case_timeout=30.0,
                         first=DEFAULT_CASES)
    assert report.cases == 50_000
    assert not report.failures, report.summary() + "\n\n" + "\n\n".join(
        f"case {f.index} ({f.model}: {f.mutation}):\n{f.trace}" for f in report.failures[:5])
