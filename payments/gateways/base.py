"""Types shared by the gateway protocols and the services that drive them.

A gateway operation is a *flow*: a generator that yields ``HttpRequest``
objects and receives ``HttpResponse`` or ``TransportError`` for each, then
returns an outcome. The flow decides everything (bodies, signatures, parsing,
what a timeout means); the driver only moves bytes, with ``await`` in the
engine and blocking calls in the legacy service.
"""

from __future__ import annotations

import enum
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field


class GatewayName(enum.StrEnum):
    JUSPAY = "juspay"
    PAYTM = "paytm"


class AttemptStatus(enum.StrEnum):
    """What the service knows of one attempt at the gateway."""

    PENDING = "pending"  # sent, gateway says not final yet (UPI, netbanking, 3DS)
    UNKNOWN = "unknown"  # timeout or 5xx: the gateway may or may not have charged
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RefundStatus(enum.StrEnum):
    PENDING = "pending"
    UNKNOWN = "unknown"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One HTTP call to a gateway; ``path`` is relative to the gateway's base URL."""

    gateway: GatewayName
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    # "auth" for charge calls, "status" for status/sync, "refund" for refunds:
    # drivers may use a different timeout per kind.
    kind: str = "auth"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class TransportError:
    """The call failed below HTTP.

    ``ambiguous`` is true when the request may have reached the gateway (a
    read timeout, a reset after sending): the charge may have happened.
    """

    kind: str  # "timeout" | "connect" | "reset"
    ambiguous: bool
    detail: str = ""


GatewayReply = HttpResponse | TransportError


@dataclass(frozen=True, slots=True)
class GatewayCredentials:
    """A merchant's credentials at one gateway (from the merchants table)."""

    gateway: GatewayName
    merchant_id: str  # Juspay merchant id / Paytm MID
    api_key: str  # Juspay API key / Paytm merchant key (checksum key)
    website: str = "DEFAULT"  # Paytm websiteName


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    """One attempt to charge; ``attempt_id`` is the gateway's order id."""

    attempt_id: str
    amount: int  # minor units
    currency: str
    payment_method: str  # card | upi | netbanking | wallet
    customer_id: str = "guest"
    customer_email: str = ""
    return_url: str = ""
    # The merchant-side id the attempt belongs to (the payment id): sent as
    # Juspay udf1 / Paytm mercUnqRef so the gateway's audit ledger can group
    # several attempts of one payment and show a double charge.
    reference: str = ""


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    status: AttemptStatus
    gateway_txn_id: str | None = None
    gateway_status: str | None = None  # the gateway's own status name or result code
    error_code: str | None = None
    error_message: str | None = None
    amount: int | None = None  # amount the gateway reports as charged, minor units


@dataclass(frozen=True, slots=True)
class RefundRequest:
    refund_id: str  # sent as Juspay unique_request_id / Paytm refId
    attempt_id: str  # gateway order id of the charged attempt
    gateway_txn_id: str | None
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    status: RefundStatus
    gateway_refund_id: str | None = None
    gateway_status: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A gateway notification, parsed but not yet authenticated."""

    gateway: GatewayName
    event_id: str  # used to deduplicate
    attempt_id: str  # gateway order id
    kind: str  # "charge" | "refund"
    charge: ChargeOutcome | None = None
    refund_id: str | None = None
    refund: RefundOutcome | None = None


GatewayFlow = Generator[HttpRequest, GatewayReply, "ChargeOutcome"]
RefundFlow = Generator[HttpRequest, GatewayReply, "RefundOutcome"]
