"""Payment flows, decision by decision, against scripted effects (no server, no I/O).

Create, create-and-confirm, confirm, read, list and sync: which statements,
cache operations and gateway calls each decision makes, in which order, and
what it answers. The services' integration tests (tests/services) prove that
each driver performs these effects; these pin the decisions themselves.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments import sql
from payments.auth import hash_api_key
from payments.effects import CachePut
from payments.gateways import paytm as paytm_protocol
from payments.gateways.base import GatewayReply, HttpRequest, HttpResponse
from payments.models import encode_json, payment_json
from payments.testing import ManualClock, Script
from tests.payments.flow_data import (
    API_KEY,
    ATT,
    MERCHANT_ROW,
    MID,
    PAY,
    RE,
    REFUSED,
    TIMEOUT,
    answer,
    attempt_row,
    context,
    insert_args,
    juspay,
    juspay_order,
    juspay_refunded,
    juspay_txn,
    payment_body,
    payment_row,
    paytm,
    paytm_result,
    refund_row,
    request,
)

pytestmark = pytest.mark.pure

CACHE_KEY = f"pay:{MID}:{PAY}"
PROCESSING = payment_row(status="processing", attempt_id=ATT, version=2)


def settle_args(status: str, txn: str | None = None, gateway_status: str | None = None, *,
                code: str | None = None, message: str | None = None,
                final: str | None = None) -> tuple[Any, ...]:  # fmt: skip
    """The arguments of ``SETTLE_ATTEMPT`` for the payment's attempt."""
    return (PAY, ATT, status, txn, gateway_status, code, message, final)


def confirmed(**changes: Any) -> dict[str, Any]:
    """The payment row after its attempt settled (version 3)."""
    return payment_row(**{"attempt_id": ATT, "version": 3, **changes})


def charge_script(reply: GatewayReply, settle: tuple[Any, ...],
                  settled: dict[str, Any]) -> Script:  # fmt: skip
    """Create-and-confirm through Juspay: insert, /orders, /txns answered ``reply``, settle."""
    return (
        Script()
        .query(sql.INSERT_PAYMENT_WITH_ATTEMPT, insert_args(attempt=True), returns=PROCESSING)
        .http("POST", "/orders", juspay_order("NEW"), kind="auth", gateway="juspay")
        .http("POST", "/txns", reply, kind="auth")
        .query(sql.SETTLE_ATTEMPT, settle, returns=settled)
        .cache_put(CACHE_KEY, version=settled["version"], ttl_s=300)
    )


# -- create ------------------------------------------------------------------------


def test_create_inserts_and_writes_the_payment_through_to_the_cache() -> None:
    """A create is one INSERT with a new pay_ id, then the row cached under its version: 201."""
    script = (
        Script()
        .query(sql.INSERT_PAYMENT, insert_args(), returns=payment_row())
        .cache_put(CACHE_KEY, version=1, ttl_s=300)
    )
    response = script.run(request(context(), "POST", "/v1/payments", payment_body()))
    assert response.status == 201
    assert response.body == encode_json(payment_json(payment_row()))
    assert script.yielded(CachePut)[0].body == response.body


@pytest.mark.parametrize("confirm", [False, True])
def test_create_for_a_taken_order_id_is_409_and_charges_nothing(confirm: bool) -> None:
    """The INSERT's ON CONFLICT answering no row means the order id is taken: 409, with no
    gateway call and no cache write, with or without ``confirm``."""
    insert = sql.INSERT_PAYMENT_WITH_ATTEMPT if confirm else sql.INSERT_PAYMENT
    script = Script().query(insert, insert_args(attempt=confirm), returns=None)
    response = script.run(request(context(), "POST", "/v1/payments",
                                  payment_body(confirm=confirm)))  # fmt: skip
    assert response.status == 409
    assert answer(response)["code"] == "duplicate_order_id"


BAD_CREATES: list[tuple[Any, str]] = [
    (payment_body(amount=-100), "invalid_request"),
    (payment_body(amount=100.5), "invalid_request"),
    (payment_body(amount="100"), "invalid_request"),
    (payment_body(currency="XYZ"), "unsupported_currency"),
    ({"amount": 100}, "invalid_request"),
    (payment_body(gateway="nope"), "invalid_request"),
    (b"{not json", "invalid_json"),
]


@pytest.mark.parametrize(("body", "code"), BAD_CREATES)
def test_bad_input_is_refused_before_any_effect(body: Any, code: str) -> None:
    """A bad body gets 400 {error, code} without a single effect: no row, no idempotency key."""
    flow = request(context(), "POST", "/v1/payments", body, key="idem_bad")
    response = Script().run(flow)
    assert response.status == 400
    assert answer(response)["code"] == code
    assert set(answer(response)) == {"error", "code"}


# -- authentication ----------------------------------------------------------------


def test_merchant_is_looked_up_once_then_cached_until_its_ttl() -> None:
    """The API key's merchant is read once, served from the cache for 30 s, then read again."""
    clock = ManualClock()
    ctx = context(clock, signed_in=False)
    lookup = (sql.MERCHANT_BY_KEY_HASH, (hash_api_key(API_KEY),))
    by_order = (sql.GET_PAYMENT_BY_ORDER, (MID, "ord_1"))
    Script().query(*lookup, returns=MERCHANT_ROW).query(*by_order).run(
        request(ctx, "GET", "/v1/payments?order_id=ord_1"))  # fmt: skip
    clock.advance(29)
    Script().query(*by_order).run(request(ctx, "GET", "/v1/payments?order_id=ord_1"))
    clock.advance(2)
    Script().query(*lookup, returns=MERCHANT_ROW).query(*by_order).run(
        request(ctx, "GET", "/v1/payments?order_id=ord_1"))  # fmt: skip


def test_unknown_api_key_is_401_after_the_lookup() -> None:
    """A key no merchant has is 401 unauthorized, and nothing else is asked."""
    script = Script().query(sql.MERCHANT_BY_KEY_HASH, returns=None)
    response = script.run(request(context(signed_in=False), "POST", "/v1/payments",
                                  payment_body()))  # fmt: skip
    assert response.status == 401
    assert answer(response)["code"] == "unauthorized"


@pytest.mark.parametrize("authorization", [None, "Bearer key_live_flows", "Basic !!!"])
def test_missing_or_malformed_credentials_are_401_without_any_effect(
    authorization: str | None,
) -> None:
    """No credentials, another scheme or undecodable Basic: 401 before any lookup."""
    flow = request(context(signed_in=False), "POST", "/v1/payments", payment_body(),
                   authorization=authorization)  # fmt: skip
    response = Script().run(flow)
    assert response.status == 401


# -- create and confirm ------------------------------------------------------------


def test_create_and_confirm_charges_and_settles_succeeded() -> None:
    """Insert already processing with its attempt, /orders then /txns, settle succeeded: 201."""
    settled = confirmed(status="succeeded", gateway_txn_id="txn_1")
    script = charge_script(juspay_txn("CHARGED"),
                           settle_args("succeeded", "txn_1", "CHARGED", final="succeeded"),
                           settled)  # fmt: skip
    response = script.run(request(context(), "POST", "/v1/payments",
                                  payment_body(confirm=True)))  # fmt: skip
    assert response.status == 201
    assert answer(response)["status"] == "succeeded"
    assert answer(response)["attempt_id"] == ATT


def test_declined_charge_settles_failed_with_the_gateway_code() -> None:
    """A declined transaction settles the attempt and the payment failed with the bank's code."""
    reply = juspay_txn("AUTHORIZATION_FAILED", bank_error_code="NOT_SUFFICIENT_FUNDS",
                       bank_error_message="insufficient funds")  # fmt: skip
    settle = settle_args("failed", "txn_1", "AUTHORIZATION_FAILED", code="NOT_SUFFICIENT_FUNDS",
                         message="insufficient funds", final="failed")  # fmt: skip
    settled = confirmed(status="failed", failure_code="NOT_SUFFICIENT_FUNDS")
    response = charge_script(reply, settle, settled).run(
        request(context(), "POST", "/v1/payments", payment_body(confirm=True)))  # fmt: skip
    assert response.status == 201
    assert answer(response)["status"] == "failed"
    assert answer(response)["failure_code"] == "NOT_SUFFICIENT_FUNDS"


def test_pending_charge_leaves_the_payment_processing() -> None:
    """A pending transaction (3DS) records the attempt pending and no final state."""
    settle = settle_args("pending", "txn_1", "PENDING_VBV")
    response = charge_script(juspay_txn("PENDING_VBV"), settle, confirmed(status="processing")
                             ).run(request(context(), "POST", "/v1/payments",
                                           payment_body(confirm=True)))  # fmt: skip
    assert answer(response)["status"] == "processing"


@pytest.mark.parametrize(
    ("reply", "code", "message"),
    [
        (TIMEOUT, "gateway_timeout", "read timed out"),
        (HttpResponse(502, {}, b"bad gateway"), "gateway_server_error", "bad gateway"),
        (HttpResponse(429, {}, b"slow down"), "gateway_rate_limited", "slow down"),
    ],
)
def test_timeout_or_5xx_on_the_charge_leaves_the_attempt_unknown(
    reply: Any, code: str, message: str
) -> None:
    """A reply that says nothing (timeout, 5xx, 429) records the attempt unknown, never failed:
    the payment stays processing until the gateway's status says otherwise."""
    settle = settle_args("unknown", code=code, message=message)
    script = charge_script(reply, settle, confirmed(status="processing"))
    response = script.run(request(context(), "POST", "/v1/payments",
                                  payment_body(confirm=True)))  # fmt: skip
    assert response.status == 201
    assert answer(response)["status"] == "processing"


def test_refused_connection_fails_the_charge_cleanly() -> None:
    """A connection refused before /orders was sent charged nothing: the attempt fails."""
    settle = settle_args("failed", code="gateway_connect", message="connection refused",
                         final="failed")  # fmt: skip
    settled = confirmed(status="failed", failure_code="gateway_connect")
    script = (
        Script()
        .query(sql.INSERT_PAYMENT_WITH_ATTEMPT, insert_args(attempt=True), returns=PROCESSING)
        .http("POST", "/orders", REFUSED)
        .query(sql.SETTLE_ATTEMPT, settle, returns=settled)
        .cache_put(CACHE_KEY, version=3)
    )
    response = script.run(request(context(), "POST", "/v1/payments",
                                  payment_body(confirm=True)))  # fmt: skip
    assert answer(response)["status"] == "failed"


def test_attempt_settled_first_by_someone_else_is_read_back() -> None:
    """When the settle's compare-and-set finds the attempt settled (a webhook won the race),
    the flow reads the payment as it now is and answers that."""
    by_webhook = confirmed(status="succeeded", gateway_txn_id="txn_1", version=4)
    script = (
        Script()
        .query(sql.INSERT_PAYMENT_WITH_ATTEMPT, returns=PROCESSING)
        .http("POST", "/orders", juspay_order("NEW"))
        .http("POST", "/txns", TIMEOUT)
        .query(sql.SETTLE_ATTEMPT, returns=None)
        .query(sql.GET_PAYMENT, (PAY, MID), returns=by_webhook)
        .cache_put(CACHE_KEY, version=4)
    )
    response = script.run(request(context(), "POST", "/v1/payments",
                                  payment_body(confirm=True)))  # fmt: skip
    assert answer(response)["status"] == "succeeded"


def test_paytm_charge_is_initiate_then_process_stamped_by_the_context_clock() -> None:
    """Through Paytm: initiateTransaction, processTransaction with its token, both stamped
    with the context's wall clock; settled with Paytm's transaction id and code."""
    clock = ManualClock(wall=1_767_000_000.25)
    processing = {**PROCESSING, "gateway": "paytm"}
    process_reply = paytm({
        "resultInfo": {"resultStatus": "S", "resultCode": "0000", "resultMsg": "ok"},
        "txnInfo": {"STATUS": "TXN_SUCCESS", "RESPCODE": "01", "RESPMSG": "ok",
                    "TXNID": "ptm_txn_1", "TXNAMOUNT": "100.00", "CURRENCY": "INR"},
    })  # fmt: skip
    settle = settle_args("succeeded", "ptm_txn_1", "01", final="succeeded")
    script = (
        Script()
        .query(sql.INSERT_PAYMENT_WITH_ATTEMPT, insert_args(attempt=True, gateway="paytm"),
               returns=processing)
        .http("POST", paytm_protocol.INITIATE_PATH, paytm_result("S", "0000", txnToken="tok_1"),
              gateway="paytm")
        .http("POST", paytm_protocol.PROCESS_PATH, process_reply, gateway="paytm")
        .query(sql.SETTLE_ATTEMPT, settle,
               returns=confirmed(status="succeeded", gateway="paytm"))
        .cache_put(CACHE_KEY, version=3)
    )
    response = script.run(request(context(clock), "POST", "/v1/payments",
                                  payment_body(gateway="paytm", confirm=True)))  # fmt: skip
    assert answer(response)["status"] == "succeeded"
    initiate, process = (json.loads(sent.body) for sent in script.yielded(HttpRequest))
    assert initiate["head"]["requestTimestamp"] == "1767000000250"
    assert process["head"]["requestTimestamp"] == "1767000000250"
    assert process["head"]["txnToken"] == "tok_1"
    assert initiate["body"]["orderId"] == ATT


# -- confirm -----------------------------------------------------------------------


CONFIRM = f"/v1/payments/{PAY}/confirm"


def confirm_context() -> Any:
    """A confirm's first id is its attempt's: counting from 2 makes that ``ATT``."""
    return context(first_id=2)


def test_confirm_of_a_created_payment_begins_an_attempt_and_charges() -> None:
    """created: BEGIN_ATTEMPT (created -> processing with a new attempt), charge, settle: 200."""
    settled = confirmed(status="succeeded", gateway_txn_id="txn_1")
    script = (
        Script()
        .query(sql.GET_PAYMENT, (PAY, MID), returns=payment_row())
        .query(sql.BEGIN_ATTEMPT, (PAY, MID, ATT), returns=PROCESSING)
        .http("POST", "/orders", juspay_order("NEW"))
        .http("POST", "/txns", juspay_txn("CHARGED"))
        .query(sql.SETTLE_ATTEMPT, settle_args("succeeded", "txn_1", "CHARGED",
                                               final="succeeded"), returns=settled)
        .cache_put(CACHE_KEY, version=3)
    )
    response = script.run(request(confirm_context(), "POST", CONFIRM))
    assert response.status == 200
    assert answer(response)["status"] == "succeeded"


def test_confirm_losing_the_race_to_begin_is_409_without_a_charge() -> None:
    """If another request began an attempt first, this confirm charges nothing: 409."""
    script = (
        Script()
        .query(sql.GET_PAYMENT, returns=payment_row())
        .query(sql.BEGIN_ATTEMPT, returns=None)
        .query(sql.GET_PAYMENT, returns=PROCESSING)
    )
    response = script.run(request(confirm_context(), "POST", CONFIRM))
    assert response.status == 409
    assert answer(response)["code"] == "invalid_state"


def test_confirm_retry_of_an_unknown_attempt_asks_the_status_before_anything() -> None:
    """processing with an unknown attempt: the retry reads the gateway's status of that
    attempt (no new attempt, no second charge) and settles from it."""
    settled = confirmed(status="succeeded", gateway_txn_id="txn_1")
    script = (
        Script()
        .query(sql.GET_PAYMENT, (PAY, MID), returns=PROCESSING)
        .query(sql.GET_ATTEMPT, (ATT,), returns=attempt_row())
        .http("GET", f"/orders/{ATT}", juspay_order("CHARGED", txn_id="txn_1"), kind="status")
        .query(sql.SETTLE_ATTEMPT, settle_args("succeeded", "txn_1", "CHARGED",
                                               final="succeeded"), returns=settled)
        .cache_put(CACHE_KEY, version=3)
    )
    response = script.run(request(context(), "POST", CONFIRM))
    assert response.status == 200
    assert answer(response)["attempt_id"] == ATT


@pytest.mark.parametrize("attempt", [attempt_row(status="succeeded"), None])
def test_confirm_of_a_processing_payment_with_a_settled_attempt_asks_nothing(
    attempt: dict[str, Any] | None,
) -> None:
    """processing whose attempt is already settled (or gone): no gateway call, the payment
    as it is (an attempt pending at the gateway is asked about: see above)."""
    script = (
        Script()
        .query(sql.GET_PAYMENT, returns=PROCESSING)
        .query(sql.GET_ATTEMPT, returns=attempt)
        .cache_put(CACHE_KEY, version=2)
    )
    assert script.run(request(context(), "POST", CONFIRM)).status == 200


@pytest.mark.parametrize("status", ["succeeded", "failed", "refunded"])
def test_confirm_of_a_settled_payment_is_409(status: str) -> None:
    """A payment past processing cannot be confirmed: 409 invalid_state, nothing written."""
    script = Script().query(sql.GET_PAYMENT, returns=payment_row(status=status))
    response = script.run(request(context(), "POST", CONFIRM))
    assert response.status == 409
    assert answer(response)["code"] == "invalid_state"


def test_confirm_of_another_merchants_payment_is_404() -> None:
    """GET_PAYMENT is scoped by merchant: no row is 404 not_found, never 403."""
    script = Script().query(sql.GET_PAYMENT, (PAY, MID), returns=None)
    assert script.run(request(context(), "POST", CONFIRM)).status == 404


def test_confirm_with_a_body_is_400_without_any_effect() -> None:
    """Confirm takes no body: any is refused before anything is read."""
    response = Script().run(request(context(), "POST", CONFIRM, {"amount": 1}))
    assert response.status == 400


# -- status checks: the gateway holds no payment -----------------------------------


@pytest.mark.parametrize(
    ("reply", "gateway_status"),
    [
        (juspay({"error_code": "not_found"}, status=404), "NOT_FOUND"),
        (juspay_order("NEW"), "NEW"),  # the order exists but nothing paid it
    ],
)
@pytest.mark.parametrize(("age_s", "old"), [(3.9, False), (4.1, True)])
def test_attempt_the_gateway_never_saw_fails_only_after_twice_the_timeout(
    reply: HttpResponse, gateway_status: str, age_s: float, old: bool
) -> None:
    """No record (or an order without a payment) is believed only once the attempt is older
    than twice the gateway timeout (2 s here): before, the charge may still be on its way."""
    if old:
        settle = settle_args("failed", None, gateway_status, code="gateway_no_record",
                             message="the gateway has no record of this charge", final="failed")
    else:
        settle = settle_args("unknown", None, gateway_status)
    script = (
        Script()
        .query(sql.GET_PAYMENT, returns=PROCESSING)
        .query(sql.GET_ATTEMPT, returns=attempt_row(age_s=age_s))
        .http("GET", f"/orders/{ATT}", reply)
        .query(sql.SETTLE_ATTEMPT, settle, returns=PROCESSING)
        .cache_put(CACHE_KEY)
    )
    script.run(request(context(), "POST", CONFIRM))


# -- read, list --------------------------------------------------------------------


def test_read_is_served_from_the_cache_without_sql() -> None:
    """A cached ``<version>|<body>`` is answered as its body; PostgreSQL is not asked."""
    body = encode_json(payment_json(PROCESSING))
    script = Script().cache_get(CACHE_KEY, returns=b"2|" + body)
    response = script.run(request(context(), "GET", f"/v1/payments/{PAY}"))
    assert (response.status, response.body) == (200, body)


def test_read_miss_loads_the_row_and_writes_it_back_with_its_version() -> None:
    """A miss (or Redis down) reads PostgreSQL and writes the body back under the row version."""
    script = (
        Script()
        .cache_get(CACHE_KEY, returns=None)
        .query(sql.GET_PAYMENT, (PAY, MID), returns=PROCESSING)
        .cache_put(CACHE_KEY, version=2, ttl_s=300)
    )
    response = script.run(request(context(), "GET", f"/v1/payments/{PAY}"))
    assert response.body == encode_json(payment_json(PROCESSING))


def test_read_of_an_unknown_payment_is_404_and_caches_nothing() -> None:
    """No row: 404 not_found, and no cache write."""
    script = Script().cache_get(returns=None).query(sql.GET_PAYMENT, returns=None)
    response = script.run(request(context(), "GET", f"/v1/payments/{PAY}"))
    assert response.status == 404


@pytest.mark.parametrize("row", [payment_row(), None])
def test_list_by_order_id_answers_a_list_of_zero_or_one(row: dict[str, Any] | None) -> None:
    """``?order_id=`` reads the merchant's payment for the order: a list of it, or empty."""
    script = Script().query(sql.GET_PAYMENT_BY_ORDER, (MID, "ord_1"), returns=row)
    response = script.run(request(context(), "GET", "/v1/payments?order_id=ord_1"))
    assert len(answer(response)["data"]) == (row is not None)


# -- sync --------------------------------------------------------------------------


def test_sync_settles_an_unknown_attempt_then_the_payments_refunds() -> None:
    """sync asks the status of an unsettled attempt, then of each unsettled refund, and
    answers the payment re-read after the refunds settled."""
    refunded = confirmed(status="refunded", amount_refunded=10000, version=5)
    script = (
        Script()
        .query(sql.GET_PAYMENT, (PAY, MID), returns=PROCESSING)
        .query(sql.GET_ATTEMPT, (ATT,), returns=attempt_row())
        .http("GET", f"/orders/{ATT}", TIMEOUT, kind="status")
        .query(sql.SETTLE_ATTEMPT, settle_args("unknown", code="gateway_timeout",
                                               message="read timed out"),
               returns=PROCESSING)
        .query(sql.UNSETTLED_REFUNDS_OF_PAYMENT, (PAY,), fetch="all",
               returns=[refund_row(RE, amount=10000)])
        .query(sql.GET_PAYMENT, returns=PROCESSING)
        .http("GET", f"/orders/{ATT}", juspay_refunded(RE, "SUCCESS"), kind="status")
        .query(sql.SETTLE_REFUND, (RE, "succeeded", "rfnd_1", None, None),
               returns=refund_row(RE, status="succeeded"))
        .query(sql.GET_PAYMENT, returns=refunded)
        .cache_put(CACHE_KEY, version=5)
        .query(sql.GET_PAYMENT, returns=refunded)
        .cache_put(CACHE_KEY, version=5)
    )
    response = script.run(request(context(), "POST", f"/v1/payments/{PAY}/sync"))
    assert answer(response)["status"] == "refunded"


@pytest.mark.parametrize(
    ("gateway", "method", "path", "reply", "settle"),
    [
        ("juspay", "GET", f"/orders/{ATT}",
         juspay_order("AUTHORIZATION_FAILED", txn_id="txn_1", bank_error_code="BANK_DECLINED",
                      bank_error_message="declined"),
         settle_args("failed", "txn_1", "AUTHORIZATION_FAILED", code="BANK_DECLINED",
                     message="declined", final="failed")),
        ("juspay", "GET", f"/orders/{ATT}", juspay_order("CHARGED", txn_id="txn_1"),
         settle_args("succeeded", "txn_1", "CHARGED", final="succeeded")),
        ("paytm", "POST", paytm_protocol.ORDER_STATUS_PATH,
         paytm_result("TXN_FAILURE", "227", TXNID="ptm_txn_1"),
         settle_args("failed", "ptm_txn_1", "227", code="227", message="m", final="failed")),
        ("paytm", "POST", paytm_protocol.ORDER_STATUS_PATH,
         paytm_result("TXN_SUCCESS", "01", TXNID="ptm_txn_1"),
         settle_args("succeeded", "ptm_txn_1", "01", final="succeeded")),
    ],
)  # fmt: skip
def test_sync_settles_an_unknown_attempt_from_the_gateways_status(
    gateway: str, method: str, path: str, reply: HttpResponse, settle: tuple[Any, ...]
) -> None:
    """An attempt left unknown (a timeout, a 5xx) is settled by what the gateway's status API
    says, failed as well as succeeded; never by a second charge."""
    status = settle[2]
    script = (
        Script()
        .query(sql.GET_PAYMENT, returns={**PROCESSING, "gateway": gateway})
        .query(sql.GET_ATTEMPT, (ATT,), returns=attempt_row(gateway=gateway))
        .http(method, path, reply, kind="status", gateway=gateway)
        .query(sql.SETTLE_ATTEMPT, settle, returns=confirmed(status=status))
        .query(sql.UNSETTLED_REFUNDS_OF_PAYMENT, fetch="all", returns=[])
        .cache_put(CACHE_KEY, version=3)
    )
    response = script.run(request(context(), "POST", f"/v1/payments/{PAY}/sync"))
    assert answer(response)["status"] == status


def test_sync_of_a_settled_payment_without_refunds_calls_no_gateway() -> None:
    """A settled payment with nothing unsettled: two reads and the cache write, no call."""
    settled = confirmed(status="succeeded")
    script = (
        Script()
        .query(sql.GET_PAYMENT, returns=settled)
        .query(sql.UNSETTLED_REFUNDS_OF_PAYMENT, fetch="all", returns=[])
        .cache_put(CACHE_KEY, version=3)
    )
    assert script.run(request(context(), "POST", f"/v1/payments/{PAY}/sync")).status == 200
