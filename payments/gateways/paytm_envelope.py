"""Paytm's ``{"body": ..., "head": ...}`` JSON envelope, signed over the body's exact text.

Paytm computes the checksum over the body *as sent*; re-serialising a
received message could change spacing or escapes, so a verifier works on the
original text of the ``body`` member, which :func:`members` slices out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from payments.gateways import checksum
from payments.gateways.wire import encode_json


def envelope(body: Mapping[str, Any], head: Mapping[str, Any]) -> tuple[str, bytes]:
    """``(body_text, request_bytes)``: the body text is what the signature covers."""
    body_text = encode_json(body)
    return body_text, ('{"body":' + body_text + ',"head":' + encode_json(head) + "}").encode()


def signed_envelope(body: Mapping[str, Any], key: str, **head: Any) -> bytes:
    body_text = encode_json(body)
    signature = checksum.generate_for_string(body_text, key)
    return envelope(body, {**head, "signature": signature})[1]


_DECODER = json.JSONDecoder()
_WS = " \t\r\n"


def members(text: str) -> dict[str, tuple[Any, str]] | None:
    """Each top-level member of a JSON object: ``name -> (value, exact source text)``.

    Paytm signs the body *as sent*; re-serialising could change spacing or
    escapes, so the verifier slices the original text. One pass decodes every
    value once. None when ``text`` is not a single JSON object.
    """
    n = len(text)

    def skip(i: int) -> int:
        while i < n and text[i] in _WS:
            i += 1
        return i

    out: dict[str, tuple[Any, str]] = {}
    i = skip(0)
    if i >= n or text[i] != "{":
        return None
    i = skip(i + 1)
    if i < n and text[i] == "}":
        return out if skip(i + 1) == n else None
    while i < n:
        try:
            key, i = _DECODER.raw_decode(text, i)
            i = skip(i)
            if not isinstance(key, str) or i >= n or text[i] != ":":
                return None
            start = skip(i + 1)
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            return None
        out[key] = (value, text[start:end])
        i = skip(end)
        if i < n and text[i] == ",":
            i = skip(i + 1)
        elif i < n and text[i] == "}":
            return out if skip(i + 1) == n else None
        else:
            return None
    return None


def raw_member(text: str, name: str) -> str | None:
    """The exact source text of one top-level member of a JSON object."""
    found = members(text)
    if found is None or name not in found:
        return None
    return found[name][1]


def open_envelope(raw: bytes) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """``(head, body, body_text)`` of a Paytm JSON message, or None."""
    try:
        found = members(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    if found is None or "head" not in found or "body" not in found:
        return None
    head, body = found["head"][0], found["body"]
    if not isinstance(head, dict) or not isinstance(body[0], dict):
        return None
    return head, body[0], body[1]
