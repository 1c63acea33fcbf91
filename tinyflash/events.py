"""Typed progress events: which pipeline stage a long step belongs to, and what it is doing.

The CLI shows ``text``; the farm reads ``stage`` to say where a failed job stopped, so nothing has to
parse a progress message to learn its stage.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable


class Stage(str, enum.Enum):
    BUILD = "build"        # read the model, generate, compile
    FLASH = "flash"        # program and reset the board (or boot it in QEMU), read the banner
    VERIFY = "verify"      # outputs against the host golden
    RUN = "run"            # timed inferences, per-layer profile, accuracy


@dataclass(frozen=True)
class ProgressEvent:
    stage: Stage
    text: str

    def __str__(self) -> str:
        return self.text


Progress = Callable[[ProgressEvent], None]


def quiet(_: ProgressEvent) -> None:
    """A progress callback that shows nothing."""
