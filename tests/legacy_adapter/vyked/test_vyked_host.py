"""Host: Vyked's static entry point holding one HTTP service."""

from __future__ import annotations

import httpx
import pytest
from vyked_sample_app import SampleService

from legacy_adapter.vyked import ConfigurationError, Host, HTTPService


def _isolated_host() -> type[Host]:
    class TestHost(Host):
        """Class attributes of a subclass keep tests from sharing state."""

    return TestHost


def test_configure_records_vyked_settings() -> None:
    """configure() stores name, registry and pub/sub settings on the class."""
    host = _isolated_host()
    host.configure("PaymentService", registry_port=4600)
    assert (host.name, host.registry_host, host.registry_port, host.pubsub_port) == (
        "PaymentService",
        "0.0.0.0",
        4600,
        6379,
    )
    assert Host.name is None


def test_second_http_service_is_refused_with_a_warning() -> None:
    """Only one HTTP service is hosted; attaching another warns and keeps the first."""
    host = _isolated_host()
    first = SampleService()
    host.attach_http_service(first)
    with pytest.warns(UserWarning, match="already attached"):
        host.attach_http_service(SampleService())
    assert host.http_service() is first


def test_wsgi_app_is_built_once_and_serves_the_service() -> None:
    """wsgi_app() returns one application per attached service, ready for WSGI servers."""
    host = _isolated_host()
    host.attach_http_service(SampleService())
    app = host.wsgi_app()
    assert host.wsgi_app() is app
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://h") as client:
        assert client.get("/users/ann").json() == {"username": "ann"}
    host.detach()
    with pytest.raises(ConfigurationError, match="No services"):
        host.wsgi_app()


def test_unsupported_uses_fail_clearly() -> None:
    """TCP services, non-services and a service without a port cannot be run."""
    host = _isolated_host()
    with pytest.raises(ConfigurationError):
        host.attach_tcp_service(object())
    with pytest.raises(ConfigurationError):
        host.attach_http_service(object())  # type: ignore[arg-type]
    host.attach_http_service(HTTPService("portless", 1))
    with pytest.raises(ConfigurationError, match="host_port"):
        host.run()
