"""Errors of the Vyked-compatible shim.

Names follow ``vyked.exceptions`` so code written against Vyked keeps its
``except`` clauses; the shim adds one common base and structured fields::

    VykedException                    base of everything raised by the shim
    ├── VykedServiceException         expected failure raised by a handler
    │                                 (status, message, code) -> 4xx JSON body;
    │                                 not counted as an error in /_stats
    ├── VykedServiceError             unexpected failure -> 500, counted as an error
    ├── HTTPError                     plain-text "<status>: <reason>" answer
    │                                 (404, 405, 413 ... as aiohttp gave them)
    ├── ConfigurationError            bad route, handler or host set-up (start-up time)
    ├── RequestException              client side: the remote service answered
    │                                 with an error status (status, error, code)
    └── ClientException               client side: no answer at all
        ├── ClientNotFoundError       could not connect
        ├── ClientDisconnected        connection dropped or protocol error
        └── ClientTimeoutError        no answer within the timeout
"""

from __future__ import annotations

from http import HTTPStatus


def reason_phrase(status: int) -> str:
    """The standard reason phrase of ``status`` (``"Unknown"`` for unregistered codes)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class VykedException(Exception):
    """Base class of every exception raised by the shim."""


class VykedServiceException(VykedException):
    """An expected, service-level failure (record not found, invalid parameter ...).

    The shim answers ``{"error": message}`` (plus ``"code"`` when given) with
    ``status``; like Vyked it does not count these as errors in ``/_stats``.
    """

    def __init__(self, message: str, *, status: int = 400, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class VykedServiceError(VykedException):
    """An unexpected failure the service could not handle (answered with a 500)."""


class HTTPError(VykedException):
    """An HTTP-level answer with a plain-text body, ``"<status>: <reason>"`` by default."""

    def __init__(self, status: int, text: str | None = None) -> None:
        self.status = status
        self.text = text if text is not None else f"{status}: {reason_phrase(status)}"
        super().__init__(self.text)


class ConfigurationError(VykedException):
    """A route, handler or host is set up wrongly; raised at start-up, never per request."""


class RequestException(VykedException):
    """The remote service answered with an error status.

    ``error`` and ``code`` are taken from a Vyked-style JSON body
    (``{"error": ..., "code": ...}``) when there is one.
    """

    def __init__(self, status: int, error: str, code: str | None = None, body: bytes = b"") -> None:
        super().__init__(f"{status}: {error}")
        self.status = status
        self.error = error
        self.code = code
        self.body = body


class ClientException(VykedException):
    """The remote service could not be reached or did not answer."""


class ClientNotFoundError(ClientException):
    """The connection to the remote service could not be opened."""


class ClientDisconnected(ClientException):
    """The connection dropped or the answer was not valid HTTP."""


class ClientTimeoutError(ClientException):
    """The remote service did not answer within the timeout."""
