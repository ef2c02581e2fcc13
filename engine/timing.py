"""The engine's ``Server-Timing`` header (``serving.server_timing``).

The outermost middleware, when the setting is on: its ``total`` covers the
other middleware too, and every answer carries the header, errors included.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from serving.server_timing import HEADER, begin, finish, header_value


@web.middleware
async def server_timing_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    times, token = begin()
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # the answers aiohttp raises (405, 413 ...)
        exc.headers[HEADER] = header_value(times)
        raise
    finally:
        finish(token)
    response.headers[HEADER] = header_value(times)
    return response
