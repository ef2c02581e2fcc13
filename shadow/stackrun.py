"""``paybench shadow run``: the whole shadow pass against a real stack.

Starts PostgreSQL, Redis, the gateway simulator and the targets (primary,
candidate and, for the A/A pass, a second primary instance with its own
schema and simulator merchants), replays a capture (given, or a generated
mixed workload with writes), fetches the simulator ledger, audits it per side
and writes the report into ``runs/<timestamp>_<label>/``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rundir.config import ShadowRunDoc, write_shadow_run_doc
from rundir.layout import create_run_dir
from shadow import pipeline
from shadow.errors import EnvironmentFailed, ShadowConfigError
from shadow.mirror import PollSettings
from shadow.normalize import Rules
from shadow.replay import ReplaySettings, ReplayStats
from shadow.workload import generate, write_workload
from stack.errors import StackError
from stack.services import Stack, StackConfig
from stack.targets import resolve_targets

CAPTURE = "capture.jsonl"


@dataclass(frozen=True)
class StackRunSettings:
    runs_dir: Path = Path("runs")
    label: str = "shadow"
    capture: Path | None = None
    payments: int = 30
    aa: bool = True
    primary_target: str = "legacy"
    candidate_target: str = "engine"
    rate: float = 0.0
    gateway_profile: str = "instant"
    workers: int = 1
    seed: int = 1
    merchants: int = 2
    database_url: str | None = None
    redis_url: str | None = None
    poll: PollSettings = field(default_factory=PollSettings)

    @property
    def secondary_target(self) -> str:
        return f"{self.primary_target}2"


def _run_dir(settings: StackRunSettings) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in settings.label)
    return create_run_dir(settings.runs_dir, safe)


def _key_maps(
    merchants: Mapping[str, list[Any]], sides: Mapping[str, str], capture_side: str
) -> dict[str, dict[str, str]]:
    """Capture key -> side key, merchant by merchant (the i-th merchant of each target)."""
    capture_keys = [m.api_key for m in merchants[sides[capture_side]]]
    return {
        side: {cap: m.api_key for cap, m in zip(capture_keys, merchants[target], strict=False)}
        for side, target in sides.items()
    }


def _gateway_ids(seeds: list[Any]) -> list[str]:
    return [i for m in seeds for i in (m.juspay_merchant_id, m.paytm_mid)]


def run_shadow(settings: StackRunSettings, rules: Rules) -> tuple[Path, dict[str, Any]]:
    """Run everything; returns the run directory and the summary."""
    if settings.capture is not None and not settings.capture.exists():
        raise ShadowConfigError(f"capture file {settings.capture} does not exist")
    if settings.payments < 1:
        raise ShadowConfigError("--payments must be at least 1")
    sides = {"primary": settings.primary_target, "candidate": settings.candidate_target}
    extra_specs = []
    try:
        base = resolve_targets([settings.primary_target, settings.candidate_target])
    except StackError as exc:
        raise ShadowConfigError(str(exc)) from None
    if settings.aa:
        name = settings.secondary_target
        # Same command as the primary, its own name, schema, merchants and processes.
        extra_specs.append(dataclasses.replace(base[settings.primary_target], name=name,
                                               role=name))
        sides["secondary"] = name
    out = _run_dir(settings)
    config = StackConfig(
        log_dir=out / "logs", database_url=settings.database_url,
        redis_url=settings.redis_url, targets=tuple(sides.values()),
        target_specs=tuple(extra_specs), workers=settings.workers,
        gateway_profile=settings.gateway_profile, seed=settings.seed,
        merchants=settings.merchants,
    )
    try:
        stats, described = _run_in_stack(Stack(config), settings, sides, rules, out)
    except StackError as exc:
        raise EnvironmentFailed(f"stack failed: {exc} (logs in {out / 'logs'})") from exc
    meta = {
        "label": settings.label, "primary": sides["primary"],
        "candidate": sides["candidate"], "secondary": sides.get("secondary", "-"),
        "gateway_profile": settings.gateway_profile, "workers": settings.workers,
        "seed": settings.seed, "capture": str(settings.capture or "generated"),
        "replayed_in_s": round(stats.elapsed_s, 2),
    }
    write_shadow_run_doc(out, ShadowRunDoc(
        label=settings.label, sides=sides, targets=described,
        gateway_profile=settings.gateway_profile, seed=settings.seed,
        rate=settings.rate, payments=settings.payments,
        rules=dataclasses.asdict(rules, dict_factory=_public),
    ))
    summary = pipeline.report_dir(out, rules, meta=meta)
    return out, summary


def _run_in_stack(
    stack: Any, settings: StackRunSettings, sides: dict[str, str], rules: Rules, out: Path
) -> tuple[ReplayStats, dict[str, Any]]:
    """Inside the started stack: capture, replay, ledger; the stack stops on the way out."""
    with stack:
        capture = out / CAPTURE
        if settings.capture is not None:
            shutil.copyfile(settings.capture, capture)
        else:
            keys = [m.api_key for m in stack.merchants[settings.primary_target]]
            write_workload(capture, generate(settings.payments, keys, seed=settings.seed,
                                             tag=out.name[-8:].replace("-", "")))
        replay = ReplaySettings(
            primary=stack.urls[sides["primary"]], candidate=stack.urls[sides["candidate"]],
            secondary=stack.urls.get(sides.get("secondary", "")), rate=settings.rate,
            allow_writes=True, keys=_key_maps(stack.merchants, sides, "primary"),
            poll=settings.poll, id_prefixes=rules.id_prefixes,
        )
        stats = asyncio.run(pipeline.replay_to_dir(capture, replay, out))
        pipeline.ledger_to_dir(stack.gateway_url, out, {
            side: _gateway_ids(stack.merchants[target]) for side, target in sides.items()
        })
        described: dict[str, Any] = stack.describe()
    return stats, described


def _public(items: list[tuple[str, Any]]) -> dict[str, Any]:
    return {k: v for k, v in items if not k.startswith("_")}
