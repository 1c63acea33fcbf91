"""Farm errors, inside tinyflash's one hierarchy (rooted in :class:`tinyflash.errors.TinyflashError`)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from tinyflash.errors import Cancelled, DeviceTimeoutError, LocatedFileError, TinyflashError


class FarmError(TinyflashError):
    """A farm-level problem (configuration, history store, labgrid place)."""


class FarmConfigError(FarmError, LocatedFileError):
    """A located problem in farm.yaml or a matrix file."""


class HistoryError(FarmError):
    pass


class PlaceError(FarmError):
    """A labgrid place could not be acquired (or its serial port not found)."""


class JobCancelled(FarmError, Cancelled):
    """The night was interrupted (Ctrl-C) while this job ran."""


class JobDeadlineExceeded(DeviceTimeoutError):
    """The job as a whole outlived its deadline (matrix run.job_timeout x the board's multiplier)."""

    def __init__(self, seconds: float, *, last_lines: Sequence[str] = ()) -> None:
        super().__init__(f"the job did not finish within its deadline of {seconds:.1f} s", last_lines=last_lines,
                         hint="raise run.job_timeout in the matrix, or the board's timeout_multiplier")
        self.seconds = seconds
