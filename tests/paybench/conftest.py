"""Fixtures of the command-line tests, shared with the harness tests."""

from tests.loadtests.conftest import clean_env, isolated_cwd

__all__ = ["clean_env", "isolated_cwd"]
