"""Request validation: raw bytes in, typed requests or a ``ValidationError`` out.

Validation runs before anything is written (not even an idempotency key), so
bad input changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from payments.errors import NotFound, ValidationError
from payments.gateways.base import GatewayName
from payments.money import MAX_AMOUNT_MINOR

ORDER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
OBJECT_ID_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
PAYMENT_METHODS: frozenset[str] = frozenset({"card", "upi", "netbanking", "wallet"})
MAX_IDEMPOTENCY_KEY = 255
MAX_TEXT = 500
MAX_METADATA_KEYS = 20

_CREATE_FIELDS = frozenset(
    {
        "order_id",
        "amount",
        "currency",
        "gateway",
        "payment_method",
        "confirm",
        "customer_id",
        "description",
        "metadata",
    }
)
_REFUND_FIELDS = frozenset({"amount", "reason"})


@dataclass(frozen=True, slots=True)
class CreatePayment:
    order_id: str
    amount: int
    currency: str
    gateway: GatewayName
    payment_method: str
    confirm: bool
    customer_id: str | None
    description: str | None
    metadata: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class CreateRefund:
    amount: int
    reason: str | None


def parse_json_object(body: bytes) -> dict[str, Any]:
    """Decode a JSON object body; an empty body is an empty object."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("request body is not valid JSON", code="invalid_json") from None
    if not isinstance(value, dict):
        raise ValidationError("request body must be a JSON object", code="invalid_json")
    return value


def _reject_unknown(data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(f"unknown field: {unknown[0]}", field=unknown[0])


def _amount(data: Mapping[str, Any]) -> int:
    if "amount" not in data:
        raise ValidationError("missing field: amount", field="amount")
    amount = data["amount"]
    # bool is an int subclass; floats, even 100.0, are refused so no amount is rounded
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationError("amount must be an integer in minor units", field="amount")
    if amount <= 0:
        raise ValidationError("amount must be positive", field="amount")
    if amount > MAX_AMOUNT_MINOR:
        raise ValidationError("amount is too large", field="amount")
    return amount


def _optional_text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value:
        raise ValidationError(
            f"{name} must be a string of at most {MAX_TEXT} characters, without NUL",
            field=name,
        )
    return value


def _metadata(data: Mapping[str, Any]) -> dict[str, str]:
    value = data.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_METADATA_KEYS:
        raise ValidationError(
            f"metadata must be an object of at most {MAX_METADATA_KEYS} string values",
            field="metadata",
        )
    for key, item in value.items():
        if (
            not isinstance(item, str)
            or len(key) > 40
            or len(item) > MAX_TEXT
            or "\x00" in key + item  # PostgreSQL text cannot hold NUL
        ):
            raise ValidationError("metadata values must be short strings", field="metadata")
    return dict(value)


def validate_create(body: bytes, currencies: frozenset[str]) -> CreatePayment:
    """Validate a ``POST /v1/payments`` body."""
    data = parse_json_object(body)
    _reject_unknown(data, _CREATE_FIELDS)
    for name in ("order_id", "amount", "currency", "gateway", "payment_method"):
        if name not in data:
            raise ValidationError(f"missing field: {name}", field=name)
    order_id = data["order_id"]
    if not isinstance(order_id, str) or not ORDER_ID_RE.fullmatch(order_id):
        raise ValidationError(
            "order_id must be 1-64 characters of letters, digits, '_' or '-'", field="order_id"
        )
    amount = _amount(data)
    currency = data["currency"]
    if not isinstance(currency, str) or currency not in currencies:
        raise ValidationError(
            f"currency must be one of {', '.join(sorted(currencies))}",
            code="unsupported_currency",
            field="currency",
        )
    gateway = data["gateway"]
    if gateway not in ("juspay", "paytm"):
        raise ValidationError("gateway must be 'juspay' or 'paytm'", field="gateway")
    method = data["payment_method"]
    if method not in PAYMENT_METHODS:
        raise ValidationError(
            f"payment_method must be one of {', '.join(sorted(PAYMENT_METHODS))}",
            field="payment_method",
        )
    confirm = data.get("confirm", False)
    if not isinstance(confirm, bool):
        raise ValidationError("confirm must be a boolean", field="confirm")
    return CreatePayment(
        order_id=order_id,
        amount=amount,
        currency=currency,
        gateway=GatewayName(gateway),
        payment_method=method,
        confirm=confirm,
        customer_id=_optional_text(data, "customer_id"),
        description=_optional_text(data, "description"),
        metadata=_metadata(data),
    )


def validate_refund(body: bytes) -> CreateRefund:
    """Validate a ``POST /v1/payments/{id}/refunds`` body."""
    data = parse_json_object(body)
    _reject_unknown(data, _REFUND_FIELDS)
    return CreateRefund(amount=_amount(data), reason=_optional_text(data, "reason"))


def validate_empty(body: bytes) -> None:
    """Bodies of confirm and sync carry no fields."""
    data = parse_json_object(body)
    _reject_unknown(data, frozenset())


def validate_object_id(value: str, prefix: str) -> str:
    """Ids in paths: a malformed id is simply not found, like an unknown one."""
    if not value.startswith(prefix) or not OBJECT_ID_RE.fullmatch(value):
        raise NotFound(f"no such object: {value[:64]}")
    return value


def validate_order_id_query(value: str | None) -> str:
    """The ``order_id`` of ``GET /v1/payments?order_id=``."""
    if not value:
        raise ValidationError("query parameter order_id is required", field="order_id")
    if not ORDER_ID_RE.fullmatch(value):
        raise ValidationError(
            "order_id must be 1-64 characters of letters, digits, '_' or '-'", field="order_id"
        )
    return value


def is_object_id(value: str) -> bool:
    """Whether ``value`` can be one of our ids (attempt, refund): checked before any lookup."""
    return bool(OBJECT_ID_RE.fullmatch(value))


def validate_idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not value or len(value) > MAX_IDEMPOTENCY_KEY or not value.isprintable():
        raise ValidationError(
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable characters",
            code="invalid_idempotency_key",
        )
    return value
