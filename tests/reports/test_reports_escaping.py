"""The run report shows what a run directory holds as text: no markup from it reaches a reader."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from reports import render_run
from reports.render import RenderedReport
from tests.markup_checks import HOSTILE, HOSTILE_NAME, assert_inert, markdown_to_html
from tests.reports.conftest import MAKE_RUN

TARGET = f"engine{HOSTILE_NAME}"  # a target name becomes a trial directory: no "/"
ENDPOINT = f"GET /v1/{HOSTILE}"
LOCUST_FILE = f"{HOSTILE_NAME}.csv"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> RenderedReport:
    """A run whose label, target, endpoint, settings, environment and files are all hostile."""
    make_run: ModuleType = MAKE_RUN
    profiles = dict(make_run.PROFILES)
    profiles[TARGET] = profiles.pop("engine")
    root = tmp_path_factory.mktemp("hostile") / "run"
    make_run.make_run(root, make_run.RunSpec(
        label=HOSTILE, targets=(TARGET, "legacy"), trials=2, profiles=profiles,
        invalid={f"{TARGET}-2": HOSTILE}, incomplete_after=3,
    ))
    config = json.loads((root / "config.json").read_text())
    config["targets"][TARGET][HOSTILE_NAME] = HOSTILE
    config["incomplete_reason"] = HOSTILE
    (root / "config.json").write_text(json.dumps(config))
    environment = json.loads((root / "environment.json").read_text())
    environment[HOSTILE_NAME] = HOSTILE
    (root / "environment.json").write_text(json.dumps(environment))
    trial = root / "trials" / f"{TARGET}-1"
    samples = pd.read_csv(trial / "samples.csv.gz")
    samples["name"] = samples["name"].replace("GET /v1/payments/{id}", ENDPOINT)
    samples.to_csv(trial / "samples.csv.gz", index=False, compression="gzip")
    (trial / "locust" / LOCUST_FILE).write_text("x\n")
    return render_run(root, slo="p99<500ms,errors<1%")


def test_html_run_report_escapes_every_field(hostile_run: RenderedReport) -> None:
    """Label, target names, endpoints, reasons, settings, environment and files stay text."""
    html = hostile_run.html_path.read_text(encoding="utf-8")
    assert "<script>" not in html
    assert_inert(html, [HOSTILE, TARGET, ENDPOINT, HOSTILE_NAME, LOCUST_FILE])


def test_markdown_run_report_escapes_every_field(hostile_run: RenderedReport) -> None:
    """The same fields in report.md render as text; links stay inside the run directory."""
    markdown = hostile_run.md_path.read_text(encoding="utf-8")
    assert_inert(markdown_to_html(markdown), [HOSTILE, TARGET, HOSTILE_NAME, LOCUST_FILE])


def test_benign_markdown_reads_as_before(synth: Callable[..., Path]) -> None:
    """Ordinary values are written unescaped: numbers, dotted keys and intraword underscores."""
    markdown = render_run(synth()).md_path.read_text(encoding="utf-8")
    assert "| all | load.duration_s | 10.0 |" in markdown
    assert "| machine.cpu_count_logical | 2 |" in markdown
    assert "(trials/" not in markdown  # links are made explicitly relative
    assert "[samples.csv.gz](./trials/engine-1/samples.csv.gz)" in markdown
