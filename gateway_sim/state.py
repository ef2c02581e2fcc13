"""The simulated gateways' memory: merchants, orders, refunds.

One ``Order`` model serves both gateways; each API renders it in its own
vocabulary (Juspay status names, Paytm result codes). Everything lives in the
process and is cleared by ``POST /__admin__/reset`` (merchants are kept).
"""

from __future__ import annotations

import enum
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from gateway_sim.draws import CallKey
from gateway_sim.errors import MerchantError
from gateway_sim.hooks import ChargePlan, RefundResult
from payments.gateways.base import GatewayName


class OrderState(enum.Enum):
    NEW = "new"  # order created, no transaction yet
    PENDING = "pending"  # transaction started, waiting for the bank
    CHARGED = "charged"
    FAILED = "failed"


class RefundState(enum.Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(slots=True)
class Merchant:
    gateway: GatewayName
    merchant_id: str
    api_key: str
    webhook_url: str = ""
    webhook_username: str = ""
    webhook_password: str = ""
    # Juspay signs the return-URL parameters with the merchant's response key;
    # without one registered the API key stands in.
    response_key: str = ""

    def public(self) -> dict[str, Any]:
        return {
            "gateway": self.gateway.value,
            "merchant_id": self.merchant_id,
            "webhook_url": self.webhook_url,
            "webhook_username": self.webhook_username,
        }


@dataclass(slots=True)
class Refund:
    refund_id: str  # gateway's id
    request_id: str  # unique_request_id / refId
    amount: int
    plan: RefundResult
    state: RefundState = RefundState.PENDING
    created_at: float = field(default_factory=time.time)
    ledger_seq: int = 0
    key: CallKey = ()  # see gateway_sim.draws
    reads: int = 0  # refund status reads so far, part of each read's key
    reason: str = ""  # the merchant's comment (Paytm refundReason)


@dataclass(slots=True)
class Order:
    gateway: GatewayName
    merchant_id: str
    order_id: str
    amount: int
    currency: str
    plan: ChargePlan
    customer_id: str = ""
    reference: str = ""
    state: OrderState = OrderState.NEW
    id: str = field(default_factory=lambda: "ordeh_" + secrets.token_hex(10))
    txn_id: str = ""
    txn_token: str = ""
    payment_method: str = ""
    decline_code: str = ""
    decline_message: str = ""
    failure_status: str = ""  # Juspay status name of the failure
    created_at: float = field(default_factory=time.time)
    refunds: dict[str, Refund] = field(default_factory=dict)  # by request id
    key: CallKey = ()  # see gateway_sim.draws
    reads: int = 0  # status reads so far, part of each read's key
    refund_ranks: dict[int, int] = field(default_factory=dict)  # refund requests per amount
    # Documented order fields the caller may set (Juspay); echoed in the order object.
    details: dict[str, str] = field(default_factory=dict)
    method_name: str = ""  # Juspay payment_method (VISA, NB_HDFC, ...)
    auth_type: str = ""  # Juspay auth_type of the transaction (THREE_DS, ...)
    card_last4: str = ""
    authenticating: bool = False  # PENDING_VBV until the simulated 3DS step

    def refunded_amount(self, *, settled_only: bool = False) -> int:
        """Money promised back: pending refunds count so bounds hold under races."""
        total = 0
        for r in self.refunds.values():
            if r.state is RefundState.SUCCEEDED or (
                r.state is RefundState.PENDING and not settled_only
            ):
                total += r.amount
        return total


MERCHANT_FIELDS = ("gateway", "merchant_id", "api_key")


def merchant_from_json(doc: Any) -> Merchant:
    if not isinstance(doc, dict):
        raise MerchantError("a merchant must be a JSON object")
    missing = [k for k in MERCHANT_FIELDS if not isinstance(doc.get(k), str) or not doc[k]]
    if missing:
        raise MerchantError(f"missing or empty: {', '.join(missing)}")
    try:
        gateway = GatewayName(doc["gateway"])
    except ValueError:
        raise MerchantError("gateway must be 'juspay' or 'paytm'") from None
    extra = {}
    for key in ("webhook_url", "webhook_username", "webhook_password", "response_key"):
        value = doc.get(key) or ""
        if not isinstance(value, str):
            raise MerchantError(f"{key} must be a string")
        extra[key] = value
    if gateway is GatewayName.PAYTM and len(doc["api_key"].encode()) not in (16, 24, 32):
        raise MerchantError("a Paytm merchant key must be 16, 24 or 32 bytes")
    return Merchant(gateway, doc["merchant_id"], doc["api_key"], **extra)


class Registry:
    """Merchants by gateway: Juspay is found by API key, Paytm by MID."""

    def __init__(self) -> None:
        self.juspay_by_key: dict[str, Merchant] = {}
        # POST /txns may come without the API key, naming only the merchant.
        self.juspay_by_mid: dict[str, Merchant] = {}
        self.paytm_by_mid: dict[str, Merchant] = {}

    def add(self, merchant: Merchant) -> None:
        if merchant.gateway is GatewayName.JUSPAY:
            for key, old in list(self.juspay_by_key.items()):
                if old.merchant_id == merchant.merchant_id:
                    del self.juspay_by_key[key]
            self.juspay_by_key[merchant.api_key] = merchant
            self.juspay_by_mid[merchant.merchant_id] = merchant
        else:
            self.paytm_by_mid[merchant.merchant_id] = merchant

    def all(self) -> list[Merchant]:
        return [*self.juspay_by_key.values(), *self.paytm_by_mid.values()]


class Orders:
    """Orders per gateway and merchant; order ids are unique per merchant."""

    def __init__(self) -> None:
        self._orders: dict[tuple[GatewayName, str, str], Order] = {}
        self._by_txn: dict[str, Order] = {}

    def get(self, gateway: GatewayName, merchant_id: str, order_id: str) -> Order | None:
        return self._orders.get((gateway, merchant_id, order_id))

    def by_txn(self, txn_id: str) -> Order | None:
        """The order of a transaction (the authentication URL names only the txn)."""
        return self._by_txn.get(txn_id)

    def index_txn(self, order: Order) -> None:
        self._by_txn[order.txn_id] = order

    def add(self, order: Order) -> bool:
        """Store a new order; False if the id is taken (duplicate order id)."""
        key = (order.gateway, order.merchant_id, order.order_id)
        if key in self._orders:
            return False
        self._orders[key] = order
        return True

    def clear(self) -> None:
        self._orders.clear()
        self._by_txn.clear()

    def __len__(self) -> int:
        return len(self._orders)


def new_txn_id(gateway: GatewayName) -> str:
    if gateway is GatewayName.PAYTM:
        return "2026" + str(secrets.randbits(60)).zfill(18)
    return "txn_" + secrets.token_hex(10)
