"""Errors raised while starting, watching and stopping the stack.

Hierarchy (the root is in :mod:`payments.errors`)::

    PaybenchError
    +-- StackError                  anything the stack could not do
        +-- InfraUnavailable        a given PostgreSQL/Redis URL does not answer
        +-- EmbeddedServerError     an embedded server could not be set up
        +-- ProcessDied             a supervised child exited (named, with its log tail)
        +-- HealthTimeout           a child never became healthy in time
        +-- UnknownTarget           a target name with no TargetSpec

Each error carries the component name so a CLI can say *which* part of the
stack failed, and the tail of its log so the cause is visible without digging.
"""

from __future__ import annotations

from payments import errors


class StackError(errors.PaybenchError):
    """Base class of every stack error."""


class InfraUnavailable(StackError):
    """A configured PostgreSQL or Redis server does not answer."""

    def __init__(self, component: str, url: str, detail: str) -> None:
        self.component = component
        self.url = url
        self.detail = detail
        super().__init__(f"{component} at {url} is not reachable: {detail}")


class EmbeddedServerError(StackError):
    """An embedded PostgreSQL or Redis server could not be prepared or started."""

    def __init__(self, component: str, detail: str, log_tail: str = "") -> None:
        self.component = component
        self.detail = detail
        self.log_tail = log_tail
        msg = f"embedded {component} failed: {detail}"
        if log_tail:
            msg += f"\n--- last lines of the {component} log ---\n{log_tail}"
        super().__init__(msg)


class ProcessDied(StackError):
    """A supervised process exited while it was expected to run."""

    def __init__(self, name: str, returncode: int | None, log_path: str, log_tail: str) -> None:
        self.name = name
        self.returncode = returncode
        self.log_path = log_path
        self.log_tail = log_tail
        super().__init__(
            f"{name} exited with code {returncode} (log: {log_path})\n"
            f"--- last lines of the {name} log ---\n{log_tail}"
        )


class HealthTimeout(StackError):
    """A supervised process did not become healthy before the deadline."""

    def __init__(
        self, name: str, url: str, timeout_s: float, last_error: str, log_tail: str
    ) -> None:
        self.name = name
        self.url = url
        self.timeout_s = timeout_s
        self.last_error = last_error
        self.log_tail = log_tail
        super().__init__(
            f"{name} not healthy at {url} after {timeout_s:.0f} s (last: {last_error})\n"
            f"--- last lines of the {name} log ---\n{log_tail}"
        )


class UnknownTarget(StackError):
    """No TargetSpec is registered under this name."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown target {name!r}; known targets: {', '.join(sorted(known))}")
