"""Shadow traffic against the real stack: legacy (primary) vs engine or sanic (candidate)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
from pathlib import Path

import aiohttp
import pytest

from shadow import pipeline
from shadow.capture import read_capture
from shadow.cli import main
from shadow.mapping import SideIdentity
from shadow.mirror import Mirror, PollSettings, SideTarget
from shadow.normalize import Rules
from shadow.proxy import ProxySettings, RunningProxy
from shadow.replay import ReplaySettings
from shadow.workload import generate, write_workload
from stack.services import Stack, StackConfig

MODULES = ("engine.__main__", "legacy_adapter.__main__", "sanic_service.__main__",
           "gateway_sim.__main__")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in MODULES),
                       reason="the services are not installed"),
]
POLL = PollSettings(timeout_s=8.0, interval_s=0.05, sync_after_s=1.5)


def _servers() -> list[str]:
    # The suite's conftest names the test servers (given or embedded).
    return ["--database-url", os.environ["PAYBENCH_TEST_DATABASE_URL"],
            "--redis-url", os.environ["PAYBENCH_TEST_REDIS_URL"]]


@pytest.mark.parametrize("candidate", ["engine", "sanic"])
def test_cli_run_legacy_vs_candidate_with_aa(tmp_path: Path, candidate: str) -> None:
    """`shadow run` replays a mixed workload with writes: no real mismatch, no audit flag."""
    runs = tmp_path / "runs"
    code = main(["run", "--payments", "6", "--runs-dir", str(runs), "--label", "e2e",
                 "--candidate-target", candidate, "--fail-on-mismatch", "--poll-timeout", "8",
                 *_servers()])
    [run_dir] = runs.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert code == 0, summary["fields"]
    assert summary["has_secondary"] is True
    assert summary["compared"] == summary["requests"] > 30
    assert summary["real_mismatches"] == 0
    assert summary["audit_flags"] == 0
    sides = summary["audit"]["sides"]
    assert sides["primary"] == sides["candidate"] == sides["secondary"]
    assert sides["candidate"]["charges"]["INR"]["count"] >= 4
    assert {c["primary"] for c in summary["status_matrix"]} >= {200, 201, 401, 404, 409}
    for name in ("report.html", "report.md", "config.json", "ledger.json", "capture.jsonl"):
        assert (run_dir / name).exists()


def test_cli_run_with_the_fast_profile_compares_clean(tmp_path: Path) -> None:
    """With the `fast` gateway (latency and random faults) every side meets the same gateway
    outcomes: still no real mismatch and no audit flag."""
    runs = tmp_path / "runs"
    code = main(["run", "--payments", "8", "--runs-dir", str(runs), "--label", "fast",
                 "--gateway-profile", "fast", "--no-aa", "--fail-on-mismatch",
                 "--poll-timeout", "8", *_servers()])
    [run_dir] = runs.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert code == 0, summary["fields"]
    assert summary["real_mismatches"] == 0
    assert summary["audit_flags"] == 0
    assert json.loads((run_dir / "config.json").read_text())["gateway_profile"] == "fast"


def test_proxy_in_front_of_legacy_then_replay(tmp_path: Path) -> None:
    """Traffic through the proxy reaches the engine with its own ids; the capture replays clean,
    twice, on the unchanged stack it was captured from."""
    cfg = StackConfig(log_dir=tmp_path / "logs", workers=1, db_pool_size=2, merchants=2,
                      gateway_profile="instant",
                      database_url=os.environ["PAYBENCH_TEST_DATABASE_URL"],
                      redis_url=os.environ["PAYBENCH_TEST_REDIS_URL"])
    with Stack(cfg) as stack:
        keys = [m.api_key for m in stack.merchants["legacy"]]
        workload = write_workload(tmp_path / "w.jsonl", generate(4, keys, tag="px"))
        capture = tmp_path / "proxy.jsonl"
        asyncio.run(_through_proxy(stack.urls, workload, capture))
        proxied = tmp_path / "proxy-report"
        proxied.mkdir()
        (proxied / pipeline.EXCHANGES).write_bytes(capture.read_bytes())
        proxy_summary = pipeline.report_dir(proxied, Rules())
        assert proxy_summary["real_mismatches"] == 0, proxy_summary["fields"]
        assert proxy_summary["skipped"] == 0
        recorded = read_capture(capture)
        engine_ids = {json.loads(r.sides["candidate"].body).get("id")
                      for r in recorded if r.request.path == "/v1/payments"
                      and r.sides["candidate"].status == 201}
        legacy_ids = {json.loads(r.sides["primary"].body).get("id")
                      for r in recorded if r.request.path == "/v1/payments"
                      and r.sides["primary"].status == 201}
        assert len(engine_ids) == 4
        assert engine_ids.isdisjoint(legacy_ids)
        original = sorted(r.sides["primary"].status for r in recorded)
        for n in (1, 2):
            out = tmp_path / f"replayed-{n}"
            # Settings made per pass, as each `paybench shadow replay` makes its own.
            settings = ReplaySettings(primary=stack.urls["legacy"],
                                      candidate=stack.urls["engine"], allow_writes=True, poll=POLL)
            asyncio.run(pipeline.replay_to_dir(capture, settings, out))
            summary = pipeline.report_dir(out, Rules())
            assert summary["real_mismatches"] == 0, (n, summary["fields"])
            assert summary["requests"] == len(recorded)
            replayed = read_capture(out / "exchanges.jsonl")
            assert sorted(r.sides["primary"].status for r in replayed) == original
            created = {json.loads(r.sides[side].body)["id"] for r in replayed
                       for side in ("primary", "candidate")
                       if r.request.path == "/v1/payments" and r.sides[side].status == 201}
            assert len(created) == 8
            assert created.isdisjoint(engine_ids | legacy_ids)


async def _through_proxy(urls: dict[str, str], workload: Path, capture: Path) -> None:
    settings = ProxySettings(primary=urls["legacy"], candidate=urls["engine"], capture=capture,
                             allow_writes=True, poll=POLL)
    async with RunningProxy(settings) as proxy, aiohttp.ClientSession() as session:
        # A client behind the proxy resolves the workload's names to the legacy ids it gets.
        client = Mirror(session, [SideTarget(SideIdentity("client", derive_keys=False),
                                             proxy.url)], poll=POLL)
        for ex in read_capture(workload):
            await client.exchange(ex.request, ex.reference_body(), ["client"])
        await proxy.drain()
