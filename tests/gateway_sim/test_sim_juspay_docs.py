"""Juspay as documented: the order object, /txns without credentials and 3DS, older paths."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sim_helpers import drive, unique

from gateway_sim.admin_client import AdminError, GatewayAdmin
from gateway_sim.juspay_wire import ORDER_FIELDS, TXN_FIELDS
from payments.gateways import charge_flow, juspay, juspay_webhooks
from payments.gateways.base import AttemptStatus, ChargeRequest, GatewayCredentials, GatewayName

RETURN_URL = "https://shop.example/return?cart=7"
RESPONSE_KEY = "resp_key_for_tests"


class Hooks(ThreadingHTTPServer):
    """Collects webhook bodies; answers 200."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HookHandler)
        self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def events(self, order_id: str, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            found = [b for b in self.bodies if b["content"]["order"]["order_id"] == order_id]
            if len(found) >= count:
                return found
            time.sleep(0.02)
        return [b for b in self.bodies if b["content"]["order"]["order_id"] == order_id]


class _HookHandler(BaseHTTPRequestHandler):
    server: Hooks

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        return


@pytest.fixture(scope="module")
def hooks() -> Iterator[Hooks]:
    server = Hooks()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def merchant(admin: GatewayAdmin, hooks: Hooks) -> GatewayCredentials:
    """A Juspay merchant with webhooks and its own response key."""
    creds = GatewayCredentials(GatewayName.JUSPAY, unique("jm_"), unique("jkey_"))
    admin.add_merchant(
        {"gateway": "juspay", "merchant_id": creds.merchant_id, "api_key": creds.api_key,
         "webhook_url": hooks.url, "webhook_username": "u", "webhook_password": "p",
         "response_key": RESPONSE_KEY},
    )  # fmt: skip
    return creds


def create_order(client: httpx.Client, creds: GatewayCredentials, amount: str) -> str:
    order_id = unique("o")
    form = {
        "order_id": order_id,
        "amount": amount,
        "customer_id": "c1",
        "customer_email": "c1@example.com",
        "return_url": RETURN_URL,
        "udf2": "two",
    }
    resp = client.post("/orders", data=form, headers=juspay.headers(creds))
    assert resp.status_code == 200
    doc = resp.json()
    assert (doc["status"], doc["order_id"]) == ("NEW", order_id)
    assert set(doc["payment_links"]) == {"web", "mobile", "iframe"}
    return order_id


def card_txn(creds: GatewayCredentials, order_id: str, **extra: str) -> dict[str, str]:
    """A client-side card /txns form, as Juspay documents it (no API key)."""
    return {"order_id": order_id, "merchant_id": creds.merchant_id,
            "payment_method_type": "CARD", "payment_method": "VISA",
            "card_number": "4111111111111111", "card_exp_month": "12", "card_exp_year": "2032",
            "name_on_card": "Test", "card_security_code": "123",
            "redirect_after_payment": "true", **extra}  # fmt: skip


def order(client: httpx.Client, creds: GatewayCredentials, order_id: str) -> dict[str, Any]:
    resp = client.get(juspay.order_path(order_id), headers=juspay.headers(creds, form=False))
    assert resp.status_code == 200
    doc: dict[str, Any] = resp.json()
    return doc


def card_auth(admin: GatewayAdmin, mode: str) -> None:
    admin.set_profile({"juspay_card_auth": mode})


def ledger_of(admin: GatewayAdmin, order_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = admin.ledger()["entries"]
    return [e for e in entries if e["order_id"] == order_id]


def assert_order_object(doc: dict[str, Any], *, paid: bool) -> None:
    missing = [f for f in (*ORDER_FIELDS, *(TXN_FIELDS if paid else ())) if f not in doc]
    assert missing == []
    assert set(doc["payment_links"]) == {"web", "mobile", "iframe"}
    if paid:
        assert set(doc["txn_detail"]) >= {"txn_id", "order_id", "status", "txn_amount", "gateway"}
        assert set(doc["payment_gateway_response"]) >= {"resp_code", "rrn", "epg_txn_id"}


def test_order_object_has_the_documented_fields_in_every_state(
    client: httpx.Client, merchant: GatewayCredentials
) -> None:
    """NEW, CHARGED, refunded and FAILED orders all carry the documented order object."""
    new_id = create_order(client, merchant, "12.00")
    fresh = order(client, merchant, new_id)
    assert_order_object(fresh, paid=False)
    assert (fresh["customer_email"], fresh["return_url"], fresh["udf2"]) == (
        "c1@example.com", RETURN_URL, "two",
    )  # fmt: skip
    attempt = unique("att_")
    charged, _ = drive(client, charge_flow(merchant, ChargeRequest(attempt, 5_000, "INR", "card")))
    assert charged.status is AttemptStatus.SUCCEEDED
    paid = order(client, merchant, attempt)
    assert_order_object(paid, paid=True)
    assert paid["card"]["card_brand"] == "VISA"
    refund = client.post(
        juspay.order_path(attempt) + "/refunds",
        data={"unique_request_id": unique("r"), "amount": "10.00"},
        headers=juspay.headers(merchant),
    )
    assert refund.status_code == 200
    assert_order_object(refund.json(), paid=True)
    documented = {"id", "unique_request_id", "status", "amount", "sent_to_gateway", "created"}
    assert set(refund.json()["refunds"][0]) >= documented
    declined = unique("att_")
    drive(client, charge_flow(merchant, ChargeRequest(declined, 5_001, "INR", "card")))
    failed = order(client, merchant, declined)
    assert_order_object(failed, paid=True)
    assert (failed["status"], failed["bank_error_code"]) == ("AUTHORIZATION_FAILED", "05")


def test_webhooks_carry_the_documented_order_object(
    client: httpx.Client, merchant: GatewayCredentials, hooks: Hooks
) -> None:
    """The order inside every webhook (success, refund, failure) has the documented fields."""
    attempt = unique("att_")
    drive(client, charge_flow(merchant, ChargeRequest(attempt, 7_000, "INR", "card")))
    refund = {"unique_request_id": unique("r"), "amount": "20.00"}
    path = juspay.order_path(attempt) + "/refunds"
    assert client.post(path, data=refund, headers=juspay.headers(merchant)).status_code == 200
    declined = unique("att_")
    drive(client, charge_flow(merchant, ChargeRequest(declined, 7_001, "INR", "card")))
    events = [*hooks.events(attempt, 2), *hooks.events(declined, 1)]
    names = [e["event_name"] for e in events]
    assert names == ["ORDER_SUCCEEDED", "ORDER_REFUNDED", "ORDER_FAILED"]
    for event in events:
        assert_order_object(event["content"]["order"], paid=True)
    assert events[1]["content"]["refund"]["unique_request_id"] == refund["unique_request_id"]


def test_client_side_card_txn_is_pending_vbv_until_authenticated(
    client: httpx.Client, admin: GatewayAdmin, merchant: GatewayCredentials, hooks: Hooks
) -> None:
    """/txns without credentials: PENDING_VBV, then the authentication step charges it."""
    order_id = create_order(client, merchant, "20.00")
    resp = client.post("/txns", data=card_txn(merchant, order_id, format="json"))
    assert resp.status_code == 200
    txn = resp.json()
    assert (txn["status"], txn["status_id"]) == ("PENDING_VBV", 23)
    auth = txn["payment"]["authentication"]
    assert auth["method"] == "GET"
    assert order(client, merchant, order_id)["status"] == "PENDING_VBV"
    assert ledger_of(admin, order_id) == []  # nothing charged before authentication
    page = client.get(auth["url"], follow_redirects=False)
    assert page.status_code == 302
    location = urlsplit(page.headers["Location"])
    assert location._replace(query="").geturl() == RETURN_URL.split("?", maxsplit=1)[0]
    params = dict(parse_qsl(location.query))
    assert params["cart"] == "7"
    signed = {k: v for k, v in params.items() if k != "cart"}
    assert juspay_webhooks.verify_return_url(signed, RESPONSE_KEY)
    assert [params[k] for k in ("order_id", "status", "status_id")] == [order_id, "CHARGED", "21"]
    paid = order(client, merchant, order_id)
    assert paid["status"] == "CHARGED"
    assert_order_object(paid, paid=True)
    charges = [(e["kind"], e["amount"]) for e in ledger_of(admin, order_id)]
    assert charges == [("charge", 2_000)]
    assert [e["event_name"] for e in hooks.events(order_id, 1)] == ["ORDER_SUCCEEDED"]
    again = client.get(auth["url"], follow_redirects=False)
    assert again.status_code == 302  # a second visit changes nothing
    assert len(ledger_of(admin, order_id)) == 1


def test_txn_without_format_redirects_and_failed_authentication_fails(
    client: httpx.Client, merchant: GatewayCredentials
) -> None:
    """Without format=json /txns is a 302 to the authentication page; a failed 3DS is 26."""
    order_id = create_order(client, merchant, "30.00")
    resp = client.post("/txns", data=card_txn(merchant, order_id), follow_redirects=False)
    assert resp.status_code == 302
    auth_url = resp.headers["Location"]
    assert auth_url.startswith(str(client.base_url).rstrip("/") + "/v2/pay/start/")
    page = client.get(auth_url, params={"outcome": "failure"}, follow_redirects=False)
    assert page.status_code == 302
    failed = order(client, merchant, order_id)
    assert (failed["status"], failed["status_id"]) == ("AUTHENTICATION_FAILED", 26)


def test_declined_card_is_declined_at_authentication(
    client: httpx.Client, merchant: GatewayCredentials
) -> None:
    """A card planned to decline (amount ending 01) fails only after authentication."""
    order_id = create_order(client, merchant, "30.01")
    txn = client.post("/txns", data=card_txn(merchant, order_id, format="json")).json()
    assert txn["status"] == "PENDING_VBV"
    client.get(txn["payment"]["authentication"]["url"], follow_redirects=False)
    assert order(client, merchant, order_id)["status"] == "AUTHORIZATION_FAILED"


def test_txn_merchant_must_be_known_and_a_sent_key_valid(
    client: httpx.Client, merchant: GatewayCredentials
) -> None:
    """No merchant_id is 400, an unknown one 400, a wrong API key 401; all JSON."""
    order_id = create_order(client, merchant, "40.00")
    form = card_txn(merchant, order_id, format="json")
    no_mid = client.post("/txns", data={k: v for k, v in form.items() if k != "merchant_id"})
    assert (no_mid.status_code, no_mid.json()["error_code"]) == (400, "invalid_request")
    stranger = client.post("/txns", data={**form, "merchant_id": "nobody"})
    assert (stranger.status_code, stranger.json()["error_code"]) == (400, "invalid_merchant")
    bad_key = client.post("/txns", data=form, headers={"Authorization": "Basic bm9wZTo="})
    assert (bad_key.status_code, bad_key.json()["error_code"]) == (401, "access_denied")
    assert order(client, merchant, order_id)["status"] == "NEW"


def test_server_to_server_txn_charges_at_once_unless_three_ds_is_chosen(
    client: httpx.Client, admin: GatewayAdmin, merchant: GatewayCredentials
) -> None:
    """With the API key (as the services call it) a card charges at once; three_ds overrides."""
    direct, _ = drive(
        client, charge_flow(merchant, ChargeRequest(unique("att_"), 9_000, "INR", "card"))
    )
    assert direct.status is AttemptStatus.SUCCEEDED
    card_auth(admin, "three_ds")
    try:
        attempt = unique("att_")
        request = ChargeRequest(attempt, 9_000, "INR", "card")
        pending, _ = drive(client, charge_flow(merchant, request))
        assert pending.status is AttemptStatus.PENDING
        assert order(client, merchant, attempt)["status"] == "PENDING_VBV"
        card_auth(admin, "direct")
        order_id = create_order(client, merchant, "9.00")
        txn = client.post("/txns", data=card_txn(merchant, order_id, format="json")).json()
        assert txn["status"] == "CHARGED"
    finally:
        card_auth(admin, "auto")
    with pytest.raises(AdminError) as refused:
        admin.set_profile({"juspay_card_auth": "sometimes"})
    assert (refused.value.status, json.loads(refused.value.body)["code"]) == (400, "invalid_config")


def test_older_order_paths_are_aliases(client: httpx.Client, merchant: GatewayCredentials) -> None:
    """/order/create, /order/status and /order/refund work like /orders; others are JSON 404s."""
    headers = juspay.headers(merchant)
    order_id = unique("o")
    created = client.post("/order/create", data={"order_id": order_id, "amount": "15.00"},
                          headers=headers)  # fmt: skip
    assert created.status_code == 200
    assert "payment_links" in created.json()
    status = client.get("/order/status", params={"order_id": order_id}, headers=headers)
    assert status.status_code == 200
    assert_order_object(status.json(), paid=False)
    by_post = client.post("/order/status", data={"order_id": order_id}, headers=headers)
    assert by_post.json()["order_id"] == order_id
    attempt = unique("att_")
    drive(client, charge_flow(merchant, ChargeRequest(attempt, 3_000, "INR", "card")))
    form = {"order_id": attempt, "unique_request_id": "u1", "amount": "5.00"}
    refund = client.post("/order/refund", data=form, headers=headers)
    assert refund.status_code == 200
    assert_order_object(refund.json(), paid=True)
    assert refund.json()["refunds"][0]["unique_request_id"] == "u1"
    missing = client.get("/order/status", params={"order_id": "nope"}, headers=headers)
    assert (missing.status_code, missing.json()["status"]) == (404, "NOT_FOUND")
    for method, path in (("GET", "/order/list"), ("POST", "/order/update"),
                         ("GET", "/order/create")):  # fmt: skip
        resp = client.request(method, path, headers=headers)
        assert resp.status_code == 404
        assert resp.headers["Content-Type"].startswith("application/json")
        assert resp.json()["error_code"] == "endpoint_not_supported"
