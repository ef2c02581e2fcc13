"""``Host``: the static entry point that hosts one HTTP service, as in Vyked.

Vyked 2.1.x usage keeps working::

    Host.configure("AccountService")
    Host.attach_http_service(AccountService("127.0.0.1", 4501))
    Host.run()

State lives in class attributes, as in Vyked; a subclass of ``Host`` gets its
own. ``Host.run()`` serves with gunicorn sync workers (or wsgiref);
``Host.wsgi_app()`` returns the WSGI callable for any other WSGI server, e.g.
``gunicorn 'mymodule:app'`` with ``app = Host.wsgi_app()`` in ``mymodule``.
Registry and pub/sub settings are recorded for compatibility and unused.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, ClassVar, Literal

from .app import WSGIApplication
from .errors import ConfigurationError
from .server import serve_gunicorn, serve_wsgiref
from .service import HTTPService

Server = Literal["gunicorn", "wsgiref"]


class Host:
    """Hosts at most one HTTP service."""

    registry_host: ClassVar[str | None] = None
    registry_port: ClassVar[int | None] = None
    pubsub_host: ClassVar[str | None] = None
    pubsub_port: ClassVar[int | None] = None
    name: ClassVar[str | None] = None
    ronin: ClassVar[bool] = True  # no registry: the shim always runs solo

    _http_service: ClassVar[HTTPService | None] = None
    _wsgi_app: ClassVar[WSGIApplication | None] = None
    _logger: ClassVar[logging.Logger] = logging.getLogger("legacy_adapter.vyked")

    @classmethod
    def configure(
        cls,
        name: str,
        registry_host: str = "0.0.0.0",
        registry_port: int = 4500,
        pubsub_host: str = "0.0.0.0",
        pubsub_port: int = 6379,
    ) -> None:
        """Record the host name and (unused) registry and pub/sub endpoints."""
        cls.name = name
        cls.registry_host = registry_host
        cls.registry_port = registry_port
        cls.pubsub_host = pubsub_host
        cls.pubsub_port = pubsub_port

    @classmethod
    def attach_http_service(cls, http_service: HTTPService) -> None:
        """Host ``http_service``; a second one is refused with a warning, as in Vyked."""
        if not isinstance(http_service, HTTPService):
            raise ConfigurationError(f"not an HTTPService: {http_service!r}")
        if cls._http_service is not None:
            warnings.warn("HTTP service is already attached", stacklevel=2)
            return
        cls._http_service = http_service
        cls._wsgi_app = None

    @classmethod
    def attach_service(cls, service: HTTPService) -> None:
        """Vyked's older name of :meth:`attach_http_service`."""
        cls.attach_http_service(service)

    @classmethod
    def attach_tcp_service(cls, tcp_service: Any) -> None:
        """TCP services are not part of the shim."""
        raise ConfigurationError("the Vyked shim hosts HTTP services only")

    @classmethod
    def detach(cls) -> None:
        """Forget the attached service (used between tests)."""
        cls._http_service = None
        cls._wsgi_app = None

    @classmethod
    def http_service(cls) -> HTTPService:
        """The attached service."""
        if cls._http_service is None:
            raise ConfigurationError("No services to host")
        return cls._http_service

    @classmethod
    def wsgi_app(cls) -> WSGIApplication:
        """The WSGI application of the attached service (built once, then reused)."""
        if cls._wsgi_app is None:
            cls._wsgi_app = WSGIApplication(cls.http_service())
        return cls._wsgi_app

    @classmethod
    def run(
        cls,
        *,
        server: Server = "gunicorn",
        workers: int = 1,
        bind: str | None = None,
        gunicorn_options: dict[str, Any] | None = None,
    ) -> None:
        """Serve the attached service until interrupted.

        ``bind`` defaults to the service's ``host_ip:host_port``. With
        ``server="gunicorn"`` (the default) ``workers`` sync workers serve one
        request at a time each; ``server="wsgiref"`` is a single-threaded
        development server and ignores ``workers``.
        """
        app = cls.wsgi_app()
        service = cls.http_service()
        host, port = service.host or "127.0.0.1", service.port
        if bind is None:
            if port is None:
                raise ConfigurationError("the service has no host_port and no bind was given")
            bind = f"{host}:{port}"
        cls._logger.info("hosting %s %s on %s", service.name, service.version, bind)
        if server == "gunicorn":
            serve_gunicorn(app, bind, workers=workers, options=gunicorn_options)
        elif server == "wsgiref":
            bind_host, _, bind_port = bind.rpartition(":")
            serve_wsgiref(app, bind_host or host, int(bind_port))
        else:
            raise ConfigurationError(f"unknown server {server!r}")
