"""Request validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments.errors import NotFound, ValidationError
from payments.money import DEFAULT_CURRENCIES
from payments.validation import (
    validate_create,
    validate_idempotency_key,
    validate_object_id,
    validate_refund,
)

GOOD: dict[str, Any] = {
    "order_id": "ord_1",
    "amount": 10050,
    "currency": "INR",
    "gateway": "juspay",
    "payment_method": "card",
}


def body(**changes: Any) -> bytes:
    data = {**GOOD, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


def test_valid_create() -> None:
    """A complete body becomes a typed request with confirm defaulting to false."""
    req = validate_create(body(metadata={"a": "b"}), DEFAULT_CURRENCIES)
    assert (req.order_id, req.amount, req.currency, req.gateway.value) == (
        "ord_1", 10050, "INR", "juspay")
    assert req.confirm is False
    assert dict(req.metadata) == {"a": "b"}


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"amount": -5}, "positive"),
        ({"amount": 0}, "positive"),
        ({"amount": 10.5}, "integer"),
        ({"amount": 100.0}, "integer"),
        ({"amount": "100"}, "integer"),
        ({"amount": True}, "integer"),
        ({"amount": ...}, "missing field: amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "inr"}, "currency"),
        ({"gateway": "stripe"}, "gateway"),
        ({"payment_method": "cash"}, "payment_method"),
        ({"order_id": "bad id!"}, "order_id"),
        ({"order_id": "x" * 65}, "order_id"),
        ({"confirm": "yes"}, "confirm"),
        ({"surprise": 1}, "unknown field"),
        ({"metadata": {"k": 1}}, "metadata"),
    ],
)
def test_invalid_create(changes: dict[str, Any], fragment: str) -> None:
    """Each kind of bad input is refused with a message naming the problem."""
    with pytest.raises(ValidationError, match=fragment):
        validate_create(body(**changes), DEFAULT_CURRENCIES)


@pytest.mark.parametrize("raw", [b"{", b"[1,2]", b"\xff\xfe", b'"text"'])
def test_malformed_json(raw: bytes) -> None:
    """Bodies that are not a JSON object get the invalid_json code."""
    with pytest.raises(ValidationError) as info:
        validate_create(raw, DEFAULT_CURRENCIES)
    assert info.value.code == "invalid_json"


def test_unknown_currency_code() -> None:
    """An unsupported currency has its own machine code."""
    with pytest.raises(ValidationError) as info:
        validate_create(body(currency="JPY"), DEFAULT_CURRENCIES)
    assert info.value.code == "unsupported_currency"


def test_refund_validation() -> None:
    """Refund bodies need a positive integer amount and nothing unknown."""
    assert validate_refund(b'{"amount": 5, "reason": "x"}').amount == 5
    for raw in (b"{}", b'{"amount": 0}', b'{"amount": 1, "x": 1}'):
        with pytest.raises(ValidationError):
            validate_refund(raw)


def test_idempotency_key_bounds() -> None:
    """Keys are 1-255 printable characters; absence is allowed."""
    assert validate_idempotency_key(None) is None
    assert validate_idempotency_key("k" * 255) == "k" * 255
    for bad in ("", "k" * 256, "a\nb"):
        with pytest.raises(ValidationError):
            validate_idempotency_key(bad)


def test_malformed_object_id_is_not_found() -> None:
    """A malformed id in a path reads as not found, like an unknown one."""
    assert validate_object_id("pay_abc", "pay_") == "pay_abc"
    for bad in ("re_abc", "pay_a/b", "pay_" + "x" * 80):
        with pytest.raises(NotFound):
            validate_object_id(bad, "pay_")
