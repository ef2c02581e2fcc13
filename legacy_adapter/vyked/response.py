"""Responses returned by handlers, with the keyword arguments of aiohttp's ``Response``.

Vyked handlers returned ``aiohttp.web.Response(status=..., body=...,
content_type=...)``; the same call builds a shim response, so ported code
keeps its return statements.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import reason_phrase
from .structures import Headers

Dumps = Callable[[Any], str | bytes]

_STATUS_LINES: dict[int, str] = {}


def status_line(status: int, reason: str | None = None) -> str:
    """``"200 OK"`` for WSGI's ``start_response`` (cached per status)."""
    if reason is not None:
        return f"{status} {reason}"
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = f"{status} {reason_phrase(status)}"
    return line


class Response:
    """A complete HTTP response held in memory."""

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(
        self,
        *,
        body: bytes | str | None = None,
        status: int = 200,
        reason: str | None = None,
        text: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        content_type: str | None = None,
        charset: str | None = None,
    ) -> None:
        if body is not None and text is not None:
            raise ValueError("body and text are mutually exclusive")
        self.status = status
        self.reason = reason
        self.headers = Headers(headers)
        if text is not None:
            encoding = charset or "utf-8"
            self.body = text.encode(encoding)
            self._set_type(content_type or "text/plain", encoding)
        else:
            self.body = body.encode(charset or "utf-8") if isinstance(body, str) else body or b""
            if content_type is not None:
                self._set_type(content_type, charset)
            elif self.body and "Content-Type" not in self.headers:
                self.headers["Content-Type"] = "application/octet-stream"

    def _set_type(self, content_type: str, charset: str | None) -> None:
        if charset and "charset=" not in content_type:
            content_type = f"{content_type}; charset={charset}"
        self.headers["Content-Type"] = content_type

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.body)} bytes>"

    @property
    def content_type(self) -> str:
        """The media type without parameters (``""`` when none is set)."""
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip()

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", errors="replace")


def json_response(
    data: Any,
    *,
    status: int = 200,
    reason: str | None = None,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    content_type: str = "application/json",
    dumps: Dumps = json.dumps,
) -> Response:
    """A JSON response; ``dumps`` may return ``str`` or ``bytes`` (for a shared encoder)."""
    encoded = dumps(data)
    body = encoded.encode("utf-8") if isinstance(encoded, str) else encoded
    return Response(
        body=body, status=status, reason=reason, headers=headers, content_type=content_type
    )


def error_response(
    message: str, *, status: int = 400, code: str | None = None, dumps: Dumps = json.dumps
) -> Response:
    """A Vyked error body: ``{"error": message}``, with ``"code"`` when given."""
    data: dict[str, str] = {"error": message}
    if code is not None:
        data["code"] = code
    return json_response(data, status=status, dumps=dumps)


def text_error(status: int, text: str | None = None) -> Response:
    """The plain-text ``"<status>: <reason>"`` answer aiohttp gave for 404 and friends."""
    return Response(
        text=text if text is not None else f"{status}: {reason_phrase(status)}",
        status=status,
    )
