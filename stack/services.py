"""The whole stack of one run: infra, gateway simulator, and the target services.

``Stack`` starts PostgreSQL and Redis (given or embedded), the gateway
simulator, provisions one schema and Redis key prefix per target, registers
the targets' merchants at the simulator, starts each target on a free port
with the same workers, pool size and gateway settings, and waits until every
one answers its health check. Leaving the ``with`` block (normally, on an
error or on Ctrl-C) stops everything and removes what it created.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
import redis

from gateway_sim.admin_client import HEALTH_PATH as GATEWAY_HEALTH_PATH
from stack import merchants as merchant_setup
from stack.errors import ProcessDied, StackError
from stack.infra import HOST, Infra
from stack.processes import (
    Supervisor,
    deferred_signals,
    free_port,
    http_probe,
    port_is_free,
    stop_signals_as_interrupt,
    with_descendants,
)
from stack.provision import (
    MerchantSeed,
    demo_merchants,
    drop_target,
    provision_target,
    reset_target,
)
from stack.targets import TargetLaunch, TargetSpec, resolve_targets

_log = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class StackConfig:
    """Every knob of a stack; built once at the edge (CLI flags and PAYBENCH_* vars).

    ``schema_suffix`` None means: none on an embedded database (it is private),
    a random one on a given database (it may be shared with other runs).
    ``gateway_module`` is run as ``python -m <module> --host H --port P --profile X
    --seed S``; another module with the same CLI and admin API can stand in.
    ``base_env`` None means the children inherit this process's environment
    (PATH, virtualenv) minus any PAYBENCH_* variable, which the stack sets itself.
    ``server_timing`` makes the targets answer with a ``Server-Timing`` header
    (on in every paybench run; the harness reads it).
    """

    log_dir: Path
    database_url: str | None = None
    redis_url: str | None = None
    targets: tuple[str, ...] = ("legacy", "engine")
    target_specs: tuple[TargetSpec, ...] = ()
    workers: int = 2
    db_pool_size: int = 10
    gateway_profile: str = "fast"
    gateway_module: str = "gateway_sim"
    gateway_timeout_s: float = 10.0
    seed: int = 1
    merchants: int = 4
    reconcile_interval_s: float = 0.0
    cache_ttl_s: int | None = None
    server_timing: bool = True
    schema_suffix: str | None = None
    keep_schemas: bool = False
    startup_timeout_s: float = 60.0
    stop_grace_s: float = 10.0
    base_env: Mapping[str, str] | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)


class Stack:
    """A running stack; use as a context manager."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.specs = resolve_targets(config.targets, config.target_specs)
        self.supervisor = Supervisor(config.log_dir, grace_s=config.stop_grace_s)
        self.infra = Infra(
            config.database_url,
            config.redis_url,
            supervisor=self.supervisor,
            pg_max_connections=_max_connections_for(config),
        )
        self.urls: dict[str, str] = {}
        self.schemas: dict[str, str] = {}
        self.redis_prefixes: dict[str, str] = {}
        self.merchants: dict[str, list[MerchantSeed]] = {}
        self.gateway_url = ""
        self._provisioned: list[str] = []

    # -- lifecycle ----------------------------------------------------------------

    def __enter__(self) -> Stack:
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
    def database_url(self) -> str:
        return self.infra.database_url

    @property
    def redis_url(self) -> str:
        return self.infra.redis_url

    def start(self) -> None:
        # SIGTERM or SIGHUP while starting unwinds like Ctrl-C: nothing started stays behind.
        with stop_signals_as_interrupt():
            try:
                self._start()
            except BaseException:
                self.close()
                raise

    def _start(self) -> None:
        cfg = self.config
        self.infra.start()
        assert self.infra.postgres is not None  # set by a successful start
        suffix = cfg.schema_suffix
        if suffix is None:
            suffix = "" if self.infra.postgres.embedded else f"_{secrets.token_hex(3)}"

        self._start_gateway()
        seeds = demo_merchants(cfg.merchants, cfg.seed)
        for name, spec in self.specs.items():
            schema = spec.schema if spec.url is not None else f"{name}{suffix}"
            if schema:
                self.schemas[name] = schema
                self.redis_prefixes[name] = f"{schema}:"
                self.merchants[name] = [merchant_setup.for_target(s, name) for s in seeds]
                provision_target(self.database_url, schema, self.merchants[name])
                self._provisioned.append(schema)
            if spec.url is not None:
                self.urls[name] = spec.url.rstrip("/")
            else:
                self._start_target(spec)
            if name in self.merchants:
                merchant_setup.register_at_simulator(
                    self.gateway_url, self.merchants[name], self.urls[name]
                )
        for spec in self.specs.values():
            self._wait_target(spec)

    def close(self) -> None:
        """Stop services, drop what was created on shared servers, stop the infra."""
        with deferred_signals():  # a second Ctrl-C or SIGTERM must not cut the cleanup short
            self._close()

    def _close(self) -> None:
        for name, spec in reversed(self.specs.items()):
            if spec.started_by_stack:
                with contextlib.suppress(KeyError):
                    self.supervisor.stop(name)
        with contextlib.suppress(KeyError):
            self.supervisor.stop("gateway_sim")
        try:
            self._drop_shared_state()
        except (psycopg.Error, redis.RedisError, StackError) as exc:
            # Cleanup must not hide the error that brought us here; say what was left.
            _log.warning("could not remove this run's schemas or keys: %s", exc)
        finally:
            self.infra.close()
            self.supervisor.stop_all()

    # -- starting pieces ----------------------------------------------------------------

    def _child_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        base = self.config.base_env
        if base is None:
            # The stack is the edge that launches processes: it passes its own
            # environment on, minus settings it owns.
            base = {k: v for k, v in os.environ.items() if not k.startswith("PAYBENCH_")}
        env = dict(base)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(extra or {})
        env.update(self.config.extra_env)
        return env

    def _start_gateway(self) -> None:
        cfg = self.config
        for attempt in range(2):
            port = free_port(HOST)
            self.supervisor.start(
                "gateway_sim",
                [sys.executable, "-m", cfg.gateway_module, "--host", HOST, "--port", str(port),
                 "--profile", cfg.gateway_profile, "--seed", str(cfg.seed)],
                env=self._child_env(), cwd=REPO_ROOT, role="gateway_sim",
            )  # fmt: skip
            self.gateway_url = f"http://{HOST}:{port}"
            try:
                self.supervisor.wait_for_http(
                    "gateway_sim", self.gateway_url + GATEWAY_HEALTH_PATH,
                    timeout_s=cfg.startup_timeout_s,
                )  # fmt: skip
            except ProcessDied:
                self.supervisor.stop("gateway_sim")
                if attempt == 0 and not port_is_free(port):
                    continue  # somebody took the port between asking and binding
                raise
            return

    def _target_env(self, name: str) -> dict[str, str]:
        cfg = self.config
        env = {
            "PAYBENCH_DATABASE_URL": self.database_url,
            "PAYBENCH_DB_SCHEMA": self.schemas[name],
            "PAYBENCH_DB_POOL_SIZE": str(cfg.db_pool_size),
            "PAYBENCH_REDIS_URL": self.redis_url,
            "PAYBENCH_REDIS_PREFIX": self.redis_prefixes[name],
            "PAYBENCH_GATEWAY_URL": self.gateway_url,
            "PAYBENCH_GATEWAY_TIMEOUT_S": _num(cfg.gateway_timeout_s),
            "PAYBENCH_RECONCILE_INTERVAL_S": _num(cfg.reconcile_interval_s),
            "PAYBENCH_SERVER_TIMING": "1" if cfg.server_timing else "0",
        }
        if cfg.cache_ttl_s is not None:
            env["PAYBENCH_CACHE_TTL_S"] = str(cfg.cache_ttl_s)
        return self._child_env(env)

    def _start_target(self, spec: TargetSpec) -> None:
        assert spec.command is not None
        port = free_port(HOST)
        launch = TargetLaunch(spec.name, HOST, port, self.config.workers)
        self.supervisor.start(
            spec.name, spec.command(launch), env=self._target_env(spec.name),
            cwd=REPO_ROOT, role=spec.process_role,
        )  # fmt: skip
        self.urls[spec.name] = f"http://{HOST}:{port}"

    def _wait_target(self, spec: TargetSpec) -> None:
        url = self.urls[spec.name] + spec.health_path
        if spec.started_by_stack:
            self.supervisor.wait_for_http(
                spec.name, url, timeout_s=self.config.startup_timeout_s
            )
            return
        reason = http_probe(url, timeout_s=5.0)
        if reason is not None:
            raise StackError(f"target {spec.name} at {url} is not healthy: {reason}")

    # -- during a run ------------------------------------------------------------------

    def check_alive(self) -> None:
        """Raise ProcessDied naming the first component that is no longer running."""
        self.supervisor.check_alive()

    def processes(self) -> list[tuple[str, int]]:
        """(role, pid) of every process of the stack, children (workers, backends) included."""
        roots = [(p.role, p.pid) for p in self.supervisor.children if p.alive()]
        roots += self.infra.pids()  # servers we did not start but can see; duplicates dropped
        return with_descendants(roots)

    def reset(self, target: str) -> None:
        """Same starting state for the next trial: empty tables (merchants kept),
        no cached keys of this target, an empty simulator ledger."""
        schema = self.schemas.get(target)
        if schema is not None:
            reset_target(self.database_url, schema)
            _delete_prefix(self.redis_url, self.redis_prefixes[target])
        merchant_setup.reset_simulator(self.gateway_url)

    def describe(self) -> dict[str, Any]:
        """The effective configuration of every target, for config.json."""
        cfg = self.config
        return {
            name: {
                "url": self.urls.get(name),
                "started_by_stack": spec.started_by_stack,
                "workers": cfg.workers if spec.started_by_stack else None,
                "db_pool_size": cfg.db_pool_size if spec.started_by_stack else None,
                "schema": self.schemas.get(name),
                "redis_prefix": self.redis_prefixes.get(name),
                "merchants": len(self.merchants.get(name, [])),
                **({"server": spec.server} if spec.server else {}),
                "requests_per_worker": spec.requests_per_worker,
            }
            for name, spec in self.specs.items()
        }

    # -- cleanup ---------------------------------------------------------------

    def _drop_shared_state(self) -> None:
        info = self.infra.postgres
        shared = info is not None and not info.embedded
        if shared and not self.config.keep_schemas and self._provisioned:
            for schema in self._provisioned:
                drop_target(self.database_url, schema)
        self._provisioned.clear()
        rinfo = self.infra.redis
        if rinfo is not None and not rinfo.embedded and not self.config.keep_schemas:
            for prefix in self.redis_prefixes.values():
                _delete_prefix(self.redis_url, prefix)


def _delete_prefix(redis_url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` with SCAN (KEYS would block a shared server)."""
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    try:
        batch: list[Any] = []
        for key in client.scan_iter(match=_glob_escape(prefix) + "*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
    finally:
        client.close()


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _max_connections_for(cfg: StackConfig) -> int:
    # Every worker of every target holds a full pool; leave room for the harness.
    started = sum(1 for spec in resolve_targets(cfg.targets, cfg.target_specs).values()
                  if spec.started_by_stack)  # fmt: skip
    return max(200, started * cfg.workers * (cfg.db_pool_size + 2) + 50)
