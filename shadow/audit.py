"""Side-effect audit from the gateway simulator's ledger.

Responses can match while the money does not: a candidate that charges an
order twice answers exactly like the primary. The simulator's ledger lists
every charge and refund it accepted, with the merchant id that made it; each
side has its own simulator merchants, so the ledger splits cleanly per side.

Per side: charges and refunds by count, amount and currency. Flags:

- ``duplicate_charge``: one payment (or gateway order) charged more than once;
- ``charge_without_payment``: a charge no payment on that side accounts for;
- ``over_refund``: refunds above what was charged for that payment;
- ``refund_without_charge``: a refund for a payment that was never charged;
- ``totals_differ``: candidate totals differ from the primary's, while the
  secondary (A/A) agrees with the primary or is absent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from payments.money import parse_major
from shadow.capture import Exchange, Json, parse_json

CHARGE_KINDS = frozenset({"charge", "payment", "capture", "sale"})
REFUND_KINDS = frozenset({"refund"})


@dataclass(frozen=True)
class LedgerEntry:
    gateway: str
    merchant_id: str
    order_id: str
    txn_id: str
    kind: str  # "charge" or "refund"
    amount: int  # minor units
    currency: str
    reference: str = ""  # the merchant's payment id, when the service sent one

    def to_json(self) -> dict[str, Json]:
        return {
            "gateway": self.gateway, "merchant_id": self.merchant_id,
            "order_id": self.order_id, "txn_id": self.txn_id, "kind": self.kind,
            "amount": self.amount, "currency": self.currency, "reference": self.reference,
        }


def _minor(amount: Json, currency: str) -> int:
    if isinstance(amount, bool):
        raise ValueError("amount is a boolean")
    if isinstance(amount, int):
        return amount
    # Gateways speak decimal major units ("100.50"); the ledger may keep them so.
    return parse_major(str(amount), currency)


def parse_ledger(data: Json) -> list[LedgerEntry]:
    """Entries from the admin API answer: a list, or an object holding one."""
    if isinstance(data, dict):
        for key in ("entries", "ledger", "items", "data"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list):
        raise ValueError("ledger must be a list of entries")
    out: list[LedgerEntry] = []
    for item in data:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("kind") or item.get("type") or "").lower()
        if kind in CHARGE_KINDS:
            kind = "charge"
        elif kind not in REFUND_KINDS:
            continue
        status = str(item.get("status") or "").lower()
        if status in {"failed", "failure", "declined", "rejected"}:
            continue  # only accepted money movements are side effects
        currency = str(item.get("currency") or "INR")
        out.append(LedgerEntry(
            gateway=str(item.get("gateway") or ""),
            merchant_id=str(item.get("merchant_id") or ""),
            order_id=str(item.get("order_id") or ""),
            txn_id=str(item.get("txn_id") or ""),
            kind=kind,
            amount=_minor(item.get("amount"), currency),
            currency=currency,
            reference=str(item.get("reference") or ""),
        ))
    return out


@dataclass
class SideScope:
    """One side's simulator merchants and what it says about its payments.

    ``refs`` maps every reference a gateway may carry (order id, payment id,
    attempt id, gateway transaction id) to the payment's order id; None means
    the side's payments are unknown and ``charge_without_payment`` is not checked.
    """

    merchant_ids: frozenset[str]
    refs: dict[str, str] | None = None


@dataclass(frozen=True)
class Flag:
    side: str
    kind: str
    merchant_id: str
    order_id: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"side": self.side, "kind": self.kind, "merchant_id": self.merchant_id,
                "order_id": self.order_id, "detail": self.detail}


@dataclass
class SideAudit:
    charges: dict[str, list[int]] = field(default_factory=dict)  # currency -> [count, amount]
    refunds: dict[str, list[int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Json]:
        return {
            "charges": {c: {"count": n, "amount": a} for c, (n, a) in sorted(self.charges.items())},
            "refunds": {c: {"count": n, "amount": a} for c, (n, a) in sorted(self.refunds.items())},
        }


@dataclass
class AuditResult:
    sides: dict[str, SideAudit]
    flags: list[Flag]

    def to_json(self) -> dict[str, Json]:
        return {"sides": {k: v.to_json() for k, v in self.sides.items()},
                "flags": [f.to_json() for f in self.flags]}


def payment_refs(exchanges: Iterable[Exchange], side: str) -> dict[str, str]:
    """Every gateway-visible reference of the payments ``side`` answered with."""
    refs: dict[str, str] = {}

    def visit(value: Json) -> None:
        if isinstance(value, list):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            if value.get("object") == "payment" and isinstance(value.get("order_id"), str):
                order = value["order_id"]
                refs[order] = order
                for key in ("id", "attempt_id", "gateway_txn_id"):
                    if isinstance(value.get(key), str):
                        refs[value[key]] = order
            for item in value.values():
                if isinstance(item, dict | list):
                    visit(item)

    for ex in exchanges:
        result = ex.sides.get(side)
        if result is None or not result.answered:
            continue
        visit(result.json_body())
        if result.initial_body:
            visit(parse_json(result.initial_body))
    return refs


def _side_audit(name: str, entries: list[LedgerEntry], scope: SideScope) -> tuple[
    SideAudit, list[Flag]
]:
    totals = SideAudit()
    flags: list[Flag] = []
    charged: dict[tuple[str, str], list[LedgerEntry]] = defaultdict(list)
    refunded: dict[tuple[str, str], list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        if entry.merchant_id not in scope.merchant_ids:
            continue
        bucket = totals.charges if entry.kind == "charge" else totals.refunds
        count = bucket.setdefault(entry.currency, [0, 0])
        count[0] += 1
        count[1] += entry.amount
        refs = scope.refs or {}
        handles = [h for h in (entry.reference, entry.order_id, entry.txn_id) if h]
        # Group by the payment a charge belongs to: two attempts of one payment
        # are two gateway orders but one payment charged twice.
        payment = next((refs[h] for h in handles if h in refs),
                       entry.reference or entry.order_id)
        key = (entry.merchant_id, payment)
        if entry.kind == "charge":
            charged[key].append(entry)
            if scope.refs is not None and not any(h in refs for h in handles):
                flags.append(Flag(name, "charge_without_payment", entry.merchant_id,
                                  entry.order_id, f"{entry.amount} {entry.currency}"))
        else:
            refunded[key].append(entry)
    for (merchant, payment), charges in sorted(charged.items()):
        if len(charges) > 1:
            flags.append(Flag(name, "duplicate_charge", merchant, payment,
                              f"charged {len(charges)} times: "
                              + ", ".join(f"{c.amount} {c.currency}" for c in charges)))
    for (merchant, payment), refunds in sorted(refunded.items()):
        charges = charged.get((merchant, payment), [])
        if not charges:
            flags.append(Flag(name, "refund_without_charge", merchant, payment,
                              f"{len(refunds)} refunds"))
            continue
        captured = sum(c.amount for c in charges)
        total = sum(r.amount for r in refunds)
        if total > captured:
            flags.append(Flag(name, "over_refund", merchant, payment,
                              f"refunded {total} of {captured}"))
    return totals, flags


def audit(entries: Iterable[LedgerEntry], scopes: Mapping[str, SideScope]) -> AuditResult:
    """Totals and flags per side; ``scopes`` is keyed by side name."""
    ledger = list(entries)
    sides: dict[str, SideAudit] = {}
    flags: list[Flag] = []
    for name, scope in scopes.items():
        totals, side_flags = _side_audit(name, ledger, scope)
        sides[name] = totals
        flags.extend(side_flags)
    primary, candidate = sides.get("primary"), sides.get("candidate")
    secondary = sides.get("secondary")
    differ = primary is not None and candidate is not None and (
        primary.to_json() != candidate.to_json()
    )
    # An A/A disagreement means totals depend on chance (random gateway outcomes).
    aa_agrees = secondary is None or (
        primary is not None and secondary.to_json() == primary.to_json()
    )
    if differ and aa_agrees and primary is not None and candidate is not None:
        flags.append(Flag("candidate", "totals_differ", "", "",
                          f"primary {primary.to_json()} vs candidate {candidate.to_json()}"))
    return AuditResult(sides, flags)
