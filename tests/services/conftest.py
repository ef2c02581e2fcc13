"""Fixtures of the service tests: one real stack per session (see helpers.py)."""

from tests.services.helpers import every, stack, target

__all__ = ["every", "stack", "target"]
