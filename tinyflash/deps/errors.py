"""Errors of the third-party-source stage (a branch of the one TinyflashError hierarchy)."""

from __future__ import annotations

from tinyflash.errors import TinyflashError


class DepsError(TinyflashError):
    """The manifest, a mirror or the workspace is unusable; ``output`` keeps what west/git printed."""

    def __init__(self, message: str, *, output: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.output = output


class SourcesNotFoundError(DepsError):
    """No usable TFLM checkout where one was looked for."""

    def __init__(self, message: str, *, looked_in: tuple[str, ...] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.looked_in = looked_in
