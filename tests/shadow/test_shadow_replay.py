"""Replay of mixed captures with writes against fake sides, through to the report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import requests

from shadow import pipeline
from shadow.capture import read_capture
from shadow.cli import main
from shadow.locust_capture import CaptureRecorder
from shadow.mapping import SideIdentity
from shadow.mirror import Mirror, PollSettings, SideTarget
from shadow.normalize import Rules
from shadow.proxy import ProxySettings, RunningProxy
from shadow.replay import ReplaySettings
from shadow.workload import generate, write_workload
from tests.shadow.shadow_fakes import CAPTURE_KEYS, Behaviour, Trio, TrioFactory

FAST_POLL = PollSettings(timeout_s=3.0, interval_s=0.01, sync_after_s=1.0)


def _settings(t: Trio, *, secondary: bool = True, **kw: Any) -> ReplaySettings:
    return ReplaySettings(
        primary=t.primary.url, candidate=t.candidate.url,
        secondary=t.secondary.url if secondary else None, allow_writes=True,
        keys=t.replay_keys(), poll=FAST_POLL, **kw,
    )


async def _run(t: Trio, tmp_path: Path, payments: int = 8, **kw: Any) -> dict[str, Any]:
    capture = write_workload(tmp_path / "capture.jsonl", generate(payments, CAPTURE_KEYS))
    out = tmp_path / "out"
    await pipeline.replay_to_dir(capture, _settings(t, **kw), out)
    scopes = {s.name: sorted(s.merchant_ids) for s in t.sides}
    # the fake ledger is served on this loop: the blocking client runs in a thread
    await asyncio.to_thread(pipeline.ledger_to_dir, t.ledger_url, out, scopes)
    return pipeline.report_dir(out, Rules())


async def test_equivalent_candidate_has_zero_mismatches(trio: TrioFactory, tmp_path: Path) -> None:
    """Same code on every side: ids and timestamps differ but nothing real is reported."""
    t = await trio()
    summary = await _run(t, tmp_path)
    assert summary["compared"] == summary["requests"] > 40
    assert summary["skipped"] == 0
    assert summary["real_mismatches"] == 0
    assert summary["audit_flags"] == 0
    assert summary["verdict"] == "pass"
    statuses = {c["primary"] for c in summary["status_matrix"]}
    assert {200, 201, 400, 401, 404, 409} <= statuses
    charges = summary["audit"]["sides"]["candidate"]["charges"]["INR"]
    assert charges == summary["audit"]["sides"]["primary"]["charges"]["INR"]
    assert charges["count"] == 8
    assert (tmp_path / "out" / "report.html").read_text().count("<img") == 2


async def test_changed_candidate_is_caught(trio: TrioFactory, tmp_path: Path) -> None:
    """A renamed field, a changed status code and a double charge are all reported."""
    t = await trio(candidate=Behaviour(rename=("amount_refunded", "refunded_amount"),
                                       create_status=200, double_charge=True))
    summary = await _run(t, tmp_path)
    real = {(f["endpoint"], f["path"]) for f in summary["fields"] if f["significant"]}
    assert ("POST /v1/payments", "#status") in real
    assert ("GET /v1/payments/{id}", "/amount_refunded") in real
    assert ("GET /v1/payments/{id}", "/refunded_amount") in real
    assert summary["real_mismatches"] > 0
    assert summary["verdict"] == "fail"
    flags = summary["audit"]["flags"]
    assert {f["kind"] for f in flags if f["side"] == "candidate"} >= {"duplicate_charge"}
    assert not [f for f in flags if f["side"] in ("primary", "secondary")
                and f["kind"] != "totals_differ"]
    assert {(c["primary"], c["candidate"]) for c in summary["status_matrix"]} >= {(201, 200)}
    kinds = {d["kind"] for x in summary["examples"] for d in x["diffs"]}
    assert {"status", "missing", "extra"} <= kinds
    html = (tmp_path / "out" / "report.html").read_text()
    assert "duplicate_charge" in html
    assert "/refunded_amount" in html
    md = (tmp_path / "out" / "report.md").read_text()
    assert "**duplicate_charge**" in md


async def test_aa_noise_is_suppressed(trio: TrioFactory, tmp_path: Path) -> None:
    """A field that differs randomly on every instance is noise, not a candidate difference."""
    noisy = Behaviour(noisy_field=True)
    t = await trio(candidate=noisy, primary=noisy, secondary=noisy)
    summary = await _run(t, tmp_path, payments=6)
    served_by = [f for f in summary["fields"] if f["path"] == "/served_by"]
    assert served_by
    assert all(f["raw"] > 0 and f["noise"] > 0 for f in served_by)
    assert not any(f["significant"] for f in served_by)
    assert summary["real_mismatches"] == 0
    assert summary["noise_mismatches"] > 0


async def test_without_secondary_noise_is_not_filtered(trio: TrioFactory, tmp_path: Path) -> None:
    """Without an A/A pass the same random field counts as a real difference."""
    noisy = Behaviour(noisy_field=True)
    t = await trio(candidate=noisy, primary=noisy)
    summary = await _run(t, tmp_path, payments=4, secondary=False)
    assert summary["has_secondary"] is False
    assert any(f["significant"] for f in summary["fields"] if f["path"] == "/served_by")


async def test_pending_payments_are_polled_to_final(trio: TrioFactory, tmp_path: Path) -> None:
    """A candidate that answers 'processing' first is compared on its settled state."""
    t = await trio(candidate=Behaviour(pending_reads=3))
    summary = await _run(t, tmp_path, payments=4)
    assert summary["real_mismatches"] == 0
    lines = read_capture(tmp_path / "out" / "exchanges.jsonl")
    polled = [ln.sides["candidate"] for ln in lines if ln.sides["candidate"].polls]
    assert polled
    assert all(json.loads(r.body)["status"] != "processing" for r in polled)
    assert all(json.loads(r.initial_body or "{}")["status"] == "processing" for r in polled)


async def test_replay_of_a_proxy_capture(trio: TrioFactory, tmp_path: Path) -> None:
    """Traffic recorded by the proxy replays on fresh sides with ids mapped from the recording."""
    first = await trio()
    capture = tmp_path / "proxy.jsonl"
    proxy_settings = ProxySettings(primary=first.primary.url, candidate=first.candidate.url,
                                   capture=capture, allow_writes=True,
                                   keys=first.proxy_keys(), poll=FAST_POLL)
    workload = write_workload(tmp_path / "w.jsonl", generate(5, CAPTURE_KEYS, tag="p"))
    async with RunningProxy(proxy_settings) as proxy, aiohttp.ClientSession() as session:
        # A client behind the proxy: the workload's names become the primary's real ids.
        client = Mirror(session, [SideTarget(SideIdentity(
            "client", {k: f"primary_key_{i}" for i, k in enumerate(CAPTURE_KEYS)},
            derive_keys=False), proxy.url)])
        for ex in read_capture(workload):
            await client.exchange(ex.request, ex.reference_body(), ["client"])
        await proxy.drain()
    recorded = read_capture(capture)
    assert len(recorded) == len(read_capture(workload))
    second = await trio()
    out = tmp_path / "replayed"
    settings = ReplaySettings(
        primary=second.primary.url, candidate=second.candidate.url, allow_writes=True,
        keys={s.name: {f"primary_key_{i}": f"{s.name}_key_{i}" for i in range(2)}
              for s in second.sides}, poll=FAST_POLL)
    stats = await pipeline.replay_to_dir(capture, settings, out)
    summary = pipeline.report_dir(out, Rules())
    assert stats.recorded == len(recorded)
    assert summary["real_mismatches"] == 0
    assert summary["skipped"] == 0
    # Every replayed side answered follow-ups with its own objects, never a 404 from a stale id.
    original = [(ln.sides["primary"].status) for ln in recorded]
    replayed = [ln.sides["primary"].status for ln in read_capture(out / "exchanges.jsonl")]
    assert sorted(original) == sorted(replayed)
    assert len(second.candidate.service.payments) == 5


async def test_proxy_capture_replays_clean_on_the_same_sides(
    trio: TrioFactory, tmp_path: Path
) -> None:
    """A proxy capture replayed twice on the unchanged sides it came from compares clean."""
    t = await trio()
    capture = tmp_path / "proxy.jsonl"
    proxy_settings = ProxySettings(primary=t.primary.url, candidate=t.candidate.url,
                                   capture=capture, allow_writes=True,
                                   keys=t.proxy_keys(), poll=FAST_POLL)
    workload = write_workload(tmp_path / "w.jsonl", generate(5, CAPTURE_KEYS, tag="same"))
    async with RunningProxy(proxy_settings) as proxy, aiohttp.ClientSession() as session:
        client = Mirror(session, [SideTarget(SideIdentity(
            "client", {k: f"primary_key_{i}" for i, k in enumerate(CAPTURE_KEYS)},
            derive_keys=False), proxy.url)])
        for ex in read_capture(workload):
            await client.exchange(ex.request, ex.reference_body(), ["client"])
        await proxy.drain()
    recorded = read_capture(capture)
    original = sorted(ln.sides["primary"].status for ln in recorded)
    keys = {s.name: {f"primary_key_{i}": f"{s.name}_key_{i}" for i in range(2)}
            for s in t.sides}
    keys["primary"] = {}  # the primary's callers already held its keys
    for n in (1, 2):
        out = tmp_path / f"replay-{n}"
        await pipeline.replay_to_dir(capture, ReplaySettings(
            primary=t.primary.url, candidate=t.candidate.url, allow_writes=True, keys=keys,
            poll=FAST_POLL), out)
        summary = pipeline.report_dir(out, Rules())
        assert summary["real_mismatches"] == 0, summary["fields"]
        replayed = read_capture(out / "exchanges.jsonl")
        assert sorted(ln.sides["primary"].status for ln in replayed) == original
        # Each pass made payments of its own on both sides: nothing answered from an earlier pass.
        assert len(t.primary.service.payments) == len(t.candidate.service.payments) == 5 * (n + 1)


async def test_cli_replay_report_and_exit_codes(trio: TrioFactory, tmp_path: Path) -> None:
    """The CLI replays, audits, reports, and exits 1 on real mismatches with --fail-on-mismatch."""
    t = await trio(candidate=Behaviour(double_charge=True))
    capture = write_workload(tmp_path / "c.jsonl", generate(4, CAPTURE_KEYS))
    keys = tmp_path / "keys.yaml"
    keys.write_text(json.dumps(t.replay_keys()))
    out = tmp_path / "out"
    argv = ["replay", str(capture), "--primary", t.primary.url, "--candidate", t.candidate.url,
            "--allow-writes", "--keys", str(keys), "--out", str(out), "--rate", "200",
            "--gateway-url", t.ledger_url, "--fail-on-mismatch", "--poll-timeout", "2"]
    for s in (t.primary, t.candidate):
        argv += ["--merchants", f"{s.name}={','.join(sorted(s.merchant_ids))}"]
    code = await asyncio.to_thread(main, argv)
    assert code == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["real_mismatches"] == 0
    assert summary["audit_flags"] >= 1
    assert await asyncio.to_thread(main, ["shadow", "report", str(out)]) == 0
    assert await asyncio.to_thread(
        main, ["diff", str(out / "exchanges.jsonl"), "--fail-on-mismatch"]) == 0


async def test_locust_style_capture_replays(trio: TrioFactory, tmp_path: Path) -> None:
    """Requests recorded from an HttpUser's responses replay with ids mapped on fresh sides."""
    first = await trio()
    capture = tmp_path / "locust.jsonl"
    recorder = CaptureRecorder(str(capture))

    def user_session() -> None:
        with requests.Session() as http:
            http.auth = ("primary_key_0", "")
            body: dict[str, str | int] = {"order_id": "loc-1", "amount": 500, "currency": "INR",
                                          "gateway": "paytm", "payment_method": "upi"}
            created = http.post(f"{first.primary.url}/v1/payments", json=body)
            recorder.on_request(response=created, response_time=1.0)
            pay = created.json()["id"]
            base = first.primary.url
            for resp in (http.post(f"{base}/v1/payments/{pay}/confirm"),
                         http.get(f"{base}/v1/payments/{pay}"),
                         http.get(f"{base}/v1/payments", params={"order_id": "loc-1"})):
                recorder.on_request(response=resp, response_time=1.0)
        recorder.close()

    await asyncio.to_thread(user_session)
    second = await trio()
    keys = {s.name: {"primary_key_0": f"{s.name}_key_0"} for s in second.sides}
    out = tmp_path / "out"
    await pipeline.replay_to_dir(capture, ReplaySettings(
        primary=second.primary.url, candidate=second.candidate.url, allow_writes=True,
        keys=keys, poll=FAST_POLL), out)
    summary = pipeline.report_dir(out, Rules())
    assert summary["compared"] == 4
    assert summary["real_mismatches"] == 0
    statuses = [ln.sides["candidate"].status for ln in read_capture(out / "exchanges.jsonl")]
    assert statuses == [201, 200, 200, 200]
    [cand] = second.candidate.service.payments.values()
    assert cand["status"] == "succeeded"
