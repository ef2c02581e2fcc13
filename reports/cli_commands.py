"""Argument parsing and exit codes for ``paybench report`` and ``paybench compare``.

The ``paybench`` CLI delegates to these functions unchanged. Exit codes: 0 when all is
well, 1 when a gate tripped (an SLO or a regression), 2 for bad input (a missing or
corrupt run directory, a malformed gate spec, bad arguments).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reports.compare import compare_runs, format_comparison
from reports.errors import ReportError
from reports.render import render_run, summary_table

EXIT_OK = 0
EXIT_GATE = 1
EXIT_BAD_INPUT = 2


def _parse(parser: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace | int:
    try:
        return parser.parse_args(args)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT


def report_command(args: list[str]) -> int:
    """``paybench report RUN_DIR [--slo SPEC]``: render the report, print the summary.

    Returns 0, 1 when an SLO gate failed, 2 for bad input.
    """
    parser = argparse.ArgumentParser(prog="paybench report",
                                     description="Render results.json, report.html, "
                                     "report.md and figures/ for a run directory.")
    parser.add_argument("run_dir", type=Path, help="run directory (runs/<time>_<label>)")
    parser.add_argument("--slo", default=None,
                        help="SLO gates, e.g. 'p99<500ms,errors<1%%' (exit 1 if one fails)")
    parser.add_argument("--slo-targets", default=None, metavar="T1,T2",
                        help="targets the gates apply to (default: the candidates, every "
                        "target but the baseline)")
    ns = _parse(parser, args)
    if isinstance(ns, int):
        return ns
    targets = [t.strip() for t in ns.slo_targets.split(",") if t.strip()] \
        if ns.slo_targets else None
    try:
        rendered = render_run(ns.run_dir, slo=ns.slo, slo_targets=targets)
    except (ReportError, ValueError) as exc:
        sys.stderr.write(f"paybench report: {exc}\n")
        return EXIT_BAD_INPUT
    sys.stdout.write(summary_table(rendered.results) + "\n")
    sys.stdout.write(f"report: {rendered.html_path}\n")
    return EXIT_OK if rendered.gates_passed else EXIT_GATE


def compare_command(args: list[str]) -> int:
    """``paybench compare RUN_A RUN_B [--fail-on SPEC] [--slo SPEC] [--json PATH]
    [--allow-config-mismatch] [--gate-insignificant]``.

    Prints per-target changes of run B against run A. Returns 0, 1 when a regression
    or SLO gate tripped, 2 for bad input or regression gates on runs whose load settings
    differ (unless --allow-config-mismatch).
    """
    parser = argparse.ArgumentParser(prog="paybench compare",
                                     description="Compare run B against run A.")
    parser.add_argument("run_a", type=Path, help="reference run directory")
    parser.add_argument("run_b", type=Path, help="new run directory")
    parser.add_argument("--fail-on", default=None,
                        help="regression gates, e.g. 'p99:10%%,throughput:5%%'")
    parser.add_argument("--slo", default=None, help="SLO gates on run B, e.g. 'p99<500ms'")
    parser.add_argument("--json", type=Path, default=None, help="also write the comparison here")
    parser.add_argument("--allow-config-mismatch", action="store_true",
                        help="evaluate --fail-on even when the runs' load settings differ "
                        "(users, rate, model, durations, workers, gateway, targets...); "
                        "without it such a comparison exits 2")
    parser.add_argument("--gate-insignificant", action="store_true",
                        help="let --fail-on trip on the median change alone, even when "
                        "Mann-Whitney cannot tell it from noise (default: significant only)")
    ns = _parse(parser, args)
    if isinstance(ns, int):
        return ns
    try:
        cmp = compare_runs(ns.run_a, ns.run_b, fail_on=ns.fail_on, slo=ns.slo,
                           allow_config_mismatch=ns.allow_config_mismatch,
                           gate_insignificant=ns.gate_insignificant)
    except (ReportError, ValueError) as exc:
        sys.stderr.write(f"paybench compare: {exc}\n")
        return EXIT_BAD_INPUT
    sys.stdout.write(format_comparison(cmp) + "\n")
    if ns.json is not None:
        ns.json.write_text(json.dumps(cmp.as_dict(), indent=2, allow_nan=False) + "\n",
                           encoding="utf-8")
    if cmp.refused:
        sys.stderr.write(f"paybench compare: refusing to gate: {cmp.refused}; compare runs "
                         "made with the same settings, or add --allow-config-mismatch\n")
        return EXIT_BAD_INPUT
    return EXIT_OK if cmp.passed else EXIT_GATE
