"""Recovery: the reconciler, a killed worker, Redis stopped, PostgreSQL restarted.

One stack for the module with its *own* PostgreSQL and Redis (embedded
servers started by the stack), so they can be stopped and started again
without touching anyone else's. Gateway timeout 1 s, reconciler every 0.3 s
for attempts older than 1.5 s, and the simulator's webhooks off: only the
services' own status checks settle what a fault left unknown.

The Redis and PostgreSQL outages hit every service at once, so those two
tests check all of them in one outage each.
"""

from __future__ import annotations

import collections
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
import psycopg
import pytest
import redis

from stack.services import Stack, StackConfig
from tests.services.gateway_tools import (
    duplicate_charges,
    ledger_entries,
    sim_profile,
    start_server_again,
    stop_server,
    wait_until,
    worker_pids,
)
from tests.services.helpers import TARGETS, payment_body

GATEWAY_TIMEOUT_S = 1.0
RECONCILE_MIN_AGE_S = 1.5
SETTLED = ("succeeded", "failed", "partially_refunded", "refunded")
CHARGED = ("succeeded", "partially_refunded", "refunded")


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig(
        log_dir=tmp_path_factory.mktemp("fault-stack-logs"),
        database_url=None,  # embedded PostgreSQL and Redis, private to this module
        redis_url=None,
        targets=TARGETS,
        workers=2,
        db_pool_size=4,
        gateway_profile="instant",
        gateway_timeout_s=GATEWAY_TIMEOUT_S,
        reconcile_interval_s=0.3,
        merchants=2,
        extra_env={"PAYBENCH_RECONCILE_MIN_AGE_S": str(RECONCILE_MIN_AGE_S)},
    )
    with Stack(config) as running, sim_profile(running.gateway_url,
                                               {"webhook": {"enabled": False}}):  # fmt: skip
        assert running.infra.postgres is not None
        assert running.infra.postgres.embedded  # its own servers, never the shared ones
        yield running


def client(stack: Stack, target: str, timeout: float = 30) -> httpx.Client:
    key = stack.merchants[target][0].api_key
    return httpx.Client(base_url=stack.urls[target], auth=(key, ""), timeout=timeout,
                        trust_env=False)  # fmt: skip


def sql(stack: Stack, target: str, statement: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{stack.schemas[target]}"')
        return conn.execute(statement, args).fetchall()


def status_of(stack: Stack, target: str, payment_id: str) -> str:
    return str(sql(stack, target, "SELECT status FROM payments WHERE id = %s", payment_id)[0][0])


# -- the reconciler ---------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_reconciler_settles_unknown_attempts(fault_stack: Stack, target: str) -> None:
    """A timed-out charge and a rate-limited one stay processing until the background
    reconciler asks the gateway: charged once -> succeeded, never created -> failed."""
    def create(amount: int) -> dict[str, Any]:
        with client(fault_stack, target) as c:
            resp = c.post("/v1/payments", json=payment_body(amount=amount, confirm=True))
        assert resp.status_code == 201, resp.text
        body: dict[str, Any] = resp.json()
        return body

    with ThreadPoolExecutor(2) as pool:
        timed_out, limited = pool.map(create, (20005, 20006))
    assert timed_out["status"] == limited["status"] == "processing"
    with client(fault_stack, target) as c:
        assert c.get(f"/v1/payments/{timed_out['id']}").json()["status"] == "processing"
    assert wait_until(lambda: all(status_of(fault_stack, target, p["id"]) in SETTLED
                                  for p in (timed_out, limited)), 15)  # fmt: skip
    assert status_of(fault_stack, target, timed_out["id"]) == "succeeded"
    assert status_of(fault_stack, target, limited["id"]) == "failed"
    with client(fault_stack, target) as c:  # the reconciler refreshed the cache too
        assert c.get(f"/v1/payments/{timed_out['id']}").json()["status"] == "succeeded"
        assert c.get(f"/v1/payments/{limited['id']}").json()["failure_code"] == "gateway_no_record"
    charges = collections.Counter(
        e["order_id"] for e in ledger_entries(fault_stack.gateway_url) if e["kind"] == "charge"
    )
    assert charges[timed_out["attempt_id"]] == 1
    assert charges[limited["attempt_id"]] == 0


# -- a worker killed mid-request ---------------------------------------------------------


def _load(stack: Stack, target: str, stop: threading.Event, outcomes: list[str]) -> None:
    """Create-and-confirm in a loop until ``stop``; record how each request ended."""
    gateways = ("juspay", "paytm")
    n = 0
    with client(stack, target, timeout=10) as c:
        while not stop.is_set():
            n += 1
            body = payment_body(amount=30000 + 100 * (n % 50), gateway=gateways[n % 2],
                                confirm=True)  # fmt: skip
            try:
                resp = c.post("/v1/payments", json=body)
                outcomes.append(str(resp.status_code))
            except httpx.TransportError as exc:
                outcomes.append(type(exc).__name__)


@pytest.mark.parametrize("target", TARGETS)
def test_worker_killed_mid_confirm(fault_stack: Stack, target: str) -> None:
    """SIGKILL of a worker during confirms: it is replaced, the reconciler settles
    every payment, no order is charged twice and no charge lacks a charged payment."""
    workers = worker_pids(fault_stack, target)
    assert len(workers) == fault_stack.config.workers
    victim = workers[0]
    stop = threading.Event()
    outcomes: list[str] = []
    slow = {"latency": {"auth": {"p50_ms": 150, "p99_ms": 400}}}
    with sim_profile(fault_stack.gateway_url, slow):
        threads = [threading.Thread(target=_load, args=(fault_stack, target, stop, outcomes))
                   for _ in range(8)]  # fmt: skip
        for t in threads:
            t.start()
        assert wait_until(lambda: len(outcomes) >= 4, 15)  # confirms are flowing
        os.kill(victim, signal.SIGKILL)
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(30)
    counts = collections.Counter(outcomes)
    assert counts["201"] > 0
    assert sum(n for status, n in counts.items() if not status.isdigit()) >= 1, counts
    assert wait_until(lambda: victim not in worker_pids(fault_stack, target)
                      and len(worker_pids(fault_stack, target)) == 2, 20)  # fmt: skip

    def unsettled() -> int:
        rows = sql(fault_stack, target, "SELECT count(*) FROM payments WHERE status = %s",
                   "processing")  # fmt: skip
        return int(rows[0][0])

    assert wait_until(lambda: unsettled() == 0, 20), f"{unsettled()} payments left processing"
    payments = sql(fault_stack, target, "SELECT attempt_id, status, id FROM payments "
                                        "WHERE attempt_id IS NOT NULL")  # fmt: skip
    assert not duplicate_charges(fault_stack.gateway_url, [p for _, _, p in payments])
    charged_attempts = {a for a, s, _ in payments if s in CHARGED}
    seeds = fault_stack.merchants[target]
    ours = {s.juspay_merchant_id for s in seeds} | {s.paytm_mid for s in seeds}
    charges = collections.Counter(
        e["order_id"]
        for e in ledger_entries(fault_stack.gateway_url)
        if e["kind"] == "charge" and e["merchant_id"] in ours
    )
    doubled = {order: n for order, n in charges.items() if n > 1}
    assert not doubled, f"charged more than once: {doubled}"
    orphans = set(charges) - charged_attempts
    assert not orphans, f"charged at the gateway but not succeeded here: {orphans}"
    assert charged_attempts <= set(charges), "succeeded without a charge"
    with client(fault_stack, target) as c:
        assert c.post("/v1/payments", json=payment_body(confirm=True)).status_code == 201


# -- Redis stopped --------------------------------------------------------------------


def _health(stack: Stack, target: str) -> tuple[int, Any]:
    with httpx.Client(base_url=stack.urls[target], timeout=30, trust_env=False) as anon:
        resp = anon.get("/health")
    return resp.status_code, resp.json()


def _healthy(stack: Stack, target: str) -> bool:
    return _health(stack, target)[0] == 200


def test_services_keep_serving_without_redis(fault_stack: Stack) -> None:
    """With Redis stopped the services read and write from PostgreSQL, only /health
    says 503 (redis unavailable), and they use the cache again once Redis is back."""
    before = {}
    for target in TARGETS:
        with client(fault_stack, target) as c:
            before[target] = c.post("/v1/payments", json=payment_body(confirm=True)).json()
    stop_server(fault_stack, "redis")
    try:
        for target in TARGETS:
            assert _health(fault_stack, target) == (
                503, {"status": "degraded", "db": "ok", "redis": "unavailable"}
            )
            with client(fault_stack, target) as c:
                assert c.get("/ping").status_code == 200
                created = c.post("/v1/payments", json=payment_body(confirm=True))
                assert created.status_code == 201, created.text
                assert created.json()["status"] == "succeeded"
                read = c.get(f"/v1/payments/{created.json()['id']}")
                assert read.status_code == 200
                assert read.content == created.content
                old = c.get(f"/v1/payments/{before[target]['id']}")
                assert old.status_code == 200
                assert old.json()["id"] == before[target]["id"]
                refund = c.post(f"/v1/payments/{created.json()['id']}/refunds",
                                json={"amount": 100})  # fmt: skip
                assert refund.status_code == 201, refund.text
    finally:
        start_server_again(fault_stack, "redis")
    for target in TARGETS:
        assert wait_until(partial(_healthy, fault_stack, target), 15)
        with client(fault_stack, target) as c:
            pid = c.post("/v1/payments", json=payment_body(confirm=True)).json()["id"]
            c.get(f"/v1/payments/{pid}")
        cache = redis.Redis.from_url(fault_stack.redis_url)
        try:
            key = f"{fault_stack.redis_prefixes[target]}pay:merchant_1:{pid}"
            assert cache.exists(key) == 1
        finally:
            cache.close()


# -- PostgreSQL restarted ---------------------------------------------------------------


def _while_down(stack: Stack, target: str) -> list[tuple[int, Any]]:
    with client(stack, target) as c:
        created = c.post("/v1/payments", json=payment_body(confirm=True))
        unknown = c.get("/v1/payments/pay_" + "0" * 24)
    health = _health(stack, target)
    return [(created.status_code, created.json()), (unknown.status_code, unknown.json()), health]


def _recovered(stack: Stack, target: str) -> bool:
    with client(stack, target) as c:
        resp = c.post("/v1/payments", json=payment_body(confirm=True))
    return resp.status_code == 201


def test_services_recover_from_a_postgres_restart(fault_stack: Stack) -> None:
    """While PostgreSQL is down requests get 503 database_unavailable; once it is back
    every service serves again by itself, without a restart."""
    known = {}
    for target in TARGETS:
        with client(fault_stack, target) as c:
            known[target] = c.post("/v1/payments", json=payment_body(confirm=True)).json()["id"]
    masters = {t: fault_stack.supervisor.get(t).pid for t in TARGETS}
    stop_server(fault_stack, "postgres")
    try:
        with ThreadPoolExecutor(len(TARGETS)) as pool:
            down = dict(zip(TARGETS, pool.map(lambda t: _while_down(fault_stack, t),
                                              TARGETS), strict=True))  # fmt: skip
    finally:
        start_server_again(fault_stack, "postgres")
    unavailable = {"error": "database unavailable, retry later", "code": "database_unavailable"}
    for target in TARGETS:
        created, unknown, health = down[target]
        assert created == (503, unavailable), (target, created)
        assert unknown == (503, unavailable), (target, unknown)
        assert health == (503, {"status": "degraded", "db": "unavailable", "redis": "ok"})
    with ThreadPoolExecutor(len(TARGETS)) as pool:
        back = list(pool.map(lambda t: wait_until(lambda: _recovered(fault_stack, t), 15, 0.3),
                             TARGETS))  # fmt: skip
    assert back == [True] * len(TARGETS)
    for target in TARGETS:
        assert _health(fault_stack, target)[0] == 200
        with client(fault_stack, target) as c:
            assert c.get(f"/v1/payments/{known[target]}").status_code == 200
        assert fault_stack.supervisor.get(target).pid == masters[target]  # not restarted

