"""Serving a WSGI application: gunicorn sync workers, or wsgiref for development.

Gunicorn's sync worker handles one request at a time per process, the
concurrency the legacy service had under Vyked with blocking handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.types import WSGIApplication as WSGICallable

# gunicorn ships no types; types-gunicorn may or may not be installed, hence unused-ignore.
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped, unused-ignore]

_logger = logging.getLogger("legacy_adapter.vyked")


class _GunicornApplication(BaseApplication):  # type: ignore[misc, unused-ignore]  # Any without stubs
    """Gunicorn embedded: configuration from a dict, the app already built."""

    def __init__(self, app: WSGICallable, options: Mapping[str, Any]) -> None:
        self._app = app
        self._options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:  # the stubs' WSGI type is wider than wsgiref's
        return self._app


def serve_gunicorn(
    app: WSGICallable,
    bind: str,
    *,
    workers: int = 1,
    options: Mapping[str, Any] | None = None,
) -> None:
    """Serve ``app`` with gunicorn sync workers on ``bind`` (``host:port`` or ``fd://N``).

    The app is built before forking, so every worker starts with the same
    routes; each keeps its own ``/_stats``.
    """
    settings: dict[str, Any] = {"bind": bind, "workers": workers, "worker_class": "sync"}
    settings.update(options or {})
    _GunicornApplication(app, settings).run()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        _logger.debug("%s " + format, self.address_string(), *args)


def serve_wsgiref(app: WSGICallable, host: str, port: int) -> None:
    """Serve ``app`` with the standard library's single-threaded server (development only)."""
    with make_server(host, port, app, handler_class=_QuietHandler) as server:
        _logger.info("serving on http://%s:%d", host, server.server_port)
        server.serve_forever()
