"""Fixtures for the Vyked shim: an in-process client and a gunicorn-served sample app."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from vyked_sample_app import SampleService
from vyked_servers import start_gunicorn

from legacy_adapter.vyked import WSGIApplication


@pytest.fixture
def app() -> WSGIApplication:
    """A fresh application of the sample service (fresh /_stats)."""
    return WSGIApplication(SampleService())


@pytest.fixture
def client(app: WSGIApplication) -> Iterator[httpx.Client]:
    """An httpx client calling the sample application in process."""
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://sample") as c:
        yield c


@pytest.fixture(scope="module")
def gunicorn_one_worker() -> Iterator[str]:
    """Base URL of the sample app under gunicorn with one sync worker."""
    base_url, stop = start_gunicorn("vyked_sample_app:create_app()", workers=1)
    yield base_url
    stop()
