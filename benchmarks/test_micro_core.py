"""Micro-benchmarks of the pure code both services run on every request.

The engine and the legacy service share ``payments/``: whatever it costs is
paid by both, so a regression here moves both targets of a load test and can
hide in a comparison. Each benchmark checks its result, so a fast wrong
answer fails instead of looking like an improvement.

    .venv/bin/pytest benchmarks/test_micro_core.py --benchmark-only --benchmark-autosave

(see benchmarks/README.md for comparing runs between commits).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from legacy_adapter.ports import to_pyformat
from payments import sql
from payments.auth import hash_api_key, parse_basic
from payments.gateways import checksum
from payments.idempotency import fingerprint
from payments.models import encode_json, payment_json
from payments.money import DEFAULT_CURRENCIES
from payments.states import PaymentStatus, can_transition, status_after_refund
from payments.validation import validate_create

CREATE_BODY = json.dumps(
    {
        "order_id": "ord_20261126_000123",
        "amount": 10050,
        "currency": "INR",
        "gateway": "juspay",
        "payment_method": "card",
        "confirm": True,
        "customer_id": "cust_42",
        "description": "Two coffees and a croissant",
        "metadata": {"cart": "c_981", "channel": "web", "campaign": "diwali"},
    }
).encode()

PAYTM_KEY = "kbzk1DSbJiV_O3p5"  # 16 bytes: AES-128, as Paytm's test merchant keys
PAYTM_BODY = json.dumps(
    {
        "requestType": "Payment",
        "mid": "PAYBENCH0000000001",
        "websiteName": "WEBSTAGING",
        "orderId": "att0123456789abcdef01",
        "callbackUrl": "http://127.0.0.1/v1/webhooks/paytm",
        "txnAmount": {"value": "100.50", "currency": "INR"},
        "userInfo": {"custId": "cust_42"},
    },
    separators=(",", ":"),
)
PAYTM_CALLBACK = {
    "MID": "PAYBENCH0000000001",
    "ORDERID": "att0123456789abcdef01",
    "TXNID": "20261126111212800110168123456789",
    "TXNAMOUNT": "100.50",
    "CURRENCY": "INR",
    "STATUS": "TXN_SUCCESS",
    "RESPCODE": "01",
    "RESPMSG": "Txn Success",
    "GATEWAYNAME": "HDFC",
    "BANKTXNID": "777001234567890",
    "BANKNAME": "HDFC Bank",
    "PAYMENTMODE": "CC",
    "TXNDATE": "2026-11-26 12:00:00.0",
}
NOW = datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC)
PAYMENT_ROW: dict[str, Any] = {
    "id": "pay_0123456789abcdef01234567",
    "merchant_id": "merchant_1",
    "order_id": "ord_20261126_000123",
    "amount": 10050,
    "currency": "INR",
    "gateway": "juspay",
    "payment_method": "card",
    "status": "partially_refunded",
    "amount_refunded": 2500,
    "attempt_id": "att0123456789abcdef01",
    "gateway_txn_id": "PAYBENCH-att0123456789abcdef01-1",
    "failure_code": None,
    "failure_message": None,
    "description": "Two coffees and a croissant",
    "customer_id": "cust_42",
    "metadata": '{"cart": "c_981", "channel": "web", "campaign": "diwali"}',  # jsonb as text
    "created_at": NOW,
    "updated_at": NOW,
    "version": 4,
}
API_KEY = "key_live_4f1c2b7a9e8d6c5b4a39281706f5e4d3"
AUTH_HEADER = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()


def test_validate_create(benchmark: BenchmarkFixture) -> None:
    """validate_create parses and checks a full POST /v1/payments body."""
    result = benchmark(validate_create, CREATE_BODY, DEFAULT_CURRENCIES)
    assert result.order_id == "ord_20261126_000123"
    assert result.amount == 10050
    assert result.confirm is True
    assert dict(result.metadata)["channel"] == "web"


def test_paytm_checksum_sign_body(benchmark: BenchmarkFixture) -> None:
    """generate_for_string signs a Paytm JSON body (SHA-256 + AES-CBC + base64)."""
    signature = benchmark(checksum.generate_for_string, PAYTM_BODY, PAYTM_KEY, lambda: "aB3x")
    assert len(signature) == 108
    assert checksum.verify_string(PAYTM_BODY, PAYTM_KEY, signature)


def test_paytm_checksum_verify_body(benchmark: BenchmarkFixture) -> None:
    """verify_string checks a Paytm body signature (decrypt + recompute)."""
    signature = checksum.generate_for_string(PAYTM_BODY, PAYTM_KEY)
    assert benchmark(checksum.verify_string, PAYTM_BODY, PAYTM_KEY, signature) is True
    assert not checksum.verify_string(PAYTM_BODY + " ", PAYTM_KEY, signature)


def test_paytm_checksum_verify_callback(benchmark: BenchmarkFixture) -> None:
    """verify_params checks a webhook's CHECKSUMHASH over its sorted form fields."""
    fields: dict[str, str | None] = dict(PAYTM_CALLBACK)
    signature = checksum.generate_for_params(fields, PAYTM_KEY)
    fields["CHECKSUMHASH"] = signature  # sent with the fields; the verifier skips it
    assert benchmark(checksum.verify_params, fields, PAYTM_KEY, signature) is True
    assert not checksum.verify_params({**fields, "STATUS": "TXN_FAILURE"}, PAYTM_KEY, signature)


def _every_transition() -> int:
    return sum(can_transition(a, b) for a in PaymentStatus for b in PaymentStatus)


def test_can_transition_table(benchmark: BenchmarkFixture) -> None:
    """can_transition over all 36 (from, to) pairs of the state machine."""
    # created->processing, processing->2, succeeded->2, partially_refunded->2
    assert benchmark(_every_transition) == 7


def _refund_statuses() -> list[PaymentStatus]:
    return [status_after_refund(10050, refunded) for refunded in (0, 1, 5025, 10049, 10050)]


def test_status_after_refund(benchmark: BenchmarkFixture) -> None:
    """status_after_refund for none, partial and full refunds of a payment."""
    assert benchmark(_refund_statuses) == [
        PaymentStatus.SUCCEEDED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    ]


def _encode_payment(row: dict[str, Any]) -> bytes:
    return encode_json(payment_json(row))


def test_payment_json_encode(benchmark: BenchmarkFixture) -> None:
    """payment_json + encode_json turn a database row into the response bytes."""
    body = benchmark(_encode_payment, PAYMENT_ROW)
    decoded = json.loads(body)
    assert decoded["id"] == PAYMENT_ROW["id"]
    assert decoded["metadata"] == {"cart": "c_981", "channel": "web", "campaign": "diwali"}
    assert decoded["created_at"] == "2026-11-26T12:00:00.123456Z"
    assert body.startswith(b'{"id":"pay_0123456789abcdef01234567","object":"payment"')


def _authenticate_header(header: str) -> str:
    user, _password = parse_basic(header)
    return hash_api_key(user)


def test_basic_auth_parse_and_hash(benchmark: BenchmarkFixture) -> None:
    """parse_basic + hash_api_key: what every request pays before the merchant cache."""
    assert benchmark(_authenticate_header, AUTH_HEADER) == hash_api_key(API_KEY)
    assert parse_basic(AUTH_HEADER) == (API_KEY, "")


def test_idempotency_fingerprint(benchmark: BenchmarkFixture) -> None:
    """fingerprint of a parsed create body (canonical JSON + SHA-256)."""
    params = json.loads(CREATE_BODY)
    digest = benchmark(fingerprint, "POST", "/v1/payments", params)
    assert len(digest) == 64
    assert digest == fingerprint("POST", "/v1/payments", dict(reversed(params.items())))


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "uncached"])
def test_sql_placeholder_rewrite(benchmark: BenchmarkFixture, cached: bool) -> None:
    """to_pyformat rewrites $n to %s for psycopg (services hit its cache; uncached is the work)."""
    rewrite = to_pyformat if cached else to_pyformat.__wrapped__
    statement, order = benchmark(rewrite, sql.SETTLE_ATTEMPT)
    assert "$" not in statement
    assert statement.count("%s") == len(order)
    assert sorted(set(order)) == list(range(8))
