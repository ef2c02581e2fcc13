"""Errors raised by the report package (their root and the shared configuration error
are in :mod:`payments.errors`, the one module of ours that ``reports`` imports).

Hierarchy::

    PaybenchError
    +-- ReportError              base of everything below
        +-- RunDirError          a run directory is missing, unreadable or corrupt
        +-- GateSpecError        a gate or SLO specification cannot be parsed (also a
                                 payments.errors.ConfigError and a ValueError, so callers
                                 may catch any of them)
"""

from __future__ import annotations

from pathlib import Path

from payments import errors


class ReportError(errors.PaybenchError):
    """Base class of every error raised by ``reports``."""


class RunDirError(ReportError):
    """A run directory cannot be used: missing, not a directory, or a corrupt file.

    ``path`` names the directory or file at fault so the CLI can print it.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class GateSpecError(ReportError, errors.ConfigError, ValueError):
    """A gate specification such as ``p99:10%`` or ``p99<500ms`` is malformed."""

    def __init__(self, spec: str, reason: str) -> None:
        super().__init__(f"bad gate {spec!r}: {reason}")
        self.spec = spec
        self.reason = reason
