"""paybench reports: read a run directory, compute statistics, render reports, compare runs.

Public entry points (the ``paybench`` CLI delegates to ``reports.cli_commands``):

- ``render_run(run_dir, *, slo=None) -> RenderedReport``
- ``summary_table(results) -> str``
- ``load_run(run_dir) -> RunData`` and ``build_results(run, slo=None) -> dict``
- ``compare_runs(run_a, run_b, *, fail_on=None) -> Comparison``
- ``parse_slo(spec)``, ``parse_regression(spec)``, ``evaluate_slo(results, gates)``
"""

from reports.analysis import Slo
from reports.errors import GateSpecError, ReportError, RunDirError
from reports.gates import evaluate_slo, parse_regression, parse_slo
from reports.load import RunData, TrialData, load_run
from reports.render import RenderedReport, build_results, render_run, summary_table

__all__ = [
    "GateSpecError",
    "RenderedReport",
    "ReportError",
    "RunData",
    "RunDirError",
    "Slo",
    "TrialData",
    "build_results",
    "evaluate_slo",
    "load_run",
    "parse_regression",
    "parse_slo",
    "render_run",
    "summary_table",
]
