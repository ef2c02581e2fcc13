"""Webhooks from an in-process simulator to a small receiver: auth, retries, duplicates."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass, field
from typing import TypeVar

import aiohttp
import paytmchecksum
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sim_helpers import PAYTM_KEY

from gateway_sim.admin_client import GatewayAdmin
from gateway_sim.app import running
from gateway_sim.config import PROFILES, SimSettings, apply_overrides
from payments.gateways import (
    charge_flow,
    parse_webhook,
    refund_flow,
    status_flow,
    verify_webhook,
)
from payments.gateways.base import (
    AttemptStatus,
    ChargeRequest,
    GatewayCredentials,
    GatewayName,
    GatewayReply,
    HttpRequest,
    HttpResponse,
    RefundRequest,
    RefundStatus,
    TransportError,
)
from payments.gateways.wire import decode_form

T = TypeVar("T")
HOOK_USER, HOOK_PASS = "hooks", "w3bh00k-pass"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    got: list[Received] = field(default_factory=list)
    fail_first: dict[str, int] = field(default_factory=dict)  # path -> non-200 answers left

    def at(self, path: str) -> list[Received]:
        return [r for r in self.got if r.path == path]


@dataclass
class Env:
    sim_url: str
    receiver: Receiver
    session: aiohttp.ClientSession


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[Env]:
    receiver = Receiver("")

    async def hook(request: web.Request) -> web.Response:
        receiver.got.append(Received(request.path, dict(request.headers), await request.read()))
        left = receiver.fail_first.get(request.path, 0)
        if left:
            receiver.fail_first[request.path] = left - 1
            return web.Response(status=500)
        return web.Response(status=200)

    rapp = web.Application()
    rapp.router.add_post("/{name}", hook)
    rserver = TestServer(rapp, host="127.0.0.1", port=0)
    await rserver.start_server()
    receiver.url = str(rserver.make_url(""))
    profile = apply_overrides(
        PROFILES["instant"],
        {
            "settle_delay_s": 0.1,
            "refund_settle_s": 0.1,
            "webhook": {"backoff_s": 0.05, "max_attempts": 3, "timeout_s": 2},
        },
    )
    settings = SimSettings(host="127.0.0.1", port=0, profile=profile, seed=1)
    async with running(settings) as (_, port), aiohttp.ClientSession() as session:
        yield Env(f"http://127.0.0.1:{port}", receiver, session)
    await rserver.close()


async def register(env: Env, gateway: str, path: str) -> GatewayCredentials:
    """A fresh merchant whose webhooks go to ``/<path>`` on the receiver."""
    mid = "M" + secrets.token_hex(5)
    key = PAYTM_KEY if gateway == "paytm" else "key_" + secrets.token_hex(6)
    merchant = {
        "gateway": gateway,
        "merchant_id": mid,
        "api_key": key,
        "webhook_url": f"{env.receiver.url.rstrip('/')}/{path}",
        "webhook_username": HOOK_USER,
        "webhook_password": HOOK_PASS,
    }
    await admin(env, lambda a: a.add_merchant(merchant))
    return GatewayCredentials(GatewayName(gateway), mid, key)


async def admin(env: Env, call: Callable[[GatewayAdmin], T]) -> T:
    """One admin call, from a thread: the simulator is served by this test's event loop."""

    def run() -> T:
        with GatewayAdmin(env.sim_url) as client:
            return call(client)

    return await asyncio.to_thread(run)


async def drive(env: Env, flow: Generator[HttpRequest, GatewayReply, T]) -> T:
    try:
        req = next(flow)
        while True:
            reply: GatewayReply
            try:
                async with env.session.request(
                    req.method, env.sim_url + req.path, headers=dict(req.headers), data=req.body
                ) as resp:
                    reply = HttpResponse(resp.status, dict(resp.headers), await resp.read())
            except aiohttp.ClientError as exc:
                reply = TransportError("reset", True, str(exc))
            req = flow.send(reply)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def wait_for(env: Env, path: str, count: int) -> list[Received]:
    deadline = asyncio.get_running_loop().time() + 5.0
    while len(env.receiver.at(path)) < count:
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.02)
    return env.receiver.at(path)


def attempt() -> str:
    return "att_" + secrets.token_hex(6)


async def test_juspay_webhook_has_basic_auth_and_parses(env: Env) -> None:
    """A Juspay charge posts ORDER_SUCCEEDED JSON with the merchant's Basic credentials."""
    creds = await register(env, "juspay", "j1")
    outcome = await drive(env, charge_flow(creds, ChargeRequest(attempt(), 5_000, "INR", "card")))
    assert outcome.status is AttemptStatus.SUCCEEDED
    (got,) = await wait_for(env, "/j1", 1)
    assert verify_webhook("juspay", got.headers, got.body, creds, HOOK_USER, HOOK_PASS)
    assert not verify_webhook("juspay", got.headers, got.body, creds, HOOK_USER, "wrong")
    event = parse_webhook("juspay", got.body, got.headers["Content-Type"])
    assert event.kind == "charge"
    assert event.charge is not None
    assert event.charge.status is AttemptStatus.SUCCEEDED


async def test_paytm_callback_checksum_verifies_with_paytmchecksum(env: Env) -> None:
    """A Paytm charge posts form fields whose CHECKSUMHASH paytmchecksum accepts."""
    creds = await register(env, "paytm", "p1")
    await drive(env, charge_flow(creds, ChargeRequest(attempt(), 5_000, "INR", "card")))
    (got,) = await wait_for(env, "/p1", 1)
    fields = decode_form(got.body)
    assert paytmchecksum.verifySignature(dict(fields), PAYTM_KEY, fields["CHECKSUMHASH"])
    assert verify_webhook("paytm", got.headers, got.body, creds, "", "")
    event = parse_webhook("paytm", got.body, got.headers["Content-Type"])
    assert event.charge is not None
    assert event.charge.status is AttemptStatus.SUCCEEDED


async def test_non_200_is_retried_until_success(env: Env) -> None:
    """Two 500 answers are followed by a third delivery of the same event."""
    creds = await register(env, "juspay", "j2")
    env.receiver.fail_first["/j2"] = 2
    await drive(env, charge_flow(creds, ChargeRequest(attempt(), 5_000, "INR", "card")))
    got = await wait_for(env, "/j2", 3)
    assert len(got) == 3
    assert len({parse_webhook("juspay", g.body, "").event_id for g in got}) == 1
    await asyncio.sleep(0.3)
    assert len(env.receiver.at("/j2")) == 3  # no delivery after the 200


async def test_retries_are_bounded(env: Env) -> None:
    """A receiver that never answers 200 gets exactly max_attempts deliveries."""
    creds = await register(env, "paytm", "p2")
    env.receiver.fail_first["/p2"] = 100
    await drive(env, charge_flow(creds, ChargeRequest(attempt(), 5_000, "INR", "card")))
    await asyncio.sleep(0.6)
    assert len(env.receiver.at("/p2")) == 3
    log = await admin(env, lambda a: a.webhooks(creds.merchant_id))
    assert [a["status"] for a in log["attempts"]] == [500, 500, 500]


async def test_pending_settles_with_duplicate_and_out_of_order_webhooks(env: Env) -> None:
    """Hook 09: the final event arrives twice, then a stale pending event after it."""
    creds = await register(env, "juspay", "j3")
    outcome = await drive(env, charge_flow(creds, ChargeRequest(attempt(), 5_009, "INR", "upi")))
    assert outcome.status is AttemptStatus.PENDING
    got = await wait_for(env, "/j3", 3)
    await asyncio.sleep(0.1)
    events = [parse_webhook("juspay", g.body, "") for g in got]
    statuses = [e.charge.status for e in events if e.charge is not None]
    assert statuses == [AttemptStatus.SUCCEEDED, AttemptStatus.SUCCEEDED, AttemptStatus.PENDING]
    assert events[0].event_id == events[1].event_id
    assert events[2].event_id != events[0].event_id


async def test_refund_webhooks_name_the_refund(env: Env) -> None:
    """Settled refunds notify with the refund id, for both gateways."""
    for gateway in ("juspay", "paytm"):
        path = f"r{gateway}"
        creds = await register(env, gateway, path)
        att = attempt()
        charged = await drive(env, charge_flow(creds, ChargeRequest(att, 5_000, "INR", "card")))
        req = RefundRequest("rf_" + secrets.token_hex(4), att, charged.gateway_txn_id, 1_000, "INR")
        assert (await drive(env, refund_flow(creds, req))).status is RefundStatus.PENDING
        got = await wait_for(env, "/" + path, 2)
        event = parse_webhook(gateway, got[-1].body, got[-1].headers["Content-Type"])
        assert (event.kind, event.refund_id) == ("refund", req.refund_id)
        assert event.refund is not None
        assert event.refund.status is RefundStatus.SUCCEEDED


async def test_only_async_skips_webhooks_for_answered_outcomes(env: Env) -> None:
    """With only_async, a plain success sends nothing; a reset attempt still notifies."""
    creds = await register(env, "paytm", "p5")
    await admin(env, lambda a: a.set_profile({"webhook": {"only_async": True}}))
    try:
        await drive(env, charge_flow(creds, ChargeRequest(attempt(), 5_000, "INR", "card")))
        reset = await drive(env, charge_flow(creds, ChargeRequest(attempt(), 5_007, "INR", "card")))
        assert reset.status is AttemptStatus.UNKNOWN
        got = await wait_for(env, "/p5", 1)
        await asyncio.sleep(0.2)
    finally:
        await admin(env, lambda a: a.set_profile({"webhook": {"only_async": False}}))
    assert len(env.receiver.at("/p5")) == 1
    event = parse_webhook("paytm", got[0].body, "")
    assert event.charge is not None
    assert event.charge.status is AttemptStatus.SUCCEEDED  # the reset attempt did charge


async def test_stall_answers_504_and_does_nothing(env: Env) -> None:
    """With stalls forced, a charge waits stall_s, gets 504, and no order exists."""
    creds = await register(env, "juspay", "j4")
    await admin(env, lambda a: a.set_profile({"faults": {"stall": 1.0}, "stall_s": 0.05}))
    try:
        att = attempt()
        outcome = await drive(env, charge_flow(creds, ChargeRequest(att, 5_000, "INR", "card")))
        assert outcome.status is AttemptStatus.UNKNOWN
    finally:
        await admin(env, lambda a: a.set_profile({"faults": {"stall": 0.0}}))
    assert (await drive(env, status_flow(creds, att))).status is AttemptStatus.FAILED


async def test_admin_profile_reset_and_validation(env: Env) -> None:
    """PUT /profile changes settings (400 on bad ones); reset empties the ledger."""
    url = env.sim_url + "/__admin__/"
    async with env.session.put(url + "profile", json={"faults": {"decline": 7}}) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == "invalid_config"
    async with env.session.put(url + "profile", json={"stall_s": 2.5}) as resp:
        assert (await resp.json())["profile"]["stall_s"] == 2.5
    async with env.session.get(url + "profile") as resp:
        assert (await resp.json())["profile"]["stall_s"] == 2.5
    async with env.session.post(url + "merchants", json={"gateway": "paytm"}) as resp:
        assert resp.status == 400
    async with env.session.post(url + "reset") as resp:
        assert resp.status == 200
    async with env.session.get(url + "ledger") as resp:
        assert (await resp.json())["entries"] == []
    async with env.session.get(url + "health") as resp:
        health = await resp.json()
    assert health["status"] == "ok"
    assert health["merchants"] > 0
