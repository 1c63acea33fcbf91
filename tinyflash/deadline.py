"""A point in time every wait is bounded by (style: every wait has a deadline)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

Clock = Callable[[], float]


@dataclass(frozen=True)
class Deadline:
    expires_at: float
    seconds: float
    clock: Clock = time.monotonic

    @classmethod
    def after(cls, seconds: float, *, multiplier: float = 1.0, clock: Clock = time.monotonic) -> "Deadline":
        total = seconds * multiplier
        return cls(clock() + total, total, clock)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.expires_at
