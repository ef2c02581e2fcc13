"""The services a stack can run, as pluggable ``TargetSpec`` entries.

A target is either *started* by the stack (``command`` builds its argv from a
``TargetLaunch``) or *already running* somewhere (``url``), in which case the
stack only health-checks it. ``legacy``, ``engine`` and ``sanic`` are built
in; another implementation is one ``register_target`` call away.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from serving.command import SOCKET_PER_WORKER
from stack.errors import UnknownTarget


@dataclass(frozen=True)
class TargetLaunch:
    """Where and how big a started target must be."""

    name: str
    host: str
    port: int
    workers: int


CommandBuilder = Callable[[TargetLaunch], list[str]]


@dataclass(frozen=True)
class TargetSpec:
    """How to run (or reach) one target service.

    ``role`` names its processes in resources.csv (defaults to ``name``).
    For a ``url`` target, ``schema`` (if set) is provisioned in the stack's
    database so a service pointed at that database finds its merchants.
    """

    name: str
    command: CommandBuilder | None = None
    health_path: str = "/health"
    role: str = ""
    url: str | None = None
    schema: str | None = None
    server: str = ""  # how it serves requests, shown with the fairness settings
    # requests one worker serves at once (None: no fixed limit, e.g. an event loop); a closed
    # model's verdict uses it to tell whether every worker was busy
    requests_per_worker: int | None = None

    def __post_init__(self) -> None:
        if (self.command is None) == (self.url is None):
            raise ValueError(f"target {self.name!r}: give exactly one of command= or url=")

    @property
    def process_role(self) -> str:
        return self.role or self.name

    @property
    def started_by_stack(self) -> bool:
        return self.command is not None


def service_command(module: str) -> CommandBuilder:
    """``python -m <module> serve --host H --port P --workers N`` (every service's CLI)."""

    def build(launch: TargetLaunch) -> list[str]:
        return [
            sys.executable, "-m", module, "serve",
            "--host", launch.host, "--port", str(launch.port), "--workers", str(launch.workers),
        ]  # fmt: skip

    return build


_REGISTRY: dict[str, TargetSpec] = {}


def register_target(spec: TargetSpec) -> None:
    """Add or replace a target under ``spec.name``."""
    _REGISTRY[spec.name] = spec


def known_targets() -> list[str]:
    return sorted(_REGISTRY)


def resolve_targets(
    names: Iterable[str], overrides: Iterable[TargetSpec] = ()
) -> dict[str, TargetSpec]:
    """Specs for ``names`` in order; ``overrides`` win over the registry by name."""
    extra = {spec.name: spec for spec in overrides}
    out: dict[str, TargetSpec] = {}
    for name in names:
        spec = extra.get(name) or _REGISTRY.get(name)
        if spec is None:
            raise UnknownTarget(name, [*_REGISTRY, *extra])
        out[name] = spec
    return out


register_target(TargetSpec(
    "legacy", command=service_command("legacy_adapter"),
    server="gunicorn sync workers (one request at a time each), one shared listening socket",
    requests_per_worker=1,
))  # fmt: skip
register_target(TargetSpec(
    "engine", command=service_command("engine"),
    server="gunicorn aiohttp workers (an event loop each), "
    + ("a listening socket per worker (SO_REUSEPORT)" if SOCKET_PER_WORKER
       else "one shared listening socket"),
))  # fmt: skip
register_target(TargetSpec(
    "sanic", command=service_command("sanic_service"),
    server="Sanic's own server: a manager process and Sanic workers (a uvloop event loop "
    "each), one shared listening socket bound by the manager",
))  # fmt: skip
