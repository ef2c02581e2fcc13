"""Wire-level behaviour of the simulator process: auth, bodies, codes, checksums, bounds."""

from __future__ import annotations

import json

import httpx
import paytmchecksum
from sim_helpers import PAYTM_KEY, drive, unique

from gateway_sim.admin_client import GatewayAdmin
from gateway_sim.hooks import ChargePlan, RefundResult
from gateway_sim.paytm_wire import notification
from gateway_sim.state import Merchant, Order, OrderState, Refund, RefundState
from payments.gateways import (
    charge_flow,
    checksum,
    juspay,
    paytm,
    paytm_envelope,
    paytm_webhooks,
    refund_flow,
)
from payments.gateways.base import (
    ChargeRequest,
    GatewayCredentials,
    GatewayName,
    RefundRequest,
    RefundStatus,
)
from payments.gateways.wire import basic_auth, decode_form


def juspay_headers(creds: GatewayCredentials) -> dict[str, str]:
    return juspay.headers(creds)


def test_juspay_unknown_key_and_wrong_merchant_are_401(
    client: httpx.Client, juspay_creds: GatewayCredentials
) -> None:
    """Unknown API keys and a mismatching x-merchantid get Juspay's 401 access_denied."""
    body = {"order_id": unique("o"), "amount": "1.00"}
    bad_key = {**juspay_headers(juspay_creds), "Authorization": basic_auth("nope", "")}
    resp = client.post("/orders", data=body, headers=bad_key)
    assert resp.status_code == 401
    assert resp.json()["error_code"] == "access_denied"
    wrong_mid = {**juspay_headers(juspay_creds), "x-merchantid": "someone_else"}
    assert client.post("/orders", data=body, headers=wrong_mid).status_code == 401
    assert client.get("/orders/x").status_code == 401


def test_juspay_order_body_validation_and_duplicates(
    client: httpx.Client, juspay_creds: GatewayCredentials
) -> None:
    """Orders need a valid id and decimal amount; a repeated order id is rejected."""
    headers = juspay_headers(juspay_creds)
    order_id = unique("o")
    first = client.post("/orders", data={"order_id": order_id, "amount": "10.50"}, headers=headers)
    assert first.status_code == 200
    assert (first.json()["status"], first.json()["status_id"]) == ("NEW", 10)
    dup = client.post("/orders", data={"order_id": order_id, "amount": "10.50"}, headers=headers)
    assert (dup.status_code, dup.json()["error_code"]) == (400, "duplicate_order_id")
    bad_amount = {"order_id": unique("o"), "amount": "10.505"}
    assert client.post("/orders", data=bad_amount, headers=headers).status_code == 400
    bad_id = {"order_id": "has space", "amount": "1.00"}
    assert client.post("/orders", data=bad_id, headers=headers).status_code == 400
    status = client.get(f"/orders/{order_id}", headers=headers).json()
    assert (status["status"], status["amount"], status["currency"]) == ("NEW", 10.5, "INR")


def test_juspay_refunds_are_bounded_and_deduplicated(
    client: httpx.Client, juspay_creds: GatewayCredentials
) -> None:
    """Refunds beyond the charge are refused; a repeated unique_request_id is one refund."""
    attempt = unique("att_")
    drive(client, charge_flow(juspay_creds, ChargeRequest(attempt, 10_000, "INR", "card")))
    headers = juspay_headers(juspay_creds)
    path = f"/orders/{attempt}/refunds"
    r1 = client.post(path, data={"unique_request_id": "u1", "amount": "60.00"}, headers=headers)
    r1_again = client.post(
        path, data={"unique_request_id": "u1", "amount": "60.00"}, headers=headers
    )
    assert r1.status_code == r1_again.status_code == 200
    assert len(r1_again.json()["refunds"]) == 1
    over = client.post(path, data={"unique_request_id": "u2", "amount": "40.01"}, headers=headers)
    assert (over.status_code, over.json()["error_code"]) == (400, "invalid_refund_amount")
    mismatch = client.post(
        path, data={"unique_request_id": "u1", "amount": "1.00"}, headers=headers
    )
    assert mismatch.status_code == 400


def paytm_post(client: httpx.Client, path: str, body: dict[str, object]) -> dict[str, object]:
    """Sign with Paytm's own package, spaced JSON: the server must use the exact text."""
    text = json.dumps(body, indent=1)
    signature = paytmchecksum.generateSignature(text, PAYTM_KEY)
    raw = f'{{"head": {{"signature": "{signature}"}}, "body": {text}}}'
    resp = client.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert resp.status_code == 200
    text_reply = resp.text
    body_text = paytm_envelope.raw_member(text_reply, "body")
    assert body_text is not None
    doc = json.loads(text_reply)
    # The reply's signature verifies with Paytm's package too.
    assert paytmchecksum.verifySignature(body_text, PAYTM_KEY, doc["head"]["signature"])
    result: dict[str, object] = doc["body"]
    return result


def result_code(body: dict[str, object]) -> str:
    info = body["resultInfo"]
    assert isinstance(info, dict)
    return str(info["resultCode"])


def test_paytm_accepts_paytmchecksum_signatures_and_rejects_bad_ones(
    client: httpx.Client, paytm_creds: GatewayCredentials
) -> None:
    """A paytmchecksum-signed initiate succeeds; a wrong signature or MID gets 330."""
    order_id = unique("p")
    body = {
        "requestType": "Payment",
        "mid": paytm_creds.merchant_id,
        "websiteName": "DEFAULT",
        "orderId": order_id,
        "txnAmount": {"value": "12.00", "currency": "INR"},
        "userInfo": {"custId": "c1"},
    }
    ok = paytm_post(client, paytm.INITIATE_PATH, body)
    assert result_code(ok) == "0000"
    assert ok["txnToken"]
    again = paytm_post(client, paytm.INITIATE_PATH, body)
    assert result_code(again) == "0002"
    forged = json.dumps({**body, "orderId": unique("p")})
    bad_signature = paytmchecksum.generateSignature(forged + " ", PAYTM_KEY)
    raw = f'{{"head":{{"signature":"{bad_signature}"}},"body":{forged}}}'
    resp = client.post(paytm.INITIATE_PATH, content=raw).json()
    assert resp["body"]["resultInfo"]["resultCode"] == "330"
    stranger = paytm.status_request(
        GatewayCredentials(paytm_creds.gateway, "UNKNOWNMID", PAYTM_KEY), order_id
    )
    resp = client.post(stranger.path, content=stranger.body).json()
    assert resp["body"]["resultInfo"]["resultCode"] == "330"


def test_paytm_refund_codes(client: httpx.Client, paytm_creds: GatewayCredentials) -> None:
    """Async refund answers 601; a duplicate refId is 617; an over-refund 619."""
    attempt = unique("att_")
    outcome, _ = drive(
        client, charge_flow(paytm_creds, ChargeRequest(attempt, 10_000, "INR", "card"))
    )
    base = {
        "mid": paytm_creds.merchant_id,
        "txnType": "REFUND",
        "orderId": attempt,
        "txnId": outcome.gateway_txn_id,
    }
    first = paytm_post(client, paytm.REFUND_PATH, {**base, "refId": "r1", "refundAmount": "70.00"})
    assert result_code(first) == "601"
    dup = paytm_post(client, paytm.REFUND_PATH, {**base, "refId": "r1", "refundAmount": "70.00"})
    assert result_code(dup) == "617"
    over = paytm_post(client, paytm.REFUND_PATH, {**base, "refId": "r2", "refundAmount": "30.01"})
    assert result_code(over) == "619"
    rest = paytm_post(client, paytm.REFUND_PATH, {**base, "refId": "r3", "refundAmount": "30.00"})
    assert result_code(rest) == "601"
    status = paytm_post(
        client,
        paytm.REFUND_STATUS_PATH,
        {"mid": paytm_creds.merchant_id, "orderId": attempt, "refId": "r1"},
    )
    assert result_code(status) in ("601", "10")


def test_ledger_shows_duplicate_charges_of_one_payment(
    client: httpx.Client, admin: GatewayAdmin, creds: GatewayCredentials
) -> None:
    """Two charged attempts with the same reference appear under duplicate_charges."""
    reference = unique("pay_")
    for _ in range(2):
        req = ChargeRequest(unique("att_"), 7_700, "INR", "card", reference=reference)
        drive(client, charge_flow(creds, req))
    ledger = admin.ledger(creds.merchant_id)
    dups = [d for d in ledger["summary"]["duplicate_charges"] if d["reference"] == reference]
    assert len(dups) == 1
    assert len(dups[0]["order_ids"]) == 2
    entry = next(e for e in ledger["entries"] if e["reference"] == reference)
    assert {k: entry[k] for k in ("gateway", "kind", "amount", "currency")} == {
        "gateway": creds.gateway.value,
        "kind": "charge",
        "amount": 7_700,
        "currency": "INR",
    }


def test_refund_request_for_unknown_order_fails(
    client: httpx.Client, creds: GatewayCredentials
) -> None:
    """A refund for an order the gateway never saw is refused and not in the ledger."""
    req = RefundRequest(unique("rf_"), unique("att_"), None, 100, "INR")
    outcome, _ = drive(client, refund_flow(creds, req))
    assert outcome.status is RefundStatus.FAILED


def test_paytm_callbacks_carry_exactly_the_documented_fields() -> None:
    """The simulator's charge and refund callbacks hold the fields paytm_webhooks names."""
    merchant = Merchant(GatewayName.PAYTM, "mid_1", PAYTM_KEY)
    order = Order(GatewayName.PAYTM, "mid_1", "att1", 1050, "INR", ChargePlan(),
                  state=OrderState.CHARGED, txn_id="T" * 20, payment_method="card")  # fmt: skip
    refund = Refund("R1", "rf_1", 500, RefundResult.SUCCESS, state=RefundState.SUCCEEDED)
    charge = decode_form(notification(merchant, order).body)
    assert set(charge) == {*paytm_webhooks.WEBHOOK_FIELDS, checksum.CHECKSUM_FIELD}
    refunded = decode_form(notification(merchant, order, refund).body)
    assert set(refunded) == {*paytm_webhooks.REFUND_WEBHOOK_FIELDS, checksum.CHECKSUM_FIELD}
    event = paytm_webhooks.parse_webhook(notification(merchant, order, refund).body)
    assert (event.kind, event.refund_id) == ("refund", "rf_1")
