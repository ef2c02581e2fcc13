"""Structured JSON logs with the request id; never keys or card data."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _context_request_id() -> str | None:
    return request_id_var.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, request id, extras.

    ``request_id`` returns the id of the request being served: the engine keeps
    it in ``request_id_var``, the Vyked shim in its own per-request context.
    """

    def __init__(
        self, service: str, request_id: Callable[[], str | None] = _context_request_id
    ) -> None:
        super().__init__()
        self._service = service
        self._request_id = request_id

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": self._request_id() or "-",
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(
    service: str,
    level: int = logging.INFO,
    request_id: Callable[[], str | None] = _context_request_id,
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service, request_id))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # per-request access lines would dominate a load test's CPU; metrics cover them
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
