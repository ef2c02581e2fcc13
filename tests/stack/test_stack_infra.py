"""PostgreSQL and Redis: embedded servers start and vanish; given URLs are used as is."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import psutil
import psycopg
import pytest
import redis

from stack.errors import InfraUnavailable
from stack.infra import Infra, probe_postgres, probe_redis
from stack.processes import free_port, port_is_free
from tests.stack.conftest import shared_database_url, shared_redis_url


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])


@pytest.mark.embedded
@pytest.mark.usefixtures("clean_environ")
def test_embedded_servers_answer_and_are_gone_after_exit(log_dir: Path) -> None:
    """Without URLs, private servers answer real queries and leave no process, port or files."""
    assert not any(
        k.startswith("PAYBENCH_") and not k.startswith("PAYBENCH_TEST_") for k in os.environ
    )
    with Infra(log_dir=log_dir) as infra:
        assert infra.postgres is not None
        assert infra.redis is not None
        assert infra.postgres.embedded
        assert infra.redis.embedded
        assert infra.database_url.startswith("postgresql://postgres@127.0.0.1:")
        assert infra.redis_url.startswith("redis://127.0.0.1:")
        with psycopg.connect(infra.database_url) as conn:
            conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
            conn.execute("INSERT INTO t VALUES (1, 'one')")
            assert conn.execute("SELECT v FROM t WHERE id = 1").fetchone() == ("one",)
        client = redis.Redis.from_url(infra.redis_url)
        client.set("k", "v")
        assert client.get("k") == b"v"
        client.close()
        assert infra.postgres.version.startswith("16")
        assert set(infra.postgres.settings) >= {"max_connections", "shared_buffers",
                                                "synchronous_commit"}
        assert infra.redis.settings["save"] == ""
        assert "maxmemory" in infra.redis.settings
        pids = infra.pids()
        assert {role for role, _ in pids} == {"postgres", "redis"}
        workdir = infra.workdir
        assert workdir is not None
        ports = (_port(infra.database_url), _port(infra.redis_url))
    for _, pid in pids:
        assert not psutil.pid_exists(pid)
    assert all(port_is_free(p) for p in ports)
    assert not workdir.exists()
    assert (log_dir / "postgres.log").exists()


def test_given_urls_are_used_as_is(clean_environ: None) -> None:
    """Given URLs are checked and used unchanged; nothing is started and no directory made."""
    with Infra(shared_database_url(), shared_redis_url()) as infra:
        assert infra.database_url == shared_database_url()
        assert infra.redis_url == shared_redis_url()
        assert infra.postgres is not None
        assert not infra.postgres.embedded
        assert infra.redis is not None
        assert not infra.redis.embedded
        assert infra.workdir is None
        assert infra.describe()["postgres"]["version"]


def test_bad_database_url_fails_fast_and_clearly() -> None:
    """A database URL where nothing listens is refused within seconds, naming the URL."""
    url = f"postgresql://root@127.0.0.1:{free_port()}/test"
    started = time.monotonic()
    with pytest.raises(InfraUnavailable) as info, Infra(url, shared_redis_url()):
        pass
    assert time.monotonic() - started < 6
    assert info.value.component == "postgres"
    assert url in str(info.value)


def test_bad_redis_url_fails_fast_and_clearly() -> None:
    """A Redis URL where nothing listens is refused within seconds, naming the URL."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    with pytest.raises(InfraUnavailable) as info:
        probe_redis(url, timeout_s=2)
    assert time.monotonic() - started < 4
    assert info.value.component == "redis"
    assert url in str(info.value)


def test_wrong_database_name_is_reported() -> None:
    """A reachable server with a missing database is reported as unavailable, with the cause."""
    url = f"postgresql://root@127.0.0.1:5432/nope_{secrets.token_hex(4)}"
    with pytest.raises(InfraUnavailable, match="does not exist"):
        probe_postgres(url)
