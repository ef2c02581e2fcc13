"""Merchant authentication: HTTP Basic with the API key as user name (as Juspay does)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable

from payments import sql
from payments.effects import Flow, Query
from payments.errors import Unauthorized
from payments.models import Merchant


def hash_api_key(api_key: str) -> str:
    """Keys are stored as sha256 hex; the plain key never reaches the database."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def parse_basic(header: str | None) -> tuple[str, str]:
    """Split an ``Authorization: Basic`` header into user and password."""
    if not header:
        raise Unauthorized("missing credentials: use HTTP Basic with your API key")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthorized("use HTTP Basic with your API key as user name")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("malformed Basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise Unauthorized("malformed Basic credentials")
    return user, password


def check_basic(header: str | None, username: str, password: str) -> bool:
    """Constant-time check of Basic credentials (webhooks)."""
    try:
        user, pwd = parse_basic(header)
    except Unauthorized:
        return False
    return hmac.compare_digest(user.encode(), username.encode()) & hmac.compare_digest(
        pwd.encode(), password.encode()
    )


class MerchantCache:
    """A small per-process TTL cache of authenticated merchants, by key hash.

    Both services keep one, so neither pays a database round trip for auth on
    every request and the comparison stays fair. ``clock`` is a monotonic
    clock in seconds (the context's, so tests can move it).
    """

    def __init__(
        self,
        ttl_s: float = 30.0,
        capacity: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_s
        self._capacity = capacity
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, Merchant]] = OrderedDict()

    def get(self, key_hash: str) -> Merchant | None:
        """The merchant of an API key hash (or ``id:<merchant id>``), if fresh."""
        item = self._items.get(key_hash)
        if item is None:
            return None
        expires, merchant = item
        if expires < self._clock():
            del self._items[key_hash]
            return None
        return merchant

    def put(self, key_hash: str, merchant: Merchant) -> None:
        expires = self._clock() + self._ttl
        for key in (key_hash, f"id:{merchant.id}"):
            self._items[key] = (expires, merchant)
            self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)


def merchant_by_id(merchant_id: str, cache: MerchantCache) -> Flow[Merchant | None]:
    """A merchant by id (webhooks and the reconciler), through the same cache."""
    merchant = cache.get(f"id:{merchant_id}")
    if merchant is not None:
        return merchant
    row = yield Query(sql.MERCHANT_BY_ID, (merchant_id,))
    if row is None:
        return None
    merchant = Merchant.from_row(row)
    cache.put(f"id:{merchant_id}", merchant)
    return merchant


def authenticate(header: str | None, cache: MerchantCache) -> Flow[Merchant]:
    """Resolve the merchant of a request, or raise ``Unauthorized``."""
    api_key, _password = parse_basic(header)
    if not api_key:
        raise Unauthorized("missing API key")
    key_hash = hash_api_key(api_key)
    merchant = cache.get(key_hash)
    if merchant is not None:
        return merchant
    row = yield Query(sql.MERCHANT_BY_KEY_HASH, (key_hash,))
    if row is None:
        raise Unauthorized("unknown API key")
    merchant = Merchant.from_row(row)
    cache.put(key_hash, merchant)
    return merchant
