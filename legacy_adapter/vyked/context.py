"""The request id of the request being handled, shared with outgoing calls.

The production Vyked fork kept ``X-Request-ID`` in a task-local context so that
every log line and every call to another service carried it. A sync worker
handles one request per thread, so a ``ContextVar`` gives the same scoping.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

REQUEST_ID_HEADER = "X-REQUEST-ID"

_current: ContextVar[str | None] = ContextVar("vyked_request_id", default=None)

# Visible ASCII only: the id is echoed in a response header, so CR/LF or
# non-latin-1 text from a client must never reach the header block.
_VALID_ID = re.compile(r"[\x21-\x7e]{1,200}")


def new_request_id() -> str:
    """A fresh request id (uuid4, hex)."""
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """The client's id when it is usable as a header value, else a fresh one."""
    if value and _VALID_ID.fullmatch(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    """The id of the request being handled in this thread, if any."""
    return _current.get()


def set_request_id(request_id: str | None) -> Token[str | None]:
    """Make ``request_id`` current; pass the token to :func:`reset_request_id`."""
    return _current.set(request_id)


def reset_request_id(token: Token[str | None]) -> None:
    """Restore the request id that was current before :func:`set_request_id`."""
    _current.reset(token)
