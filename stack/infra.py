"""PostgreSQL and Redis for a run: the configured servers, or embedded ones.

With URLs (resolved at the edge from flags or PAYBENCH_DATABASE_URL /
PAYBENCH_REDIS_URL) the servers are only checked and described. Without,
``Infra`` starts private servers (see ``stack.embedded``) in a temporary
directory, each on a free 127.0.0.1 port so other processes (the services,
Locust) can reach them over TCP. However start-up ends (an error, Ctrl-C,
SIGTERM, SIGHUP), what it started is stopped and the directory removed.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import psutil
import psycopg
import redis

from stack.embedded import (
    HOST,
    INITDB,
    pgserver_bin_dir,
    postgres_account,
    redis_server_binary,
    start_embedded_postgres,
    start_embedded_redis,
)
from stack.errors import InfraUnavailable
from stack.processes import Supervisor, deferred_signals, stop_signals_as_interrupt

__all__ = [
    "HOST", "Infra", "ServerInfo", "pgserver_bin_dir", "postgres_account", "probe_postgres",
    "probe_redis", "redis_server_binary",
]
_log = logging.getLogger(__name__)
# The processes behind each server Infra starts, in the order they are stopped.
_PROCESSES = {"postgres": ("postgres", INITDB), "redis": ("redis",)}
PG_SETTINGS = ("max_connections", "shared_buffers", "synchronous_commit", "fsync", "work_mem")
REDIS_SETTINGS = ("maxmemory", "maxmemory-policy", "appendonly", "save", "io-threads")


@dataclass(frozen=True)
class ServerInfo:
    """What environment.json records about one server."""

    component: str  # "postgres" | "redis"
    url: str
    embedded: bool
    version: str
    settings: dict[str, str] = field(default_factory=dict)


# -- probing --------------------------------------------------------------------


def probe_postgres(url: str, *, embedded: bool = False, timeout_s: float = 5.0) -> ServerInfo:
    """Connect, run a query and read the key settings; InfraUnavailable if it fails."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, round(timeout_s))) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            settings = {
                name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
                for name in PG_SETTINGS
            }
    except psycopg.Error as exc:
        raise InfraUnavailable("postgres", url, str(exc).strip() or type(exc).__name__) from exc
    return ServerInfo("postgres", url, embedded, version, settings)


def probe_redis(url: str, *, embedded: bool = False, timeout_s: float = 5.0) -> ServerInfo:
    """PING, then read the version and key settings; InfraUnavailable if it fails."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        client.ping()
        info: dict[str, Any] = client.info("server")
        settings: dict[str, str] = {}
        for name in REDIS_SETTINGS:
            try:
                got: dict[Any, Any] = client.config_get(name)
            except redis.ResponseError:  # CONFIG may be renamed away on managed servers
                got = {}
            value = got.get(name, got.get(name.encode(), "unknown"))
            settings[name] = value.decode() if isinstance(value, bytes) else str(value)
    except redis.RedisError as exc:
        raise InfraUnavailable("redis", url, str(exc) or type(exc).__name__) from exc
    finally:
        client.close()
    return ServerInfo("redis", url, embedded, str(info.get("redis_version", "unknown")), settings)


def listening_pids(port: int) -> list[int]:
    """Pids of local processes listening on TCP ``port`` (empty if not visible)."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return []
    return sorted(
        {
            c.pid
            for c in conns
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid
        }
    )


# -- the pair ----------------------------------------------------------------------


class Infra:
    """PostgreSQL and Redis for one run; a context manager.

    Servers it started are stopped, and its temporary directory removed, on
    exit. With a shared ``supervisor`` they are logged beside the services.
    """

    def __init__(
        self,
        database_url: str | None = None,
        redis_url: str | None = None,
        *,
        supervisor: Supervisor | None = None,
        log_dir: Path | None = None,
        pg_max_connections: int = 200,
        timeout_s: float = 30.0,
    ) -> None:
        self._given_db = database_url
        self._given_redis = redis_url
        self._own_sup = supervisor is None
        self._workdir: Path | None = None
        self._sup = supervisor
        self._log_dir = log_dir
        self._pg_max_connections = pg_max_connections
        self._timeout_s = timeout_s
        self._started: list[str] = []
        self._found: dict[str, list[int]] = {}
        self.database_url = ""
        self.redis_url = ""
        self.postgres: ServerInfo | None = None
        self.redis: ServerInfo | None = None

    def __enter__(self) -> Infra:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def workdir(self) -> Path | None:
        return self._workdir

    def start(self) -> None:
        with stop_signals_as_interrupt():
            try:
                self._start()
            except BaseException:
                self.close()
                raise

    def _start(self) -> None:
        # Given servers are checked first: a bad URL fails before anything is started.
        if self._given_db is not None:
            self.postgres = probe_postgres(self._given_db, timeout_s=min(self._timeout_s, 5.0))
            self.database_url = self._given_db
        if self._given_redis is not None:
            self.redis = probe_redis(self._given_redis, timeout_s=min(self._timeout_s, 5.0))
            self.redis_url = self._given_redis
        if self.postgres is not None and self.redis is not None:
            return
        with deferred_signals():  # a directory made but not yet recorded could not be removed
            self._workdir = Path(tempfile.mkdtemp(prefix="paybench-"))
        self._workdir.chmod(0o755)  # the postgres account must traverse it
        if self._sup is None:
            self._sup = Supervisor(self._log_dir or self._workdir / "logs")
        if self.postgres is None:
            self._started.append("postgres")
            self.database_url = start_embedded_postgres(
                self._sup, self._workdir,
                max_connections=self._pg_max_connections, timeout_s=self._timeout_s,
            )  # fmt: skip
            self.postgres = probe_postgres(self.database_url, embedded=True)
        if self.redis is None:
            self._started.append("redis")
            self.redis_url = start_embedded_redis(self._sup, self._workdir)
            self.redis = probe_redis(self.redis_url, embedded=True)

    def close(self) -> None:
        """Stop the servers this Infra started, then remove their directory."""
        with deferred_signals():
            if self._sup is not None:
                for started in reversed(self._started):
                    for name in _PROCESSES[started]:
                        try:
                            self._sup.stop(name)
                        except KeyError:  # never got as far as starting it
                            continue
                self._started.clear()
            if self._workdir is not None:
                _remove_tree(self._workdir)
                self._workdir = None

    def pids(self) -> list[tuple[str, int]]:
        """(role, pid) of the PostgreSQL and Redis servers, when they are local.

        Given servers are found once by their listening port (a scan of every
        socket, too slow to repeat at each resource sample).
        """
        out: list[tuple[str, int]] = []
        for role, url in (("postgres", self.database_url), ("redis", self.redis_url)):
            if role in self._started and self._sup is not None:
                proc = self._sup.get(role)
                if proc.alive():
                    out.append((role, proc.pid))
                continue
            cached = self._found.get(role)
            if cached is None or not all(psutil.pid_exists(pid) for pid in cached):
                port = _port_of(url)
                cached = listening_pids(port) if port is not None else []
                self._found[role] = cached
            out.extend((role, pid) for pid in cached)
        return out

    def describe(self) -> dict[str, Any]:
        """Versions and key settings for environment.json."""
        return {
            info.component: {
                "embedded": info.embedded,
                "version": info.version,
                "settings": dict(info.settings),
            }
            for info in (self.postgres, self.redis)
            if info is not None
        }


def _remove_tree(path: Path) -> None:
    # Everything writing there is stopped; a retry covers a file a dying process just closed.
    for _ in range(5):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.2)
    try:
        shutil.rmtree(path)
    except OSError as exc:
        _log.warning("could not remove %s: %s", path, exc)


def _port_of(url: str) -> int | None:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if host not in ("127.0.0.1", "localhost", "::1"):
        return None
    if port is None:
        return 5432 if parts.scheme.startswith("postgres") else 6379
    return port
