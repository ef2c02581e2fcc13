"""Fixtures of the service tests: one real stack per session (see helpers.py)."""

from tests.services.helpers import both, stack, target

__all__ = ["both", "stack", "target"]
