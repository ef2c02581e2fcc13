"""What the fault, webhook and recovery tests need from outside the services.

The simulator's audit ledger and profile (its admin API), genuine gateway
webhooks built with the protocol code of ``payments.gateways`` and a
merchant's real credentials, and stopping/starting a stack's own servers.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import psutil

from gateway_sim.admin_client import GatewayAdmin
from payments.gateways import checksum, juspay, paytm, paytm_envelope
from payments.gateways.base import GatewayCredentials, GatewayName, HttpRequest
from payments.gateways.wire import FORM_TYPE, basic_auth, encode_form
from stack.infra import postgres_account
from stack.provision import MerchantSeed
from stack.services import Stack

# -- simulator admin -----------------------------------------------------------------


def sim(gateway_url: str) -> httpx.Client:
    """A client of the simulator's gateway API (what the services call)."""
    return httpx.Client(base_url=gateway_url, timeout=10, trust_env=False)


def ledger_entries(gateway_url: str) -> list[dict[str, Any]]:
    with GatewayAdmin(gateway_url) as admin:
        entries: list[dict[str, Any]] = admin.ledger()["entries"]
    return entries


def duplicate_charges(gateway_url: str, references: Iterable[str]) -> list[dict[str, Any]]:
    """The ledger's double charges (one payment id charged under several orders) among ours."""
    wanted = set(references)
    with GatewayAdmin(gateway_url) as admin:
        doubles: list[dict[str, Any]] = admin.ledger()["summary"]["duplicate_charges"]
    return [d for d in doubles if d["reference"] in wanted]


def charges_per_order(gateway_url: str, order_ids: Iterable[str]) -> dict[str, int]:
    """How many times the simulator charged each gateway order id (attempt id)."""
    wanted = set(order_ids)
    counts = dict.fromkeys(wanted, 0)
    for entry in ledger_entries(gateway_url):
        if entry["kind"] == "charge" and entry["order_id"] in wanted:
            counts[entry["order_id"]] += 1
    return counts


def refunded_at_gateway(gateway_url: str, order_id: str) -> int:
    """Sum of refunds the simulator accepted and did not fail for one order."""
    return sum(
        e["amount"]
        for e in ledger_entries(gateway_url)
        if e["kind"] == "refund" and e["order_id"] == order_id and e["status"] != "failed"
    )


@contextlib.contextmanager
def sim_profile(gateway_url: str, overrides: dict[str, Any]) -> Iterator[None]:
    """Apply profile overrides at the simulator for the block, then put the old profile back."""
    with GatewayAdmin(gateway_url) as admin:
        before = admin.profile()
        admin.set_profile(overrides)
    try:
        yield
    finally:
        with GatewayAdmin(gateway_url) as admin:
            admin.set_profile(before)


def webhooks_delivered(gateway_url: str, order_id: str) -> list[dict[str, Any]]:
    """The simulator's delivery attempts to services for one gateway order."""
    with GatewayAdmin(gateway_url) as admin:
        attempts: list[dict[str, Any]] = admin.webhooks()["attempts"]
    return [a for a in attempts if a["order_id"] == order_id]


def wait_until(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval_s)


# -- genuine and forged webhooks ---------------------------------------------------------


def credentials(seed: MerchantSeed, gateway: str) -> GatewayCredentials:
    if gateway == "juspay":
        return GatewayCredentials(GatewayName.JUSPAY, seed.juspay_merchant_id, seed.juspay_api_key)
    return GatewayCredentials(GatewayName.PAYTM, seed.paytm_mid, seed.paytm_merchant_key)


def _send(gateway_url: str, request: HttpRequest) -> httpx.Response:
    with sim(gateway_url) as client:
        return client.request(
            request.method, request.path, headers=dict(request.headers),
            content=request.body or None,
        )  # fmt: skip


def juspay_webhook(
    gateway_url: str,
    seed: MerchantSeed,
    attempt_id: str,
    *,
    username: str | None = None,
    password: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A Juspay order event carrying the order as the gateway reports it now.

    Signed with the merchant's webhook Basic credentials unless others are given.
    """
    order = _send(gateway_url, juspay.order_status_request(credentials(seed, "juspay"),
                                                           attempt_id)).json()  # fmt: skip
    name = {"CHARGED": "ORDER_SUCCEEDED", "PENDING_VBV": "TXN_CREATED"}.get(
        order["status"], "ORDER_FAILED"
    )
    event = {
        "id": f"evt_{secrets.token_hex(12)}",
        "event_name": name,
        "date_created": order.get("date_created", ""),
        "content": {"order": order},
    }
    auth = basic_auth(
        seed.webhook_username if username is None else username,
        seed.webhook_password if password is None else password,
    )
    headers = {"Content-Type": "application/json", "Authorization": auth}
    return json.dumps(event, separators=(",", ":")).encode(), headers


def paytm_webhook(
    gateway_url: str, seed: MerchantSeed, attempt_id: str, *, key: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """Paytm callback fields for the order as the gateway reports it now, with CHECKSUMHASH.

    Signed with the merchant's Paytm key unless another ``key`` is given.
    """
    creds = credentials(seed, "paytm")
    reply = _send(gateway_url, paytm.status_request(creds, attempt_id))
    opened = paytm_envelope.open_envelope(reply.content)
    assert opened is not None
    body = opened[1]
    info = body["resultInfo"]
    fields = {
        "ORDERID": body["orderId"],
        "MID": body["mid"],
        "TXNID": body.get("txnId", ""),
        "TXNAMOUNT": body.get("txnAmount", ""),
        "CURRENCY": body.get("currency", "INR"),
        "PAYMENTMODE": body.get("paymentMode", ""),
        "TXNDATE": body.get("txnDate", ""),
        "STATUS": info["resultStatus"],
        "RESPCODE": info["resultCode"],
        "RESPMSG": info["resultMsg"],
        "GATEWAYNAME": body.get("gatewayName", ""),
        "BANKTXNID": body.get("bankTxnId", ""),
        "BANKNAME": body.get("bankName", ""),
    }
    fields[checksum.CHECKSUM_FIELD] = checksum.generate_for_params(
        fields, creds.api_key if key is None else key
    )
    return encode_form(fields), {"Content-Type": FORM_TYPE}


# -- a stack's own servers ------------------------------------------------------------


def stop_server(stack: Stack, name: str) -> None:
    """Stop the stack's embedded ``postgres`` or ``redis`` (it must be one it started)."""
    stack.supervisor.stop(name)


def start_server_again(stack: Stack, name: str) -> None:
    """Start a stopped embedded server with its former command line: same port, same data."""
    old = stack.supervisor.get(name)
    assert old.stopped, f"{name} is still running"
    workdir = stack.infra.workdir
    assert workdir is not None
    home = workdir / ("pg" if name == "postgres" else "redis")
    env = {"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": str(home)}
    stack.supervisor.start(
        name, old.argv, env=env, role=old.role, stop_signal=old.stop_signal,
        user=postgres_account() if name == "postgres" else None,
    )  # fmt: skip


def worker_pids(stack: Stack, target: str) -> list[int]:
    """Pids of the worker processes of ``target``: the children of its master that listen
    on its port (Sanic's manager also has a child that holds shared state, not requests)."""
    master = stack.supervisor.get(target).pid
    port = int(stack.urls[target].rsplit(":", 1)[1])
    workers = []
    try:
        children = psutil.Process(master).children()
    except psutil.Error:
        return []
    for child in children:
        try:
            listening = any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                            for c in child.net_connections(kind="tcp"))  # fmt: skip
        except psutil.Error:
            continue
        if listening:
            workers.append(child.pid)
    return sorted(workers)
