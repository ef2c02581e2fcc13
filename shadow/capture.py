"""Capture files: one JSON object per line, one line per request.

A full line, as written by the proxy and by a replay::

    {"id": "6f1c...", "t": 1732600000.123,
     "request": {"method": "POST", "path": "/v1/payments", "query": {},
                 "headers": {"authorization": "Basic ...", "idempotency-key": "k1"},
                 "body": "{\\"order_id\\": \\"o1\\", ...}"},
     "primary":   {"status": 201, "headers": {...}, "body": "...", "latency_ms": 4.1},
     "candidate": {"status": 201, "headers": {...}, "body": "...", "latency_ms": 2.3},
     "secondary": {...}}

The minimal hand-written form is just a request::

    {"method": "POST", "path": "/v1/payments", "api_key": "key_0",
     "idempotency_key": "k1", "body": {"order_id": "o1", "amount": 100, ...}, "as": "pay_A"}
    {"method": "POST", "path": "/v1/payments/pay_A/confirm", "api_key": "key_0"}

``method`` defaults to GET; ``path`` may carry a query string; ``body`` may be
a JSON value (encoded compactly) or a string; ``api_key`` becomes an HTTP Basic
``Authorization`` header and ``idempotency_key`` an ``Idempotency-Key`` header.
``as`` names the object the request creates: later lines refer to it by that
name and the replay maps the name to the id each side actually returned.
A recorded ``primary`` response plays the same role for proxy captures.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

from shadow.errors import CaptureFormatError

Json = Any  # a decoded JSON value; kept loose on purpose, it is walked structurally

SIDES = ("primary", "secondary", "candidate")
# The response recorded at capture time, kept when a capture is replayed.
ORIGINAL = "original"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as seen by the proxy or written by hand."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS

    def json_body(self) -> Json:
        """The body decoded as JSON, or None when it is empty or not JSON."""
        return parse_json(self.body)

    def to_json(self) -> dict[str, Json]:
        return {
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "headers": dict(self.headers),
            "body": self.body,
        }


@dataclass
class SideResult:
    """What one side answered (or why it was not asked)."""

    status: int = 0  # 0 = no HTTP response (transport error or skipped)
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    latency_ms: float = 0.0
    error: str | None = None
    skipped: str | None = None
    polls: int = 0
    initial_body: str | None = None  # the body before pending objects were polled
    sent_path: str | None = None  # the path after id rewriting

    @property
    def answered(self) -> bool:
        return self.skipped is None and self.error is None and self.status > 0

    def json_body(self) -> Json:
        return parse_json(self.body)

    def to_json(self) -> dict[str, Json]:
        out: dict[str, Json] = {
            "status": self.status,
            "headers": self.headers,
            "body": self.body,
            "latency_ms": round(self.latency_ms, 3),
        }
        for key in ("error", "skipped", "initial_body", "sent_path"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.polls:
            out["polls"] = self.polls
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Json]) -> SideResult:
        return cls(
            status=int(data.get("status") or 0),
            headers={str(k).lower(): str(v) for k, v in (data.get("headers") or {}).items()},
            body=_body_text(data.get("body")),
            latency_ms=float(data.get("latency_ms") or 0.0),
            error=data.get("error"),
            skipped=data.get("skipped"),
            polls=int(data.get("polls") or 0),
            initial_body=data.get("initial_body"),
            sent_path=data.get("sent_path"),
        )


@dataclass
class Exchange:
    """One request and every side's answer, correlated by ``id``."""

    id: str
    t: float
    request: RecordedRequest
    alias: str | None = None
    sides: dict[str, SideResult] = field(default_factory=dict)

    def reference_body(self) -> Json:
        """The capture-space answer ids are learned from: recorded primary or alias."""
        recorded = self.sides.get(ORIGINAL) or self.sides.get("primary")
        if recorded is not None and recorded.answered:
            return recorded.json_body()
        if self.alias is not None:
            return {"id": self.alias}
        return None

    def to_json(self) -> dict[str, Json]:
        out: dict[str, Json] = {"id": self.id, "t": round(self.t, 6)}
        if self.alias is not None:
            out["as"] = self.alias
        out["request"] = self.request.to_json()
        for name, result in self.sides.items():
            out[name] = result.to_json()
        return out


def parse_json(text: str) -> Json:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _body_text(body: Json) -> str:
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    return json.dumps(body, separators=(",", ":"))


def basic_auth(api_key: str) -> str:
    """HTTP Basic with the API key as user name and an empty password."""
    return "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()


def request_from_json(data: Mapping[str, Json]) -> RecordedRequest:
    """Build a request from a full ``request`` object or the minimal form."""
    path = data.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise CaptureFormatError("request needs a 'path' starting with '/'")
    method = str(data.get("method") or "GET").upper()
    split = urlsplit(path)
    query: dict[str, str] = dict(parse_qsl(split.query, keep_blank_values=True))
    raw_query = data.get("query")
    if isinstance(raw_query, str):
        query.update(parse_qsl(raw_query.lstrip("?"), keep_blank_values=True))
    elif isinstance(raw_query, Mapping):
        query.update({str(k): str(v) for k, v in raw_query.items()})
    elif raw_query is not None:
        raise CaptureFormatError("'query' must be an object or a string")
    raw_headers = data.get("headers") or {}
    if not isinstance(raw_headers, Mapping):
        raise CaptureFormatError("'headers' must be an object")
    headers = {str(k).lower(): str(v) for k, v in raw_headers.items()}
    if "api_key" in data:
        headers["authorization"] = basic_auth(str(data["api_key"]))
    if "idempotency_key" in data:
        headers["idempotency-key"] = str(data["idempotency_key"])
    body = _body_text(data.get("body"))
    if body and "content-type" not in headers:
        headers["content-type"] = "application/json"
    return RecordedRequest(method, split.path, query, headers, body)


def exchange_from_json(data: Mapping[str, Json], index: int) -> Exchange:
    """Read one capture line (full or minimal form) into an Exchange."""
    if not isinstance(data, Mapping):
        raise CaptureFormatError("a capture line must be a JSON object")
    raw_request = data.get("request", data)
    if not isinstance(raw_request, Mapping):
        raise CaptureFormatError("'request' must be an object")
    request = request_from_json(raw_request)
    alias = data.get("as")
    if alias is not None and not isinstance(alias, str):
        raise CaptureFormatError("'as' must be a string")
    sides: dict[str, SideResult] = {}
    for name in (*SIDES, ORIGINAL):
        value = data.get(name)
        if isinstance(value, Mapping):
            sides[name] = SideResult.from_json(value)
    ex_id = str(data.get("id") or f"{index:06d}-{uuid.uuid4().hex[:8]}")
    return Exchange(ex_id, float(data.get("t") or 0.0), request, alias, sides)


def iter_capture(path: str | Path) -> Iterator[Exchange]:
    """Yield the exchanges of a capture file; blank lines and # comments are skipped."""
    p = Path(path)
    try:
        handle = p.open(encoding="utf-8")
    except OSError as exc:
        raise CaptureFormatError(f"cannot open capture: {exc.strerror}", path=str(p)) from None
    with handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise CaptureFormatError(f"not JSON: {exc}", path=str(p), line=number) from None
            try:
                yield exchange_from_json(data, number)
            except CaptureFormatError as exc:
                raise CaptureFormatError(str(exc), path=str(p), line=number) from None


def read_capture(path: str | Path) -> list[Exchange]:
    return list(iter_capture(path))


class CaptureWriter:
    """Appends exchanges to a JSONL file, one flushed line each.

    Lines are flushed one by one so an interrupted proxy or replay keeps
    everything it recorded so far.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: TextIO = self.path.open("w", encoding="utf-8")
        self.count = 0

    def write(self, exchange: Exchange) -> None:
        self._handle.write(json.dumps(exchange.to_json(), separators=(",", ":")) + "\n")
        self._handle.flush()
        self.count += 1

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
