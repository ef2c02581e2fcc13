"""The audit ledger: every charge and refund the simulated gateways accepted.

The ledger is the outside witness of side effects: if a service under test
charges one payment twice (two attempts, or one attempt retried wrongly), the
``summary`` shows it without trusting the service's own database. Charges
are grouped by ``reference`` (the merchant's payment id, Juspay udf1 / Paytm
mercUnqRef) when the service sends one, else by order id.
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(slots=True)
class LedgerEntry:
    seq: int
    gateway: str
    merchant_id: str
    order_id: str
    txn_id: str
    kind: str  # "charge" | "refund"
    amount: int  # minor units
    currency: str
    time: float  # epoch seconds
    reference: str = ""
    refund_id: str = ""  # unique_request_id / refId
    status: str = "accepted"  # refunds: pending -> succeeded | failed


class Ledger:
    def __init__(self) -> None:
        self.entries: list[LedgerEntry] = []

    def record(
        self,
        *,
        gateway: str,
        merchant_id: str,
        order_id: str,
        txn_id: str,
        kind: str,
        amount: int,
        currency: str,
        reference: str = "",
        refund_id: str = "",
        status: str = "accepted",
    ) -> LedgerEntry:
        entry = LedgerEntry(
            seq=len(self.entries) + 1,
            gateway=gateway,
            merchant_id=merchant_id,
            order_id=order_id,
            txn_id=txn_id,
            kind=kind,
            amount=amount,
            currency=currency,
            time=clock.time(),
            reference=reference,
            refund_id=refund_id,
            status=status,
        )
        self.entries.append(entry)
        return entry

    def set_status(self, seq: int, status: str) -> None:
        if 0 < seq <= len(self.entries):
            self.entries[seq - 1].status = status

    def clear(self) -> None:
        self.entries.clear()

    def report(self, merchant_id: str | None = None) -> dict[str, Any]:
        """Entries plus per-order totals, with duplicate charges listed first."""
        entries = [e for e in self.entries if merchant_id is None or e.merchant_id == merchant_id]
        orders: dict[tuple[str, str, str], dict[str, Any]] = {}
        by_reference: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for e in entries:
            key = (e.gateway, e.merchant_id, e.order_id)
            row = orders.setdefault(
                key,
                {
                    "gateway": e.gateway,
                    "merchant_id": e.merchant_id,
                    "order_id": e.order_id,
                    "reference": e.reference,
                    "currency": e.currency,
                    "charges": 0,
                    "charged": 0,
                    "refunds": 0,
                    "refunded": 0,
                },
            )
            if e.kind == "charge":
                row["charges"] += 1
                row["charged"] += e.amount
                by_reference[(e.gateway, e.merchant_id, e.reference or e.order_id)].append(
                    e.order_id
                )
            elif e.status != "failed":
                row["refunds"] += 1
                row["refunded"] += e.amount
        duplicates = [
            {"gateway": g, "merchant_id": m, "reference": ref, "order_ids": ids}
            for (g, m, ref), ids in by_reference.items()
            if len(ids) > 1
        ]
        over_refunded = [r for r in orders.values() if r["refunded"] > r["charged"]]
        return {
            "generated_at": clock.time(),
            "summary": {
                "charges": sum(1 for e in entries if e.kind == "charge"),
                "charged_amount": sum(e.amount for e in entries if e.kind == "charge"),
                "refunds": sum(1 for e in entries if e.kind == "refund"),
                "refunded_amount": sum(
                    e.amount for e in entries if e.kind == "refund" and e.status != "failed"
                ),
                "duplicate_charges": duplicates,
                "over_refunded": over_refunded,
            },
            "orders": list(orders.values()),
            "entries": [asdict(e) for e in entries],
        }
