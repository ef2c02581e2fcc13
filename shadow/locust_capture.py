"""Recording a Locust run as a shadow capture.

A Locust run directory keeps timings only (``samples.csv.gz`` has no bodies),
so it cannot be replayed. To capture a Locust workload, attach a recorder to
the Locust environment before the run (in a locustfile or a harness)::

    from locust import events
    from shadow.locust_capture import CaptureRecorder

    @events.init.add_listener
    def _capture(environment, **_):
        CaptureRecorder.attach(environment, "runs/capture.jsonl")

Every request an ``HttpUser`` makes becomes one capture line with the request
(method, path, query, headers, body) and the target's answer as ``primary``,
which is what a replay learns ids from. Recording costs a JSON encode and a
buffered write per request; use it on a capture run, not on a measured trial.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from shadow.capture import CaptureWriter, Exchange, RecordedRequest, SideResult


def _text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return str(body)


def exchange_from_response(response: Any, response_time_ms: float) -> Exchange | None:
    """A capture line from a ``requests.Response`` (what Locust's HttpUser returns)."""
    prepared = getattr(response, "request", None)
    if prepared is None or getattr(prepared, "url", None) is None:
        return None
    split = urlsplit(prepared.url)
    request = RecordedRequest(
        method=str(prepared.method).upper(),
        path=split.path or "/",
        query=dict(parse_qsl(split.query, keep_blank_values=True)),
        headers={str(k).lower(): str(v) for k, v in prepared.headers.items()},
        body=_text(prepared.body),
    )
    status = int(getattr(response, "status_code", 0) or 0)
    answer = SideResult(
        status=status,
        headers={str(k).lower(): str(v) for k, v in (response.headers or {}).items()},
        body=_text(getattr(response, "content", b"")) if status else "",
        latency_ms=float(response_time_ms),
        error=None if status else "no response",
    )
    return Exchange(uuid.uuid4().hex, time.time(), request, sides={"primary": answer})


class CaptureRecorder:
    """A Locust ``request`` event listener writing one capture line per request."""

    def __init__(self, path: str) -> None:
        self.writer = CaptureWriter(path)
        self.skipped = 0

    def on_request(self, response: Any = None, response_time: float = 0.0,
                   **_: Any) -> None:
        exchange = exchange_from_response(response, response_time)
        if exchange is None:
            self.skipped += 1
            return
        self.writer.write(exchange)

    def close(self, **_: Any) -> None:
        self.writer.close()

    @classmethod
    def attach(cls, environment: Any, path: str) -> CaptureRecorder:
        """Listen to ``environment``'s requests; the file is closed when Locust quits."""
        recorder = cls(path)
        environment.events.request.add_listener(recorder.on_request)
        environment.events.quitting.add_listener(recorder.close)
        return recorder
