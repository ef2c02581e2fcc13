"""Per-side identity: id maps, API keys and idempotency keys.

Requests are written in *capture space*: the ids the primary returned when the
traffic was captured (or the names a hand-written capture gave with ``as``).
Every side mints its own ids, so each side has an :class:`IdMap` from capture
ids to its own ids, learned by walking the capture-space response and the
side's response in parallel (GoReplay's middleware keeps the same kind of map).
Follow-up requests (confirm, refund, read by id) are rewritten through it.

Each side also has its own merchants, so the ``Authorization`` user (the API
key) is rewritten per side, and its own idempotency key (``<key>:<side>``) so
the shadow sides never collide with the keys the caller used on the primary.

A replay adds its own *scope* (a fresh token per replay): idempotency keys
become ``<key>:<side>:<scope>`` and order ids ``<order>-<scope>``. Without it
a second pass over the same stack would be answered from the first pass's
idempotency records on one side and with ``duplicate_order_id`` on the other,
and every write would mismatch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from payments.validation import ORDER_ID_RE
from shadow.capture import Json, RecordedRequest, basic_auth

DEFAULT_ID_PREFIXES: tuple[str, ...] = ("pay", "re", "att")
MAX_IDEMPOTENCY_KEY = 255
MAX_ORDER_ID = 64


def id_regex(prefixes: Iterable[str]) -> re.Pattern[str]:
    """A whole-string matcher for generated ids such as ``pay_3f2a...``."""
    alternation = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
    return re.compile(rf"^(?:{alternation})_[A-Za-z0-9_-]+$")


def derive_idempotency_key(key: str, side: str, scope: str = "") -> str:
    """The key a side receives for the caller's ``key``: distinct per side and scope, stable."""
    tail = f":{side}:{scope}" if scope else f":{side}"
    derived = key + tail
    if len(derived) <= MAX_IDEMPOTENCY_KEY:
        return derived
    # Long keys are hashed so the derived key stays within the contract's limit.
    return hashlib.sha256(key.encode()).hexdigest() + tail


def scoped_order_id(order_id: str, scope: str) -> str:
    """``order_id`` made new for a replay ``scope``; an invalid one is kept as it is.

    An order id the contract rejects must still be rejected the same way, so
    only valid ids are rewritten, and the result stays valid (hashed when the
    suffix would make it too long).
    """
    if not scope or not ORDER_ID_RE.fullmatch(order_id):
        return order_id
    scoped = f"{order_id}-{scope}"
    if ORDER_ID_RE.fullmatch(scoped):
        return scoped
    room = MAX_ORDER_ID - len(scope) - 1
    return f"{hashlib.sha256(order_id.encode()).hexdigest()[:room]}-{scope}"


def api_key_of(authorization: str) -> str | None:
    """The user name of an HTTP Basic header (the merchant API key), if any."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0]


class IdMap:
    """Capture-space id -> this side's id."""

    def __init__(self, prefixes: Iterable[str] = DEFAULT_ID_PREFIXES) -> None:
        self._pattern = id_regex(prefixes)
        self._forward: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._forward)

    def is_id(self, value: str) -> bool:
        return bool(self._pattern.match(value))

    def get(self, capture_id: str) -> str | None:
        return self._forward.get(capture_id)

    def learn(self, reference: Json, actual: Json) -> int:
        """Map every id in ``reference`` to the id at the same place in ``actual``."""
        learned = 0
        if isinstance(reference, str) and isinstance(actual, str):
            if self._same_kind(reference, actual) and self._forward.get(reference) != actual:
                self._forward[reference] = actual
                learned += 1
        elif isinstance(reference, dict) and isinstance(actual, dict):
            for key, value in reference.items():
                if key in actual:
                    learned += self.learn(value, actual[key])
        elif isinstance(reference, list) and isinstance(actual, list):
            for ref_item, act_item in zip(reference, actual, strict=False):
                learned += self.learn(ref_item, act_item)
        return learned

    def _same_kind(self, reference: str, actual: str) -> bool:
        if not (self.is_id(reference) and self.is_id(actual)):
            return False
        return reference.split("_", 1)[0] == actual.split("_", 1)[0]

    def rewrite_str(self, value: str) -> str:
        return self._forward.get(value, value)

    def rewrite_path(self, path: str) -> str:
        return "/".join(self.rewrite_str(seg) for seg in path.split("/"))

    def rewrite_json(self, value: Json) -> Json:
        if isinstance(value, str):
            return self.rewrite_str(value)
        if isinstance(value, dict):
            return {k: self.rewrite_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.rewrite_json(v) for v in value]
        return value


def ids_in(value: Json, pattern: re.Pattern[str]) -> set[str]:
    """Every generated id appearing as a whole string value in a JSON tree."""
    found: set[str] = set()
    if isinstance(value, str):
        if pattern.match(value):
            found.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            found |= ids_in(item, pattern)
    elif isinstance(value, list):
        for item in value:
            found |= ids_in(item, pattern)
    return found


def ids_referenced(request: RecordedRequest, pattern: re.Pattern[str]) -> set[str]:
    """Ids a request refers to: path segments, query values and body values."""
    found = {seg for seg in request.path.split("/") if pattern.match(seg)}
    found |= {v for v in request.query.values() if pattern.match(v)}
    found |= ids_in(request.json_body(), pattern)
    return found


@dataclass(frozen=True)
class SideIdentity:
    """How requests are rewritten for one side.

    ``keys`` maps capture-space API keys to this side's keys (unknown keys pass
    unchanged); ``derive_keys`` turns on ``<key>:<side>`` idempotency keys
    (off for the primary behind the proxy, which must see the caller's key);
    a non-empty ``scope`` (a replay's token) makes idempotency keys and order
    ids new for that replay.
    """

    name: str
    keys: Mapping[str, str] = field(default_factory=dict)
    derive_keys: bool = True
    scope: str = ""


def rewrite_request(
    request: RecordedRequest, identity: SideIdentity, ids: IdMap
) -> RecordedRequest:
    """The request as this side must receive it."""
    headers = dict(request.headers)
    auth = headers.get("authorization")
    if auth is not None:
        key = api_key_of(auth)
        if key is not None and key in identity.keys:
            headers["authorization"] = basic_auth(identity.keys[key])
    idem = headers.get("idempotency-key")
    if idem is not None and identity.derive_keys:
        headers["idempotency-key"] = derive_idempotency_key(idem, identity.name, identity.scope)
    body = request.body
    decoded = request.json_body()
    if decoded is not None:
        rewritten = _scope_order(ids.rewrite_json(decoded) if len(ids) else decoded,
                                 identity.scope)
        if rewritten != decoded:
            body = json.dumps(rewritten, separators=(",", ":"))
    query = {k: ids.rewrite_str(v) for k, v in request.query.items()}
    if "order_id" in query:
        query["order_id"] = scoped_order_id(query["order_id"], identity.scope)
    return RecordedRequest(
        method=request.method,
        path=ids.rewrite_path(request.path),
        query=query,
        headers=headers,
        body=body,
    )


def _scope_order(body: Json, scope: str) -> Json:
    if scope and isinstance(body, dict) and isinstance(body.get("order_id"), str):
        return {**body, "order_id": scoped_order_id(body["order_id"], scope)}
    return body
