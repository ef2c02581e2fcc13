"""The steps of a shadow run over one output directory.

    replay_to_dir   capture -> exchanges.jsonl + replay.json
    ledger_to_dir   the simulator's ledger -> ledger.json (with scopes.json)
    report_dir      exchanges.jsonl (+ ledger) -> summary.json, report.html, report.md

Each step reads and writes files only in the directory, so ``shadow report
DIR`` can re-render a finished run with other rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway_sim.admin_client import AdminError, GatewayAdmin
from shadow.analysis import analyze
from shadow.audit import AuditResult, SideScope, audit, parse_ledger, payment_refs
from shadow.capture import CaptureWriter, iter_capture, read_capture
from shadow.errors import ShadowConfigError
from shadow.normalize import Rules, load_rules, rules_to_mapping
from shadow.replay import ReplaySettings, ReplayStats, replay
from shadow.report import write_report

EXCHANGES = "exchanges.jsonl"
LEDGER = "ledger.json"
SCOPES = "scopes.json"
REPLAY = "replay.json"
RULES = "rules.json"
META = "meta.json"


async def replay_to_dir(capture: Path, settings: ReplaySettings, out_dir: Path) -> ReplayStats:
    """Replay ``capture`` into ``out_dir/exchanges.jsonl``; stats in ``replay.json``."""
    # Read (and validate) the whole capture first: a bad line fails before any send.
    exchanges = read_capture(capture)
    with CaptureWriter(out_dir / EXCHANGES) as writer:
        stats = await replay(exchanges, settings, writer)
    (out_dir / REPLAY).write_text(json.dumps(stats.to_json(), indent=2) + "\n")
    return stats


def ledger_to_dir(
    gateway_url: str, out_dir: Path, merchants: Mapping[str, list[str]], timeout_s: float = 15.0
) -> None:
    """Save the simulator's whole ledger and each side's gateway merchant ids."""
    try:
        with GatewayAdmin(gateway_url, timeout_s=timeout_s) as admin:
            ledger = admin.ledger()
    except AdminError as exc:
        raise ShadowConfigError(f"ledger: {exc}") from None
    save_ledger(out_dir, ledger, merchants)


def save_ledger(out_dir: Path, ledger: Any, merchants: Mapping[str, list[str]]) -> None:
    (out_dir / LEDGER).write_text(json.dumps(ledger, indent=1) + "\n")
    (out_dir / SCOPES).write_text(json.dumps({k: sorted(v) for k, v in merchants.items()},
                                             indent=2) + "\n")


def audit_dir(out_dir: Path) -> AuditResult | None:
    """Audit the saved ledger against the sides' payments, if a ledger was saved."""
    if not (out_dir / LEDGER).exists() or not (out_dir / SCOPES).exists():
        return None
    try:
        entries = parse_ledger(json.loads((out_dir / LEDGER).read_text()))
        merchants = json.loads((out_dir / SCOPES).read_text())
    except ValueError as exc:
        raise ShadowConfigError(f"unreadable ledger in {out_dir}: {exc}") from None
    exchanges = read_capture(out_dir / EXCHANGES)
    scopes = {
        side: SideScope(frozenset(ids), payment_refs(exchanges, side))
        for side, ids in merchants.items()
    }
    return audit(entries, scopes)


def report_dir(
    out_dir: Path, rules: Rules, *, meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Analyse ``out_dir/exchanges.jsonl`` (and its ledger) and write the report."""
    path = out_dir / EXCHANGES
    if not path.exists():
        raise ShadowConfigError(f"{out_dir} has no {EXCHANGES}: not a shadow output directory")
    analysis = analyze(iter_capture(path), rules)
    # The run's settings are kept so a later ``shadow report DIR`` shows them too.
    if meta:
        (out_dir / META).write_text(json.dumps(dict(meta), indent=2, default=str) + "\n")
    elif (out_dir / META).exists():
        meta = json.loads((out_dir / META).read_text())
    info = dict(meta or {})
    if (out_dir / REPLAY).exists():
        stats = json.loads((out_dir / REPLAY).read_text())
        info.setdefault("replay_elapsed_s", stats.get("elapsed_s"))
        info.setdefault("replay_late_starts", stats.get("late"))
        for side, sends in (stats.get("sends") or {}).items():
            info.setdefault(f"{side}_send_failures", f"{sends['failed']} of {sends['sent']}")
    # The effective rules sit beside the report so it can be reproduced.
    (out_dir / RULES).write_text(json.dumps(rules_to_mapping(rules), indent=2) + "\n")
    return write_report(out_dir, analysis, audit_dir(out_dir), meta=info)


def saved_rules(out_dir: Path) -> Rules:
    """The rules a directory was last reported with (defaults when there are none)."""
    path = out_dir / RULES
    return load_rules(path if path.exists() else None)
