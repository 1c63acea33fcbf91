"""Farm errors, inside tinyflash's one hierarchy (rooted in :class:`tinyflash.errors.TinyflashError`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from tinyflash.errors import Cancelled, DeviceTimeoutError, LocatedFileError, TinyflashError

if TYPE_CHECKING:
    from tinyflash.farm.reporting import Report


class FarmError(TinyflashError):
    """A farm-level problem (configuration, history store, labgrid place)."""


class FarmConfigError(FarmError, LocatedFileError):
    """A located problem in farm.yaml or a matrix file."""


class HistoryError(FarmError):
    pass


class HistoryStoreError(HistoryError):
    """The night's JSON and reports were written, but storing the night in the history failed.
    ``report`` (a :class:`tinyflash.farm.reporting.Report`) says where the files are."""

    def __init__(self, report: "Report", cause: HistoryError, out_dir: Path) -> None:
        super().__init__(f"the night's JSON and reports are in {out_dir}, but the night was not stored in "
                         f"the history: {cause.message}", hint=cause.hint)
        self.report = report
        self.cause = cause


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
