"""Errors raised by the load-test harness.

::

    LoadtestError
     +-- ConfigError          bad configuration; the CLI exits with code 2 before starting
     +-- TrialError           a trial could not run (load generator failed to start, ...)
     +-- RunInterrupted       Ctrl-C or a crashed component stopped the run early
"""

from __future__ import annotations


class LoadtestError(Exception):
    """Base class of every harness error."""


class ConfigError(LoadtestError):
    """A configuration value is missing, unknown or invalid."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class TrialError(LoadtestError):
    """A trial could not be run at all."""


class RunInterrupted(LoadtestError):
    """The run stopped early; partial results were kept."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
