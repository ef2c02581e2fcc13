"""``HTTPServiceClient``: calling another service the Vyked way, synchronously over httpx.

Vyked resolved a service's address through its registry and called it with
``?service=<name>&version=<version>`` (and ``app`` when given) appended; the
callee ignored those parameters. Here the address is a base URL. The
``X-REQUEST-ID`` of the request being handled travels with every call (a new
id is generated outside a request), so one id follows a request across services.

Two ways to call, as in Vyked and beyond it::

    class IdentityClient(HTTPServiceClient):
        def __init__(self, base_url):
            super().__init__("IdentityService", 1, base_url=base_url)

        @get()                       # Vyked style: return a description of the call
        def user(self, username):
            path = f"/users/{username}"
            params = {"verbose": "1"}
            return locals()

    client.user("ann").result()                  # -> parsed JSON
    client.call("GET", "/users/ann")             # direct: parsed JSON or RequestException
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .context import REQUEST_ID_HEADER, current_request_id, new_request_id
from .errors import (
    ClientDisconnected,
    ClientNotFoundError,
    ClientTimeoutError,
    RequestException,
    reason_phrase,
)
from .identity import ServiceIdentity

_UNSET: Any = object()
QueryParams = Mapping[str, str | int | float | bool | list[str]]


@dataclass(frozen=True, slots=True)
class ServiceResponse:
    """What a service answered."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    request_id: str | None

    @property
    def ok(self) -> bool:
        """True for statuses below 400."""
        return self.status < 400

    @property
    def content_type(self) -> str:
        """The media type without parameters."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def text(self) -> str:
        """The body as UTF-8 text."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` when it is not JSON)."""
        return jsonlib.loads(self.body)

    def result(self) -> Any:
        """The parsed answer (JSON, text, or None when empty); an error status raises.

        Raises :class:`RequestException` carrying the status and the
        ``error``/``code`` of a Vyked error body.
        """
        if not self.ok:
            raise self._error()
        if not self.body:
            return None
        if self.content_type.endswith("json"):
            return self.json()
        return self.text()

    def _error(self) -> RequestException:
        error, code = reason_phrase(self.status), None
        try:
            parsed = self.json() if self.body else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
            error = parsed["error"]
            code = parsed["code"] if isinstance(parsed.get("code"), str) else None
        elif self.body:
            error = self.text()[:200]
        return RequestException(self.status, error, code, self.body)


class HTTPServiceClient(ServiceIdentity):
    """A blocking client of one service (name lower-cased, version a string)."""

    def __init__(
        self,
        service_name: str,
        service_version: str | int,
        *,
        base_url: str = "",
        timeout: float | httpx.Timeout = 10.0,
        transport: httpx.BaseTransport | None = None,
        app_name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(service_name, service_version)
        self._app_name = app_name
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout, transport=transport, headers=headers
        )

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()

    def __enter__(self) -> HTTPServiceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        json: Any = _UNSET,
        data: Mapping[str, str] | str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        app_name: str | None = None,
        timeout: float | None = None,
    ) -> ServiceResponse:
        """Send one request and return the answer whatever its status.

        Transport failures raise :class:`ClientNotFoundError`,
        :class:`ClientTimeoutError` or :class:`ClientDisconnected`.
        """
        query: dict[str, Any] = dict(params or {})
        app = app_name if app_name is not None else self._app_name
        if app is not None:
            query["app"] = app
        query["version"] = self._service_version
        query["service"] = self._service_name
        rid = request_id or current_request_id() or new_request_id()
        send_headers = dict(headers or {})
        send_headers[REQUEST_ID_HEADER] = rid
        extra: dict[str, Any] = {}
        if json is not _UNSET:
            extra["json"] = json
        elif isinstance(data, str | bytes):
            extra["content"] = data
        elif data is not None:
            extra["data"] = data
        if timeout is not None:
            extra["timeout"] = timeout
        try:
            answer = self._http.request(
                method.upper(), path, params=query, headers=send_headers, **extra
            )
        except httpx.ConnectError as exc:
            raise ClientNotFoundError(f"{self._service_name}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise ClientTimeoutError(f"{self._service_name}: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise ClientDisconnected(f"{self._service_name}: {exc!r}") from exc
        return ServiceResponse(
            status=answer.status_code,
            headers=answer.headers,
            body=answer.content,
            request_id=answer.headers.get(REQUEST_ID_HEADER),
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`request`, returning the parsed answer or raising ``RequestException``."""
        return self.request(method, path, **kwargs).result()

    def send_described(self, method: str, described: Mapping[str, Any]) -> ServiceResponse:
        """Send a call described the Vyked way (the ``locals()`` of a decorated method).

        Keys used: ``path`` (required), ``params``, ``data``, ``json``,
        ``headers``, ``app_name``, ``request_id``, ``timeout``; everything
        else (the method's own arguments, ``self``, ``entity``) is ignored,
        as Vyked ignored it.
        """
        if "path" not in described:
            raise TypeError("a described call must include 'path'")
        return self.request(
            method,
            str(described["path"]),
            params=described.get("params"),
            json=described.get("json", _UNSET),
            data=described.get("data"),
            headers=described.get("headers"),
            request_id=described.get("request_id"),
            app_name=described.get("app_name"),
            timeout=described.get("timeout"),
        )
