"""Errors of the shadow package (their root and the shared configuration error are in
:mod:`payments.errors`).

    PaybenchError
    +-- ShadowError             base; ``exit_code`` is what the CLI returns
        +-- ShadowConfigError   bad rules, keys or command-line input (exit 2); also a
        |                       payments.errors.ConfigError
        +-- CaptureFormatError  a capture line that cannot be read (exit 2);
        |                       carries ``path`` and ``line``
        +-- ReplayAborted       too many sends failed (AREX stops at 10%)
        +-- EnvironmentFailed   the stack could not be started or died (exit 3)
"""

from __future__ import annotations

from payments import errors


class ShadowError(errors.PaybenchError):
    """Base of every error raised on purpose by the shadow package."""

    exit_code = 2


class ShadowConfigError(ShadowError, errors.ConfigError):
    """A configuration file or an argument is invalid."""


class CaptureFormatError(ShadowError):
    """A capture file line is not a valid exchange or request."""

    def __init__(self, message: str, *, path: str = "", line: int = 0) -> None:
        where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line


class ReplayAborted(ShadowError):
    """The replay stopped because too many sends to a side failed."""

    exit_code = 1

    def __init__(self, side: str, failed: int, sent: int) -> None:
        super().__init__(f"replay aborted: {failed} of {sent} sends to {side} failed")
        self.side = side
        self.failed = failed
        self.sent = sent


class EnvironmentFailed(ShadowError):
    """The services under test could not be started or stopped answering."""

    exit_code = 3
