"""A point in time every wait is bounded by (style: every wait has a deadline)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from tinyflash.errors import InvalidTimeoutError

Clock = Callable[[], float]


def check_seconds(seconds: float, what: str = "timeout") -> float:
    """A finite, non-negative number of seconds. inf or nan would make a wait on a silent device
    endless (#11.8), so they are refused here, where every timeout ends up."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
            or seconds < 0:
        raise InvalidTimeoutError(f"{what} must be a finite number of seconds, got {seconds!r}",
                                  hint="give a number such as 30; there is no 'wait forever'")
    return float(seconds)


@dataclass(frozen=True)
class Deadline:
    expires_at: float
    seconds: float
    clock: Clock = time.monotonic

    @classmethod
    def after(cls, seconds: float, *, multiplier: float = 1.0, clock: Clock = time.monotonic) -> "Deadline":
        check_seconds(seconds)
        check_seconds(multiplier, "timeout multiplier")
        total = check_seconds(seconds * multiplier, f"timeout ({seconds} s x multiplier {multiplier})")
        return cls(clock() + total, total, clock)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.expires_at
