"""The mirror proxy against fake services."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from shadow.capture import basic_auth, read_capture
from shadow.mirror import PollSettings
from shadow.proxy import ProxySettings, RunningProxy
from tests.shadow.shadow_fakes import Behaviour, TrioFactory

PAYMENT = {"order_id": "ord-1", "amount": 10050, "currency": "INR", "gateway": "juspay",
           "payment_method": "card"}


def _settings(trio_urls: dict[str, str], capture: Path, **kw: object) -> ProxySettings:
    return ProxySettings(primary=trio_urls["primary"], candidate=trio_urls["candidate"],
                         secondary=trio_urls.get("secondary"), capture=capture,
                         poll=PollSettings(timeout_s=2.0, interval_s=0.01, sync_after_s=0.5),
                         **kw)  # type: ignore[arg-type]


async def test_returns_primary_response_unchanged_and_records_both(
    trio: TrioFactory, tmp_path: Path
) -> None:
    """The caller gets the primary's bytes, status and headers; the capture holds both sides."""
    t = await trio(candidate=Behaviour(create_status=200))
    urls = {"primary": t.primary.url, "candidate": t.candidate.url}
    capture = tmp_path / "capture.jsonl"
    auth = {"Authorization": basic_auth("primary_key_0"), "X-REQUEST-ID": "req-1"}
    async with RunningProxy(_settings(urls, capture, allow_writes=True,
                                      keys=t.proxy_keys())) as proxy, aiohttp.ClientSession() as s:
        async with s.post(proxy.url + "/v1/payments", json=PAYMENT, headers=auth) as resp:
            via_proxy = (resp.status, await resp.read(), resp.headers.get("X-REQUEST-ID"),
                         resp.headers.get("Content-Type"))
        await proxy.drain()
        pay_id = json.loads(via_proxy[1])["id"]
        async with s.get(f"{t.primary.url}/v1/payments/{pay_id}", headers=auth) as resp:
            direct = await resp.read()
    assert via_proxy[0] == 201
    assert via_proxy[1] == direct
    assert via_proxy[2] == "req-1"
    assert via_proxy[3] == "application/json"
    [line] = read_capture(capture)
    assert line.request.method == "POST"
    assert line.request.path == "/v1/payments"
    assert line.sides["primary"].status == 201
    assert line.sides["candidate"].status == 200
    assert json.loads(line.sides["candidate"].body)["order_id"] == "ord-1"
    assert line.sides["primary"].latency_ms > 0
    assert line.sides["candidate"].latency_ms > 0


async def test_writes_refused_without_flag(trio: TrioFactory, tmp_path: Path) -> None:
    """Without --allow-writes the candidate never sees a write, and reads of its objects skip."""
    t = await trio()
    urls = {"primary": t.primary.url, "candidate": t.candidate.url}
    capture = tmp_path / "capture.jsonl"
    auth = {"Authorization": basic_auth("primary_key_0")}
    async with RunningProxy(_settings(urls, capture, keys=t.proxy_keys())) as proxy, \
            aiohttp.ClientSession() as s:
        async with s.post(proxy.url + "/v1/payments", json=PAYMENT, headers=auth) as resp:
            assert resp.status == 201
            pay_id = (await resp.json())["id"]
        async with s.get(f"{proxy.url}/v1/payments/{pay_id}", headers=auth) as resp:
            assert resp.status == 200
        async with s.get(f"{proxy.url}/ping") as resp:
            assert resp.status == 200
        await proxy.drain()
    assert t.candidate.service.payments == {}
    assert [m for m, _, _ in t.candidate.service.requests] == ["GET"]
    lines = read_capture(capture)
    skipped = [ln.sides["candidate"].skipped for ln in lines]
    assert skipped[0] is not None
    assert "write" in skipped[0]
    assert skipped[1] == "depends on a skipped write"
    assert skipped[2] is None
    assert lines[2].sides["candidate"].status == 200


async def test_follow_ups_are_rewritten_with_per_side_keys(
    trio: TrioFactory, tmp_path: Path
) -> None:
    """Confirm/refund/read reach the candidate's own ids, keys and idempotency keys."""
    t = await trio()
    urls = {"primary": t.primary.url, "candidate": t.candidate.url, "secondary": t.secondary.url}
    capture = tmp_path / "capture.jsonl"
    auth = {"Authorization": basic_auth("primary_key_0")}
    async with RunningProxy(_settings(urls, capture, allow_writes=True,
                                      keys=t.proxy_keys())) as proxy, aiohttp.ClientSession() as s:
        async with s.post(proxy.url + "/v1/payments", json=PAYMENT,
                          headers={**auth, "Idempotency-Key": "idem-1"}) as resp:
            pay_id = (await resp.json())["id"]
        async with s.post(f"{proxy.url}/v1/payments/{pay_id}/confirm", headers=auth) as resp:
            assert (await resp.json())["status"] == "succeeded"
        async with s.post(f"{proxy.url}/v1/payments/{pay_id}/refunds", json={"amount": 50},
                          headers={**auth, "Idempotency-Key": "idem-2"}) as resp:
            refund_id = (await resp.json())["id"]
        async with s.get(f"{proxy.url}/v1/refunds/{refund_id}", headers=auth) as resp:
            assert resp.status == 200
        await proxy.drain()
    [cand_id] = t.candidate.service.payments
    assert cand_id != pay_id
    assert t.candidate.service.payments[cand_id]["amount_refunded"] == 50
    paths = [p for _, p, _ in t.candidate.service.requests]
    assert f"/v1/payments/{cand_id}/confirm" in paths
    [cand_refund] = t.candidate.service.refunds
    assert f"/v1/refunds/{cand_refund}" in paths
    # Each side got its own idempotency key and its own merchant's API key.
    _, _, create_headers = t.candidate.service.requests[0]
    assert create_headers["idempotency-key"] == "idem-1:candidate"
    assert create_headers["authorization"] == basic_auth("candidate_key_0")
    _, _, primary_headers = t.primary.service.requests[0]
    assert primary_headers["idempotency-key"] == "idem-1"
    _, _, secondary_headers = t.secondary.service.requests[0]
    assert secondary_headers["idempotency-key"] == "idem-1:secondary"
    statuses = [(ln.sides["primary"].status, ln.sides["candidate"].status,
                 ln.sides["secondary"].status) for ln in read_capture(capture)]
    assert statuses == [(201, 201, 201), (200, 200, 200), (201, 201, 201), (200, 200, 200)]


async def test_overload_drops_are_counted(trio: TrioFactory, tmp_path: Path) -> None:
    """With a tiny queue the caller is still served and the mirror copies are dropped."""
    t = await trio()
    urls = {"primary": t.primary.url, "candidate": t.candidate.url}
    settings = _settings(urls, tmp_path / "c.jsonl", max_pending=1, lanes=1)
    async with RunningProxy(settings) as proxy, aiohttp.ClientSession() as s:
        for _ in range(20):
            async with s.get(proxy.url + "/ping") as resp:
                assert resp.status == 200
        stats = proxy.state.lanes
        await proxy.drain()
        async with s.get(proxy.url + "/__shadow__/stats") as resp:
            figures = await resp.json()
    assert figures["received"] == 20
    assert figures["dropped"] == stats.dropped
    assert figures["recorded"] + figures["dropped"] == 20
