"""Small encodings shared by both gateway protocols: Basic auth, forms, JSON.

Kept separate so the simulator parses exactly what the clients produce.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote_plus

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


@functools.lru_cache(maxsize=1024)
def basic_auth(user: str, password: str = "") -> str:
    """The value of an ``Authorization`` header for HTTP Basic (a gateway call sends one)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


@functools.lru_cache(maxsize=1024)
def parse_basic_auth(value: str | None) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization`` header, or None.

    Cached: a service or gateway sees the same few credentials on every call.
    """
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password


def basic_auth_matches(value: str | None, user: str, password: str) -> bool:
    """Constant-time comparison of an ``Authorization`` header with credentials."""
    parsed = parse_basic_auth(value)
    if parsed is None:
        return False
    ok_user = hmac.compare_digest(parsed[0].encode(), user.encode())
    ok_pass = hmac.compare_digest(parsed[1].encode(), password.encode())
    return ok_user and ok_pass


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup over any mapping (drivers differ in casing)."""
    value = headers.get(name)
    if value is not None:
        return value
    lname = name.lower()
    for key, val in headers.items():
        if key.lower() == lname:
            return val
    return None


# What quote_plus leaves as it is: a text made only of these needs no quoting.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def _form_quote(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if _UNRESERVED.fullmatch(text) else quote_plus(text)


def encode_form(fields: Mapping[str, str]) -> bytes:
    """``urlencode(fields)``, byte for byte, without quoting what needs none.

    Most fields of a gateway request are ids and amounts: skipping
    ``quote_plus`` for them halves the cost of a body built on every call.
    """
    return "&".join(
        f"{_form_quote(k)}={_form_quote(v)}" for k, v in fields.items()
    ).encode("ascii")


def decode_form(body: bytes) -> dict[str, str]:
    """Parse a form body; the last value wins for repeated keys."""
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def encode_json(obj: Any) -> str:
    """Compact JSON text; the exact string is what a Paytm signature covers."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def decode_json_object(body: bytes) -> dict[str, Any] | None:
    """A JSON object from bytes, or None when the body is not one."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def as_str(value: Any) -> str | None:
    """A scalar JSON value as text (gateways mix numbers and strings)."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
