"""Embedded PostgreSQL as root, with the checkout or TMPDIR in a directory others cannot enter.

PostgreSQL refuses to run as root, so under root it runs as the ``postgres``
account. A checkout in ``/root`` (mode 700) or a ``mktemp -d`` folder puts the
virtualenv, and so pgserver's binaries, out of that account's reach. The
tests rebuild that layout faithfully: a site directory inside a mode-700
folder holding the ``pgserver`` package and its ``pgserver.libs`` (linked to
the installed ones) first on ``sys.path``, so every path the stack uses to the
binaries goes through the closed folder, as in a virtualenv there.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from stack.embedded import pgserver_bin_dir, postgres_account
from stack.errors import EmbeddedServerError
from stack.infra import Infra

pytestmark = [pytest.mark.embedded,
              pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another "
                                 "account")]


@pytest.fixture
def closed_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pgserver importable only through a mode-700 folder, as from a venv in /root."""
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None
    assert spec.submodule_search_locations
    package = Path(next(iter(spec.submodule_search_locations)))
    closed = tmp_path / "closed"
    site = closed / "venv" / "site-packages"
    site.mkdir(parents=True)
    closed.chmod(0o700)
    (site / "pgserver").symlink_to(package, target_is_directory=True)
    libs = package.parent / "pgserver.libs"
    if libs.is_dir():
        (site / "pgserver.libs").symlink_to(libs, target_is_directory=True)
    monkeypatch.syspath_prepend(str(site))
    return closed


def _no_process_uses(path: Path) -> bool:
    for proc in psutil.process_iter(["cmdline"]):
        if any(str(path) in part for part in proc.info["cmdline"] or ()):
            return False
    return True


@pytest.mark.usefixtures("clean_environ")
def test_binaries_out_of_the_accounts_reach_still_run(closed_site: Path, log_dir: Path) -> None:
    """initdb and postgres run from a copy the account can reach; it goes with the work dir."""
    bin_dir = pgserver_bin_dir()
    assert closed_site in bin_dir.parents
    account = postgres_account()
    assert account is not None
    with pytest.raises(PermissionError):  # the problem, as a fresh checkout in /root has it
        subprocess.run([str(bin_dir / "initdb"), "--version"], user=account, check=False)
    with Infra(log_dir=log_dir) as infra:
        assert infra.postgres is not None
        assert infra.postgres.embedded
        with psycopg.connect(infra.database_url) as conn:
            assert conn.execute("SELECT 1 + 1").fetchone() == (2,)
        workdir = infra.workdir
        assert workdir is not None
        assert (workdir / "pg-install").is_dir()
        server = infra.pids()[0][1]
        assert str(workdir) in " ".join(psutil.Process(server).cmdline())
    assert not workdir.exists()
    assert _no_process_uses(workdir)


@pytest.mark.usefixtures("clean_environ")
def test_work_dir_out_of_reach_fails_at_once_saying_what_to_do(
    tmp_path: Path, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TMPDIR the account cannot enter fails in one line naming TMPDIR; nothing is left."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private))  # what TMPDIR sets in a new process
    started = time.monotonic()
    with pytest.raises(EmbeddedServerError) as info, Infra(log_dir=log_dir):
        pass
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert "\n" not in message
    assert "TMPDIR" in message
    assert "PAYBENCH_DATABASE_URL" in message
    assert list(private.iterdir()) == []
    assert _no_process_uses(private)
