"""Render a run directory into results.json, report.html, report.md and figures/*.png.

``render_run`` is what ``paybench report RUN_DIR`` calls (through
``reports.cli_commands.report_command``). The HTML is self-contained: inline CSS and
figures embedded as base64 data URIs, so it survives being mailed or attached to a
review; the Markdown links ``figures/*.png`` beside it.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from reports import anatomy, headline, markup
from reports import capacity as rcap
from reports import format as fmt
from reports.analysis import Slo, analyse_run, slo_from_config
from reports.figures import render_figures
from reports.gates import breach_text, evaluate_slo, parse_slo, slo_limits
from reports.load import RunData, load_run
from rundir import layout
from rundir.files import write_results


@dataclass(frozen=True)
class RenderedReport:
    """Paths written by ``render_run`` and the results document they show."""

    run_dir: Path
    results: dict[str, Any]
    results_path: Path
    html_path: Path
    md_path: Path
    figures: tuple[Path, ...]

    @property
    def verdict(self) -> str:
        """The one-sentence verdict."""
        return str(self.results["verdict"]["text"])

    @property
    def gates_passed(self) -> bool:
        """False when any SLO gate given to ``render_run`` failed."""
        return bool(self.results.get("gates_passed", True))


def jsonable(value: Any) -> Any:
    """Plain JSON types only: numpy scalars unwrapped, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _environment(markdown: bool) -> jinja2.Environment:
    # Target names, labels and environment values are shown as they are: every
    # value is escaped for the format it is written in (see reports.markup).
    make = markup.markdown_environment if markdown else markup.html_environment
    env = make(
        jinja2.PackageLoader("reports", "templates"),
        trim_blocks=False,
        lstrip_blocks=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(num=fmt.num, pct=fmt.pct, interval=fmt.interval, ratio=fmt.ratio,
                       flatten=fmt.flatten, breaches=breach_text)
    return env


def sustained_rule() -> str:
    """The sustained rule in words, from the constants that apply it."""
    return (f"the target completes at least {rcap.COMPLETED_MIN:.0%} of the requests that "
            f"start in the window, at most {rcap.BEHIND_MAX:.0%} of starts are late or "
            "dropped, errors stay within the objective, the queue does not grow (mean latency "
            "of the window's last third not above its first third's by "
            f"{rcap.GROWTH_FACTOR - 1:.0%} and by {rcap.GROWTH_OF_OBJECTIVE:.0%} of the "
            "objective) and the p99 meets the objective")


def resolve_slo(run: RunData, slo: Slo | str | None) -> tuple[Slo, str | None]:
    """The SLO for the capacity search plus the gate spec to evaluate (if one was given).

    A spec string such as ``p99<500ms,errors<1%`` both sets the knee's limits and becomes
    gates; limits it does not mention fall back to config.json's ``slo`` or the defaults.
    """
    base = slo_from_config(run.config)
    if slo is None:
        return base, None
    if isinstance(slo, Slo):
        return slo, None
    gates = parse_slo(slo)
    p99, err = slo_limits(gates)
    return Slo(p99 if p99 is not None else base.p99_ms,
               err if err is not None else base.error_ratio), slo


def build_results(run: RunData, slo: Slo | str | None = None,
                  slo_targets: Sequence[str] | None = None) -> dict[str, Any]:
    """The results document for a loaded run, with SLO gates evaluated when given (on
    ``slo_targets``, by default the candidates)."""
    resolved, spec = resolve_slo(run, slo)
    results = analyse_run(run, resolved)
    if spec is not None:
        gate_results = evaluate_slo(results, parse_slo(spec), slo_targets)
        results["gates"] = [g.as_dict() for g in gate_results]
        results["gates_passed"] = all(g.passed for g in gate_results)
    else:
        results["gates"] = []
        results["gates_passed"] = True
    return results


def _scope_note(results: dict[str, Any]) -> str:
    scopes = {t["summary_scope"] for t in results["targets"].values()}
    for scope in (headline.AT_CAPACITY, headline.TOP_STEP, headline.ALL_STEPS):
        if scope in scopes:
            return headline.SCOPE_NOTES[scope]
    return ""


def render_run(run_dir: Path | str, *, slo: Slo | str | None = None,
               slo_targets: Sequence[str] | None = None) -> RenderedReport:
    """Load ``run_dir`` and write results.json, report.html, report.md and figures/ into it.

    Called by ``paybench report RUN_DIR [--slo SPEC]``. ``slo`` may be an ``Slo``, a gate
    spec (``"p99<500ms,errors<1%"``, which is also evaluated as gates) or None (config.json's
    ``slo`` or p99 <= 500 ms and errors <= 1 %). Raises ``RunDirError`` for an unusable
    run directory and ``GateSpecError`` (a ValueError) for a malformed spec.
    """
    run = load_run(run_dir)
    results = build_results(run, slo, slo_targets)
    fig_dir = run.path / layout.FIGURES
    figures = render_figures(run, results, fig_dir)
    results["figures"] = [{"name": f.name, "title": f.title, "caption": f.caption,
                           "file": f"{layout.FIGURES}/{f.path.name}"} for f in figures]
    results = jsonable(results)

    results_path = write_results(run.path, results)
    embedded = [{"name": f.name, "title": f.title, "caption": f.caption,
                 "data": base64.b64encode(f.path.read_bytes()).decode("ascii")} for f in figures]
    first = next(iter(results["targets"].values()), None)
    coverage = fmt.pct(first["summary"]["throughput_rps"]["confidence"], 0) if first else "-"
    # a run whose requests never failed gets a sentence instead of an empty chart
    no_errors = bool(results["trials"]) and not any(t.get("error_ratio")
                                                    for t in results["trials"])
    context = {"r": results, "scope_note": _scope_note(results), "coverage": coverage,
               "no_errors": no_errors, "sustained_rule": sustained_rule(),
               "anatomy_rows": anatomy.table_rows(results["composition"])}
    html_path = run.path / layout.REPORT_HTML
    html_path.write_text(_environment(markdown=False).get_template("report.html.j2").render(
        figures=embedded, **context), encoding="utf-8")
    md_path = run.path / layout.REPORT_MD
    md_path.write_text(_environment(markdown=True).get_template("report.md.j2").render(
        figures=embedded, **context), encoding="utf-8")
    return RenderedReport(run.path, results, results_path, html_path, md_path,
                          tuple(f.path for f in figures))


def _slo_cell(info: dict[str, Any]) -> str:
    text = breach_text(info.get("slo_breaches") or [])
    return text or ("-" if info["summary"]["p99_ms"]["median"] is None else "meets")


def _capacity_rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    header = ("target", "capacity req/s (95% interval)", "at iterations/s", "held",
              "p50 ms", "p99 ms", "errors", "CPU s/1k", "objective")
    rows: list[tuple[str, ...]] = [header]
    for name, t in results.get("targets", {}).items():
        c = (results.get("capacity") or {}).get(name) or {}
        s = t["summary"]
        iv = c.get("interval") or {}
        rows.append((
            name, fmt.num(c.get("max_sustainable_rps")) + (
                f" ({fmt.num(iv['low'])}-{fmt.num(iv['high'])})"
                if iv.get("low") is not None else ""),
            fmt.num(c.get("max_sustainable_offered")),
            f"{c.get('held_at_capacity', 0)}/{c.get('trials_at_capacity', 0)}",
            fmt.num(s["p50_ms"]["median"]), fmt.num(s["p99_ms"]["median"]),
            fmt.pct(s["error_ratio"]["median"]), fmt.num(s["cpu_per_1k_target"]["median"]),
            _slo_cell(t),
        ))
    return rows


def _step_rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    """A sweep's figures per step: every step of every target, or each gateway setting."""
    caps = results.get("capacity") or {}
    if caps:
        unit = next(iter(caps.values())).get("offered_unit") or "offered"
        rows: list[tuple[str, ...]] = [("target", f"step ({unit})", "completed req/s",
                                        "p50 ms", "p99 ms", "errors", "sustained")]
        for name, c in caps.items():
            for step in c.get("steps") or []:
                held = {True: "yes", False: "no", None: "inconclusive"}[step.get("sustained")]
                rows.append((name, fmt.num(step.get("offered")),
                             fmt.num(step.get("completed_rps")), fmt.num(step.get("p50_ms")),
                             fmt.num(step.get("p99_ms")), fmt.pct(step.get("error_ratio")),
                             held))
        return rows
    sweep = results.get("gateway_sweep") or results.get("profile_sweep") or {}
    key = "gateway_latency_ms" if results.get("gateway_sweep") else "gateway_profile"
    cand, base = sweep.get("candidate", "candidate"), sweep.get("baseline", "baseline")
    rows = [("gateway", f"{cand} req/s", f"{base} req/s", "speedup")]
    for p in sweep.get("points") or []:
        rows.append((fmt.num(p[key]) if key == "gateway_latency_ms" else str(p[key]),
                     fmt.num(p["throughput_rps"].get(cand)),
                     fmt.num(p["throughput_rps"].get(base)), fmt.ratio(p["speedup"])))
    return rows


def summary_table(results: dict[str, Any]) -> str:
    """A short plain-text table of ``results`` for the CLI to print after a run: per target
    (at its capacity in a capacity search), or per step for a sweep."""
    header: tuple[str, ...] = ("target", "valid", "req/s", "p50 ms", "p99 ms", "errors",
                               "CPU s/1k", "SLO")
    rows: list[tuple[str, ...]] = [header]
    for name, t in results.get("targets", {}).items():
        s = t["summary"]
        rows.append((
            name, f"{t['valid_trials']}/{t['trials']}", fmt.interval(s["throughput_rps"]),
            fmt.num(s["p50_ms"]["median"]), fmt.num(s["p99_ms"]["median"]),
            fmt.pct(s["error_ratio"]["median"]), fmt.num(s["cpu_per_1k_target"]["median"]),
            _slo_cell(t),
        ))
    if results.get("capacity_search"):
        rows = _capacity_rows(results)
    elif results.get("per_step"):
        rows = _step_rows(results)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if not results.get("complete", True):
        lines.append("INCOMPLETE RUN: " + "; ".join(results.get("incomplete_reasons", [])))
    for gate in results.get("gates", []):
        if not gate["passed"]:
            lines.append(f"gate FAILED: {gate['spec']} on {gate['target']}: {gate['detail']}")
    lines.append("verdict: " + str(results.get("verdict", {}).get("text", "-")))
    said = (results.get("composition") or {}).get("sentence")
    if said:
        lines.append("where the time goes: " + str(said))
    return "\n".join(lines)
