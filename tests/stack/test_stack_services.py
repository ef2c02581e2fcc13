"""The Stack end to end with stand-in services: wiring, provisioning, reset, cleanup."""

from __future__ import annotations

import json
import os
import secrets
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
import pytest
import redis

from gateway_sim.admin_client import GatewayAdmin
from payments.auth import hash_api_key
from stack.errors import InfraUnavailable, ProcessDied
from stack.processes import free_port, port_is_free
from stack.services import Stack, StackConfig
from stack.targets import TargetSpec, service_command
from tests.stack.conftest import HERE, shared_database_url, shared_redis_url

FAKE = "fake_services"
FAKE_TARGETS = (
    TargetSpec("alpha", command=service_command(FAKE)),
    TargetSpec("beta", command=service_command(FAKE), role="beta_service"),
)


def _config(log_dir: Path, **kw: Any) -> StackConfig:
    return StackConfig(
        log_dir=log_dir,
        targets=("alpha", "beta"),
        target_specs=FAKE_TARGETS,
        gateway_module=FAKE,
        merchants=2,
        workers=2,
        db_pool_size=3,
        startup_timeout_s=30,
        stop_grace_s=3,
        extra_env={"PYTHONPATH": str(HERE)},
        **kw,
    )


def _running(pid: int) -> bool:
    """Alive and not a zombie: an orphan's exit status waits for this container's init."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])


@pytest.mark.embedded
@pytest.mark.usefixtures("clean_environ")
def test_stack_lifecycle(log_dir: Path) -> None:
    """Targets are wired and provisioned, reset singly, a death named; exit leaves nothing."""
    with Stack(_config(log_dir)) as stack:
        assert stack.schemas == {"alpha": "alpha", "beta": "beta"}  # private DB: no suffix
        assert stack.redis_prefixes == {"alpha": "alpha:", "beta": "beta:"}
        with httpx.Client(trust_env=False, timeout=10) as client:
            health = client.get(stack.urls["beta"] + "/health").json()
        with GatewayAdmin(stack.gateway_url) as admin:
            registered = admin.merchants()
        settings = health["settings"]
        assert settings["PAYBENCH_DB_SCHEMA"] == "beta"
        assert settings["PAYBENCH_REDIS_PREFIX"] == "beta:"
        assert settings["PAYBENCH_DATABASE_URL"] == stack.database_url
        assert settings["PAYBENCH_REDIS_URL"] == stack.redis_url
        assert settings["PAYBENCH_GATEWAY_URL"] == stack.gateway_url
        assert settings["PAYBENCH_DB_POOL_SIZE"] == "3"

        # 2 merchants x 2 gateways x 2 targets, each gateway id owned by one target.
        assert len(registered) == 8
        ids = Counter((r["gateway"], r["merchant_id"]) for r in registered)
        assert set(ids.values()) == {1}
        for r in registered:
            target = "alpha" if r["webhook_url"].startswith(stack.urls["alpha"]) else "beta"
            assert r["merchant_id"].lower().endswith(target)
            assert r["webhook_url"] == f"{stack.urls[target]}/v1/webhooks/{r['gateway']}"

        # Same paybench API keys on both targets, stored hashed.
        keys = [m.api_key for m in stack.merchants["alpha"]]
        assert keys == [m.api_key for m in stack.merchants["beta"]]
        with psycopg.connect(stack.database_url) as conn:
            stored = conn.execute("SELECT api_key_hash FROM beta.merchants ORDER BY id").fetchall()
        assert sorted(h for (h,) in stored) == sorted(hash_api_key(k) for k in keys)

        procs = stack.processes()
        roles = Counter(role for role, _ in procs)
        assert roles["alpha"] == 3  # the service and its 2 workers
        assert roles["beta_service"] == 3
        assert roles["gateway_sim"] >= 1
        assert roles["postgres"] >= 2  # postmaster and its background processes
        assert roles["redis"] == 1
        ports = [_port(u) for u in [*stack.urls.values(), stack.gateway_url,
                                    stack.database_url, stack.redis_url]]
        stack.check_alive()

        # reset() empties one target's tables and keys only, keeping its merchants.
        client = redis.Redis.from_url(stack.redis_url)
        client.mset({f"alpha:pay:{i}": "x" for i in range(1200)})  # several SCAN batches
        client.set("beta:pay:1", "x")
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            for schema in ("alpha", "beta"):
                conn.execute(f"INSERT INTO {schema}.webhook_events VALUES ('juspay', 'evt_1')")
        stack.reset("alpha")
        assert client.dbsize() == 1
        assert client.get("beta:pay:1") == b"x"
        client.close()
        with psycopg.connect(stack.database_url) as conn:
            counts = {s: conn.execute(f"SELECT count(*) FROM {s}.webhook_events").fetchone()
                      for s in ("alpha", "beta")}
            merchants = conn.execute("SELECT count(*) FROM alpha.merchants").fetchone()
        assert counts == {"alpha": (0,), "beta": (1,)}
        assert merchants == (2,)
        with GatewayAdmin(stack.gateway_url) as admin:
            assert admin.reset() == {"resets": 2}

        # A service killed under the stack is reported by name.
        os.kill(stack.supervisor.get("beta").pid, signal.SIGKILL)
        stack.supervisor.get("beta").popen.wait(5)
        with pytest.raises(ProcessDied, match="beta"):
            stack.check_alive()
    assert not [pid for _, pid in procs if _running(pid)]
    assert all(port_is_free(p) for p in ports)
    assert {p.name for p in log_dir.iterdir()} >= {"alpha.log", "beta.log", "gateway_sim.log",
                                                   "postgres.log", "redis.log"}


def test_shared_servers_get_unique_schemas_removed_at_exit(log_dir: Path) -> None:
    """On given servers, schemas get a run suffix and both they and the keys are gone after."""
    run_key = f"t_{secrets.token_hex(4)}"
    cfg = _config(log_dir, database_url=shared_database_url(), redis_url=shared_redis_url())
    with Stack(cfg) as stack:
        schemas = dict(stack.schemas)
        assert all(s.startswith(f"{t}_") and len(s) > len(t) + 1 for t, s in schemas.items())
        assert stack.database_url == shared_database_url()
        assert stack.processes()  # includes the shared servers found by port
        client = redis.Redis.from_url(shared_redis_url())
        client.set(f"{stack.redis_prefixes['alpha']}{run_key}", "x")
        env = json.dumps(stack.describe())
        assert schemas["alpha"] in env
    with psycopg.connect(shared_database_url()) as conn:
        left = conn.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ANY(%s)",
            (list(schemas.values()),),
        ).fetchall()
    assert left == []
    assert client.exists(f"{schemas['alpha']}:{run_key}") == 0
    client.close()


def test_bad_database_url_starts_nothing(log_dir: Path) -> None:
    """A stack on an unreachable database fails at once with the URL, leaving no process."""
    url = f"postgresql://root@127.0.0.1:{free_port()}/test"
    stack = Stack(_config(log_dir, database_url=url, redis_url=shared_redis_url()))
    with pytest.raises(InfraUnavailable, match=url):
        stack.start()
    assert stack.supervisor.children == []
    assert not (log_dir / "gateway_sim.log").exists()
