"""Pure response checks: a body that is not what the contract promises fails the request.

Each check returns ``None`` when the body is right, or a short reason that the scenario
passes to ``response.failure``. No Locust import here, so the checks are unit-testable.
"""

from __future__ import annotations

import json
import re
from typing import Any

PAYMENT_ID = re.compile(r"^pay_[0-9a-f]{24}$")
PAYMENT_STATUSES = frozenset(
    {"created", "processing", "succeeded", "failed", "partially_refunded", "refunded"}
)
FINAL_STATUSES = frozenset({"succeeded", "failed", "partially_refunded", "refunded"})
PAYMENT_FIELDS = (
    "id", "object", "order_id", "amount", "currency", "gateway", "payment_method", "status",
    "amount_refunded", "created_at", "updated_at",
)


def parse_json(body: bytes | str | None) -> tuple[Any, str | None]:
    """The decoded JSON body, or a reason why it is not JSON."""
    if not body:
        return None, "empty body"
    try:
        return json.loads(body), None
    except (ValueError, UnicodeDecodeError):
        text = body if isinstance(body, str) else body[:80].decode("utf-8", "replace")
        return None, f"body is not JSON: {text[:80]!r}"


def check_status(status: int, expected: int | tuple[int, ...]) -> str | None:
    """Reason when ``status`` is not the expected HTTP status."""
    wanted = (expected,) if isinstance(expected, int) else expected
    if status in wanted:
        return None
    return f"HTTP {status}, expected {'/'.join(map(str, wanted))}"


def check_payment(body: Any, **expected: Any) -> str | None:
    """Reason when ``body`` is not a payment object matching every ``expected`` field."""
    if not isinstance(body, dict):
        return "payment body is not an object"
    missing = [f for f in PAYMENT_FIELDS if f not in body]
    if missing:
        return f"payment lacks {', '.join(missing)}"
    if body["object"] != "payment":
        return f"object is {body['object']!r}, expected 'payment'"
    if not isinstance(body["id"], str) or not PAYMENT_ID.match(body["id"]):
        return f"bad payment id {body['id']!r}"
    if body["status"] not in PAYMENT_STATUSES:
        return f"unknown status {body['status']!r}"
    if not isinstance(body["amount_refunded"], int) or not (
        0 <= body["amount_refunded"] <= body["amount"]
    ):
        return f"amount_refunded {body['amount_refunded']!r} outside 0..amount"
    for name, value in expected.items():
        if name == "status_in":
            if body["status"] not in value:
                return f"status {body['status']!r} not in {sorted(value)}"
        elif name == "max_refunded":
            if body["amount_refunded"] > value:
                return f"amount_refunded {body['amount_refunded']} exceeds {value} asked for"
        elif body.get(name) != value:
            return f"{name} is {body.get(name)!r}, expected {value!r}"
    return None


def check_refund(body: Any, *, payment_id: str, amount: int) -> str | None:
    """Reason when ``body`` is not a refund of ``amount`` for ``payment_id``."""
    if not isinstance(body, dict):
        return "refund body is not an object"
    if body.get("object") not in (None, "refund"):
        return f"object is {body.get('object')!r}, expected 'refund'"
    if not isinstance(body.get("id"), str) or not body["id"]:
        return "refund has no id"
    if body.get("amount") != amount:
        return f"refund amount {body.get('amount')!r}, expected {amount}"
    if "payment_id" in body and body["payment_id"] != payment_id:
        return f"refund payment_id {body['payment_id']!r}, expected {payment_id!r}"
    return None


def check_error(body: Any, *, code: str | None = None) -> str | None:
    """Reason when ``body`` is not the contract's ``{"error", "code"}`` error object."""
    if not isinstance(body, dict) or "error" not in body or "code" not in body:
        return "error body lacks error/code"
    if code is not None and body["code"] != code:
        return f"error code {body['code']!r}, expected {code!r}"
    return None


def payments_in_list(body: Any) -> list[dict[str, Any]] | None:
    """The payment objects of a list response (``{"data": [...]}`` or a bare list)."""
    items = body.get("data") if isinstance(body, dict) else body
    if not isinstance(items, list):
        return None
    return [item for item in items if isinstance(item, dict)]
