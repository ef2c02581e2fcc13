"""A Vyked-compatible service framework: synchronous handlers served over WSGI.

Code written against Vyked (``from vyked import Host, HTTPService, get``)
runs on this package with its imports changed; handlers block, and a
gunicorn sync worker serves one request at a time, as the legacy service did.
"""

from .app import WSGIApplication
from .client import HTTPServiceClient, ServiceResponse
from .context import REQUEST_ID_HEADER, current_request_id, new_request_id
from .errors import (
    ClientDisconnected,
    ClientException,
    ClientNotFoundError,
    ClientTimeoutError,
    ConfigurationError,
    HTTPError,
    RequestException,
    VykedException,
    VykedServiceError,
    VykedServiceException,
)
from .host import Host
from .request import CoroutineStyleRequest, Request
from .response import Response, error_response, json_response, text_error
from .routing import INTERNAL_PREFIX, delete, get, head, options, patch, post, put
from .service import HTTPService
from .structures import Headers, MultiDict

__all__ = [
    "INTERNAL_PREFIX",
    "REQUEST_ID_HEADER",
    "ClientDisconnected",
    "ClientException",
    "ClientNotFoundError",
    "ClientTimeoutError",
    "ConfigurationError",
    "CoroutineStyleRequest",
    "HTTPError",
    "HTTPService",
    "HTTPServiceClient",
    "Headers",
    "Host",
    "MultiDict",
    "Request",
    "RequestException",
    "Response",
    "ServiceResponse",
    "VykedException",
    "VykedServiceError",
    "VykedServiceException",
    "WSGIApplication",
    "current_request_id",
    "delete",
    "error_response",
    "get",
    "head",
    "json_response",
    "new_request_id",
    "options",
    "patch",
    "post",
    "put",
    "text_error",
]
