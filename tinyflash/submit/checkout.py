"""Where the mlcommons/tiny checkout is: the official runner and submission checker live there.

One small function, so that it can switch over to ``tinyflash.deps.find_mlperf_tiny()`` once that
exists; until then the checkout comes from ``TINYFLASH_MLPERF_TINY_DIR``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from tinyflash.errors import TinyflashError

MLPERF_TINY_ENV = "TINYFLASH_MLPERF_TINY_DIR"
GET_IT_HINT = (f"run 'tinyflash deps --mlperf-tiny' (with --mirror DIR offline), or set {MLPERF_TINY_ENV} "
               "to a checkout of mlcommons/tiny")


class CheckoutError(TinyflashError):
    pass


@dataclass(frozen=True)
class MlperfTinyCheckout:
    root: Path

    @property
    def runner_dir(self) -> Path:
        return self.root / "benchmark" / "runner"

    @property
    def checker(self) -> Path:
        return self.root / "tools" / "submission" / "submission_checker.py"


def find_mlperf_tiny(environ: Optional[Mapping[str, str]] = None) -> MlperfTinyCheckout:
    environ = os.environ if environ is None else environ
    value = environ.get(MLPERF_TINY_ENV, "")
    if not value:
        raise CheckoutError("the mlcommons/tiny checkout (official runner and submission checker) is not set up",
                            hint=GET_IT_HINT)
    checkout = MlperfTinyCheckout(Path(value))
    for needed in (checkout.runner_dir / "main.py", checkout.checker):
        if not needed.is_file():
            raise CheckoutError(f"{MLPERF_TINY_ENV}={value}: {needed.relative_to(checkout.root)} is missing",
                                hint=GET_IT_HINT)
    return checkout
