"""The default test run's budget (CI: about 15 minutes on 2 cores): a parametrised test runs its first few
cases by default and the rest with ``-m slow``, so every case still runs somewhere and the default run
keeps one of each kind."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import pytest


def first_by_default(values: Sequence[Any], keep: int, ids: Optional[Callable[[Any], str]] = None) -> list[Any]:
    """``values`` as pytest params, all but the first ``keep`` marked slow."""
    return [pytest.param(v, marks=() if i < keep else pytest.mark.slow, id=ids(v) if ids else None)
            for i, v in enumerate(values)]
