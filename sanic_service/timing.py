"""The Sanic service's ``Server-Timing`` header (``serving.server_timing``).

Installed before the other middleware when the setting is on: Sanic runs
request middleware in the order registered and response middleware in the
reverse order, so ``total`` covers the others, and error answers (which
pass through response middleware too) carry the header as well.
"""

from __future__ import annotations

from sanic.response import BaseHTTPResponse

from sanic_service.state import ServiceApp, ServiceRequest
from serving.server_timing import HEADER, begin, finish, header_value


async def on_request(request: ServiceRequest) -> None:
    request.ctx.timing = begin()


async def on_response(request: ServiceRequest, response: BaseHTTPResponse) -> None:
    timing = getattr(request.ctx, "timing", None)
    if timing is None:  # failed before routing ran (malformed request line)
        return
    times, token = timing
    response.headers[HEADER] = header_value(times)
    finish(token)


def install(app: ServiceApp) -> None:
    """Register the two middleware; call before ``middleware.install``."""
    app.register_middleware(on_request, "request")
    app.register_middleware(on_response, "response")
