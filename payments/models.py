"""Contract objects and their JSON encoding, shared by both services.

Every response body is produced by ``encode_json`` from these functions, so
the engine and the legacy service emit the same bytes for the same state and
an idempotent replay is byte-for-byte the first response.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from payments.gateways.base import GatewayCredentials, GatewayName

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Merchant:
    id: str
    name: str
    juspay_merchant_id: str
    juspay_api_key: str
    paytm_mid: str
    paytm_merchant_key: str
    webhook_username: str
    webhook_password: str

    @classmethod
    def from_row(cls, row: Row) -> Merchant:
        return cls(
            id=row["id"],
            name=row["name"],
            juspay_merchant_id=row["juspay_merchant_id"],
            juspay_api_key=row["juspay_api_key"],
            paytm_mid=row["paytm_mid"],
            paytm_merchant_key=row["paytm_merchant_key"],
            webhook_username=row["webhook_username"],
            webhook_password=row["webhook_password"],
        )

    def credentials(self, gateway: GatewayName | str) -> GatewayCredentials:
        """This merchant's credentials at ``gateway``."""
        name = GatewayName(gateway)
        if name is GatewayName.JUSPAY:
            return GatewayCredentials(name, self.juspay_merchant_id, self.juspay_api_key)
        return GatewayCredentials(name, self.paytm_mid, self.paytm_merchant_key)

    def __repr__(self) -> str:  # never print keys in logs or tracebacks
        return f"Merchant(id={self.id!r}, name={self.name!r})"


def timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a 'Z', whatever the driver's time zone."""
    # isoformat spells it as strftime("%Y-%m-%dT%H:%M:%S.%fZ") did, in a third less time
    return value.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def payment_json(row: Row) -> dict[str, Any]:
    """The public payment object for a row of ``payments.sql.payment_columns``."""
    metadata = row["metadata"]
    return {
        "id": row["id"],
        "object": "payment",
        "order_id": row["order_id"],
        "amount": row["amount"],
        "currency": row["currency"],
        "gateway": row["gateway"],
        "payment_method": row["payment_method"],
        "status": row["status"],
        "amount_refunded": row["amount_refunded"],
        "attempt_id": row["attempt_id"],
        "gateway_txn_id": row["gateway_txn_id"],
        "failure_code": row["failure_code"],
        "failure_message": row["failure_message"],
        "description": row["description"],
        "customer_id": row["customer_id"],
        "metadata": json.loads(metadata) if isinstance(metadata, str) else dict(metadata),
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
    }


def refund_json(row: Row) -> dict[str, Any]:
    """The public refund object for a row of ``payments.sql.refund_columns``."""
    return {
        "id": row["id"],
        "object": "refund",
        "payment_id": row["payment_id"],
        "amount": row["amount"],
        "currency": row["currency"],
        "status": row["status"],
        "reason": row["reason"],
        "gateway_refund_id": row["gateway_refund_id"],
        "failure_code": row["failure_code"],
        "failure_message": row["failure_message"],
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
    }


def encode_json(value: Any) -> bytes:
    """The one JSON encoding of every response body (compact, UTF-8, key order kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def error_body(message: str, code: str) -> bytes:
    return encode_json({"error": message, "code": code})
