"""The one exception hierarchy. Every error carries context and a hint saying what to try.

Only the CLI turns these into exit codes (see :mod:`tinyflash.cli.main`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

# process exit codes: only tinyflash/cli returns them (a verification mismatch is a result, not an error)
EXIT_OK, EXIT_FAILURE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 130


class TinyflashError(Exception):
    """Base of every error tinyflash raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class LocatedFileError(TinyflashError):
    """A problem at a place in a configuration file: ``file:line: key.path: message``."""

    def __init__(self, path: Path | str, key: str, problem: str, *, line: int | None = None,
                 hint: str | None = None) -> None:
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}", hint=hint)
        self.path = Path(path)
        self.key = key
        self.line = line
        self.problem = problem


# --- board -------------------------------------------------------------------------------------
class BoardError(TinyflashError):
    """A board descriptor is missing or invalid."""


class BoardNotFoundError(BoardError):
    pass


class BoardFileError(BoardError, LocatedFileError):
    """A located problem in a board YAML file."""


# --- model -------------------------------------------------------------------------------------
class ModelError(TinyflashError):
    pass


class ModelNotFoundError(ModelError):
    pass


class CorruptModelError(ModelError):
    pass


class UnsupportedOperatorError(ModelError):
    def __init__(self, operator: str, node: int | str, detail: str = "", *, runtime: str = "aot",
                 hint: str | None = None) -> None:
        msg = f"operator {operator} (node {node}) is not supported by the {runtime} runtime"
        super().__init__(msg + (f": {detail}" if detail else ""), hint=hint)
        self.operator = operator
        self.node = node
        self.detail = detail
        self.runtime = runtime


# --- generate / build ---------------------------------------------------------------------------
class GenerateError(TinyflashError):
    pass


class NoRuntimeError(GenerateError):
    """``--runtime auto`` found no runtime that can run the model here; ``problems`` has every reason, per
    runtime (each operator a runtime lacks, with its node), so the user sees them all at once."""

    def __init__(self, message: str, problems: Sequence[tuple[str, str]], *, hint: str | None = None) -> None:
        lines = "".join(f"\n  {runtime}: {problem}" for runtime, problem in problems)
        super().__init__(message + lines, hint=hint)
        self.problems = tuple(problems)


class InvalidDefineError(GenerateError):
    """A ``-D`` define (command line or farm matrix) that is not ``NAME`` or ``NAME=VALUE``."""


class ToolNotFoundError(TinyflashError):
    pass


class BuildError(TinyflashError):
    def __init__(self, message: str, *, log: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.log = log


class RegionOverflowError(BuildError):
    """Something does not fit a memory region of the board."""

    def __init__(self, region: str, overflow_bytes: int, *, board: str, what: str = "firmware",
                 used: int | None = None, size: int | None = None, hint: str | None = None) -> None:
        detail = f" ({used} bytes needed, region holds {size})" if used is not None and size else ""
        super().__init__(
            f"{what} does not fit board {board}: region {region} overflowed by {overflow_bytes} bytes{detail}",
            hint=hint or "pick a board with more memory, a smaller model, or reduce stack_size in the board YAML",
        )
        self.region = region
        self.overflow_bytes = overflow_bytes


# --- flash / emulate ----------------------------------------------------------------------------
class FlashError(TinyflashError):
    pass


class EmulatorError(FlashError):
    pass


# --- run ---------------------------------------------------------------------------------------
class InvalidTimeoutError(TinyflashError):
    """A timeout or timeout multiplier that is not a finite number of seconds (#11.8)."""


class DeviceError(TinyflashError):
    """The device misbehaved: it carries the last lines received and the serial log path.

    A device may send anything, so what is kept is bounded (#11.9): the last ``MAX_LINES`` lines, each
    cut to ``MAX_LINE_CHARS`` characters; the serial log has the whole transcript."""

    MAX_LINES = 12
    MAX_LINE_CHARS = 200

    def __init__(self, message: str, *, last_lines: Sequence[str] = (), log_path: Path | None = None,
                 hint: str | None = None) -> None:
        lines = list(last_lines)
        dropped = max(0, len(lines) - self.MAX_LINES)
        kept = tuple(_shorten(str(line), self.MAX_LINE_CHARS) for line in lines[dropped:])
        tail = (f"\n    ({dropped} earlier line(s) not shown)" if dropped else "") + \
            "".join(f"\n    | {line}" for line in kept)
        where = f"\n  serial log: {log_path}" if log_path else ""
        super().__init__(message + (f"\n  last lines received:{tail}" if kept else
                                    "\n  no line was received") + where, hint=hint)
        self.last_lines = kept
        self.log_path = log_path


def _shorten(line: str, limit: int) -> str:
    return line if len(line) <= limit else f"{line[:limit]}... ({len(line) - limit} more characters)"


class DeviceTimeoutError(DeviceError):
    pass


class ProtocolError(DeviceError):
    """The device answered, but not as the MLPerf Tiny protocol says."""


class DeviceReportedError(DeviceError):
    """The device printed an ``e-[...]`` line."""


class DeviceFaultError(DeviceReportedError):
    """The firmware took an exception it has no handler for and printed ``e-[fault: ...]`` (then it
    stops): the exception number and the fault status registers, decoded in the message."""

    def __init__(self, message: str, *, exception: int, cfsr: int | None = None, hfsr: int | None = None,
                 bfar: int | None = None, last_lines: Sequence[str] = (), log_path: Path | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, last_lines=last_lines, log_path=log_path, hint=hint)
        self.exception = exception
        self.cfsr = cfsr
        self.hfsr = hfsr
        self.bfar = bfar


class Cancelled(TinyflashError):
    """The user stopped the operation (Ctrl-C, SIGTERM) while it waited: not a device problem."""

    exit_code = 130
