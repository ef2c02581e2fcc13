"""The ``trio`` fixture: fake primary, secondary and candidate on free local ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from tests.shadow.shadow_fakes import TrioFactory


@pytest.fixture
async def trio() -> AsyncIterator[TrioFactory]:
    """Start fake primary, secondary and candidate services on free local ports."""
    async with AsyncExitStack() as stack:
        yield TrioFactory(stack)
