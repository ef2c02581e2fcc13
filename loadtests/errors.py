"""Errors raised by the load-test harness (their root and the shared configuration error
are in :mod:`payments.errors`).

::

    PaybenchError
     +-- LoadtestError
          +-- ConfigError     bad configuration (also a payments.errors.ConfigError); the
                              CLI exits with code 2 before starting
     +-- TrialError           a trial could not run (load generator failed to start, ...)
     +-- RunInterrupted       a stop signal or a crashed component stopped the run early

    KeyboardInterrupt
     +-- StopSignal           SIGINT, SIGTERM or SIGHUP, named
"""

from __future__ import annotations

from payments import errors


class LoadtestError(errors.PaybenchError):
    """Base class of every harness error."""


class ConfigError(LoadtestError, errors.ConfigError):
    """A run setting is missing, unknown or invalid; ``source`` names where it came from."""


class TrialError(LoadtestError):
    """A trial could not be run at all."""


class RunInterrupted(LoadtestError):
    """The run stopped early; partial results were kept."""

    def __init__(self, reason: str, signal_name: str | None = None) -> None:
        self.reason = reason
        self.signal_name = signal_name  # the stop signal, when one stopped the run
        super().__init__(reason)


class StopSignal(KeyboardInterrupt):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) received by the CLI, unwinding like Ctrl-C.

    A KeyboardInterrupt, so every cleanup written for Ctrl-C runs for the others too; it
    keeps the signal's name so the run can say which one stopped it.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)


def interrupt_reason(exc: BaseException) -> str:
    """'interrupted by SIGTERM', or by SIGINT (Ctrl-C) for a plain KeyboardInterrupt."""
    name = exc.name if isinstance(exc, StopSignal) else "SIGINT"
    return f"interrupted by {name}" + (" (Ctrl-C)" if name == "SIGINT" else "")
