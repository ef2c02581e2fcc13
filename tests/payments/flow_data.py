"""What the flow tests share: a deterministic context, rows as ``payments.sql`` returns them,
requests through the route table, and gateway replies and webhooks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from payments.api import ApiRequest, Context, Route, handle, routes
from payments.auth import hash_api_key
from payments.config import ServiceSettings
from payments.effects import Flow, Response
from payments.gateways import checksum
from payments.gateways.base import HttpResponse, TransportError
from payments.gateways.wire import basic_auth, encode_form
from payments.models import Merchant
from payments.testing import ManualClock, SequentialIds

SETTINGS = ServiceSettings(
    database_url="postgresql://flows.invalid/none", redis_url="redis://flows.invalid/0",
    gateway_url="http://gateway.invalid", gateway_timeout_s=2.0, cache_ttl_s=300,
)  # fmt: skip
ROUTES = routes()

API_KEY = "key_live_flows"
AUTH = basic_auth(API_KEY)
MERCHANT_ROW: dict[str, Any] = {
    "id": "mer_1", "name": "Flows", "juspay_merchant_id": "jp_mer_1",
    "juspay_api_key": "jp_key_1", "paytm_mid": "PTM_MID_1",
    "paytm_merchant_key": "Wv8zN3aQ5pL1xR7t", "webhook_username": "hook_user",
    "webhook_password": "hook_pass",
}  # fmt: skip
MERCHANT = Merchant.from_row(MERCHANT_ROW)
MID = MERCHANT.id

# The ids a fresh context's ``SequentialIds`` hands out, in order of asking: create-and-confirm
# asks for the payment id, then the attempt id (a confirm or a refund asks first for its own).
PAY = "pay_" + f"{1:024x}"
ATT = "att" + f"{2:018x}"
RE = "re_" + f"{1:024x}"
T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)

TIMEOUT = TransportError("timeout", ambiguous=True, detail="read timed out")
REFUSED = TransportError("connect", ambiguous=False, detail="connection refused")


def context(
    clock: ManualClock | None = None, *, signed_in: bool = True, first_id: int = 1
) -> Context:
    """A context with ids counting from ``first_id`` and a manual clock; the merchant is
    cached when signed in (no lookup before the flow's own effects)."""
    ctx = Context(SETTINGS, clock=clock or ManualClock(), ids=SequentialIds(first_id))
    if signed_in:
        ctx.merchants.put(hash_api_key(API_KEY), MERCHANT)
    return ctx


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route of ``method`` and ``path`` with its parameters, as a service's router finds
    it (``{name}`` matches one path segment)."""
    wanted = path.strip("/").split("/")
    for route in ROUTES:
        pattern = route.pattern.strip("/").split("/")
        if route.method != method or len(pattern) != len(wanted):
            continue
        params: dict[str, str] = {}
        for part, value in zip(pattern, wanted, strict=True):
            if part.startswith("{"):
                params[part[1:-1]] = value
            elif part != value:
                break
        else:
            return route, params
    return None


def request(
    ctx: Context, method: str, path: str, body: Any = None, *, key: str | None = None,
    headers: dict[str, str] | None = None, authorization: str | None = AUTH,
    content_type: str = "application/json",
) -> Flow[Response]:  # fmt: skip
    """The flow of one request, routed and wrapped by ``payments.api.handle`` as a service does."""
    bare, _, query = path.partition("?")
    found = match(method, bare)
    assert found is not None, path
    route, params = found
    raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    api_request = ApiRequest(
        method=method, path=bare, params=params,
        query=dict(p.split("=", 1) for p in query.split("&") if p),
        authorization=authorization, idempotency_key=key, body=raw,
        content_type=content_type, headers=headers or {},
    )  # fmt: skip
    return handle(ctx, route, api_request)


def answer(response: Response) -> dict[str, Any]:
    """A response's JSON body."""
    body: dict[str, Any] = json.loads(response.body)
    return body


def payment_body(**changes: Any) -> dict[str, Any]:
    body = {"order_id": "ord_1", "amount": 10000, "currency": "INR", "gateway": "juspay",
            "payment_method": "card"}  # fmt: skip
    return {**body, **changes}


def insert_args(*, attempt: bool = False, **changes: Any) -> tuple[Any, ...]:
    """The arguments of ``INSERT_PAYMENT`` (and the attempt id of ``..._WITH_ATTEMPT``)."""
    body = payment_body(**changes)
    args = (PAY, MID, body["order_id"], body["amount"], body["currency"], body["gateway"],
            body["payment_method"], None, None, "{}")  # fmt: skip
    return (*args, ATT) if attempt else args


def payment_row(**changes: Any) -> dict[str, Any]:
    """A payment as ``payments.sql`` returns it (``payment_columns``)."""
    row: dict[str, Any] = {
        "id": PAY, "merchant_id": MID, "order_id": "ord_1", "amount": 10000, "currency": "INR",
        "gateway": "juspay", "payment_method": "card", "status": "created", "attempt_id": None,
        "gateway_txn_id": None, "failure_code": None, "failure_message": None,
        "amount_refunded": 0, "amount_refund_reserved": 0, "description": None,
        "customer_id": None, "version": 1, "created_at": T0, "updated_at": T0, "metadata": "{}",
    }  # fmt: skip
    return {**row, **changes}


def attempt_row(**changes: Any) -> dict[str, Any]:
    """An attempt as ``sql.GET_ATTEMPT`` returns it."""
    row = {"id": ATT, "payment_id": PAY, "merchant_id": MID, "gateway": "juspay",
           "status": "unknown", "gateway_txn_id": None, "gateway_status": None,
           "age_s": 1.0}  # fmt: skip
    return {**row, **changes}


def refund_row(refund_id: str, **changes: Any) -> dict[str, Any]:
    """A refund as ``payments.sql`` returns it (``refund_columns``)."""
    row = {"id": refund_id, "payment_id": PAY, "merchant_id": MID, "amount": 2500,
           "currency": "INR", "status": "unknown", "reason": None, "gateway_refund_id": None,
           "failure_code": None, "failure_message": None, "created_at": T0,
           "updated_at": T0}  # fmt: skip
    return {**row, **changes}


# -- gateway replies ---------------------------------------------------------------


def juspay(body: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


def juspay_order(status: str = "NEW", **extra: Any) -> HttpResponse:
    """``/orders`` (create or status) answering an order in ``status``."""
    return juspay({"order_id": ATT, "id": "ordeh_1", "status": status, **extra})


def juspay_txn(status: str, **extra: Any) -> HttpResponse:
    """``/txns`` answering a transaction in ``status``."""
    return juspay({"order_id": ATT, "txn_id": "txn_1", "status": status, **extra})


def juspay_refunded(refund_id: str, status: str) -> HttpResponse:
    """An order (refund call or status read) holding refund ``refund_id`` in ``status``."""
    refund = {"id": "rfnd_1", "unique_request_id": refund_id, "status": status, "amount": 25.0}
    return juspay_order("CHARGED", refunds=[refund])


def paytm(body: dict[str, Any]) -> HttpResponse:
    """A Paytm ``{head, body}`` reply (unsigned: the flows verify only signed ones)."""
    raw = json.dumps({"head": {"responseTimestamp": "0"}, "body": body}).encode()
    return HttpResponse(200, {"Content-Type": "application/json"}, raw)


def paytm_result(status: str, code: str, **extra: Any) -> HttpResponse:
    return paytm({"resultInfo": {"resultStatus": status, "resultCode": code,
                                 "resultMsg": "m"}, **extra})  # fmt: skip


# -- webhooks ----------------------------------------------------------------------


def juspay_event(event_id: str, order: dict[str, Any], *,
                 password: str = "hook_pass") -> tuple[bytes, dict[str, str]]:  # fmt: skip
    """A Juspay webhook body about ``order`` and its headers (Basic auth of the merchant's)."""
    name = "ORDER_SUCCEEDED" if order.get("status") == "CHARGED" else "ORDER_FAILED"
    body = {"id": event_id, "event_name": name, "date_created": "2026-01-02T03:04:05Z",
            "content": {"order": {"order_id": ATT, **order}}}  # fmt: skip
    headers = {"Authorization": basic_auth("hook_user", password),
               "Content-Type": "application/json"}  # fmt: skip
    return json.dumps(body).encode(), headers


def juspay_refund_event(event_id: str, refund_id: str, status: str) -> tuple[bytes, dict[str, str]]:
    body = {"id": event_id, "event_name": "ORDER_REFUNDED", "date_created": "2026-01-02T03:04:05Z",
            "content": {"order": {"order_id": ATT, "status": "CHARGED"},
                        "refund": {"id": "rfnd_1", "unique_request_id": refund_id,
                                   "status": status}}}  # fmt: skip
    headers = {"Authorization": basic_auth("hook_user", "hook_pass"),
               "Content-Type": "application/json"}  # fmt: skip
    return json.dumps(body).encode(), headers


def paytm_callback(status: str, code: str, *, key: str = "Wv8zN3aQ5pL1xR7t") -> bytes:
    """A Paytm charge callback's form body, signed with ``key`` (CHECKSUMHASH)."""
    fields = {"ORDERID": ATT, "MID": "PTM_MID_1", "TXNID": "ptm_txn_1", "TXNAMOUNT": "100.00",
              "CURRENCY": "INR", "STATUS": status, "RESPCODE": code, "RESPMSG": "m"}  # fmt: skip
    fields[checksum.CHECKSUM_FIELD] = checksum.generate_for_params(fields, key)
    return encode_form(fields)
