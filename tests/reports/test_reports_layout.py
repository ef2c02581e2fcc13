"""What a report shows beside its numbers: which target breaks the objective, per-step
figures for a sweep, the Markdown's tables, dates, an errors sentence, names that do not
wrap, and the command and commit that reproduce the run."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtests.config import resolve
from loadtests.run import config_document
from reports import render_run, summary_table
from reports.gates import slo_breaches
from reports.verdict import method_note


def section(html: str, name: str) -> str:
    return html.split(f'id="{name}"', 1)[1].split("</section>", 1)[0]


def flaky_engine(make_run: Any) -> dict[str, Any]:
    flaky = make_run.TargetProfile(rps=180.0, median_ms=18.0, sigma=0.5, error_ratio=0.2,
                                   cpu_ms_per_request=1.6)
    return {**make_run.PROFILES, "engine": flaky}


def test_breaches_are_what_the_medians_miss() -> None:
    """slo_breaches names the p99 and error objectives a summary's medians exceed, no more."""
    summary = {"p99_ms": {"median": 812.0}, "error_ratio": {"median": 0.004}}
    assert slo_breaches(summary, 500.0, 0.01) == [
        {"objective": "p99 <= 500 ms", "value": 812.0, "shown": "812 ms"}]
    assert slo_breaches(summary, 900.0, 0.01) == []
    assert slo_breaches({"p99_ms": {"median": None}, "error_ratio": {"median": None}},
                        1.0, 0.0) == []


def test_target_breaking_the_slo_is_marked_everywhere(
        synth: Callable[..., Path], make_run: Any) -> None:
    """The target whose medians break the header's objective is marked in the HTML and
    Markdown summary tables, the CLI table and the verdict; the other reads 'meets'."""
    rendered = render_run(synth(trials=2, duration_s=3.0, profiles=flaky_engine(make_run)))
    html = section(rendered.html_path.read_text(encoding="utf-8"), "summary")
    engine_row = next(r for r in html.split("<tr>") if ">engine<" in r)
    legacy_row = next(r for r in html.split("<tr>") if ">legacy<" in r)
    assert re.search(r'class="breaks">breaks .*errors &lt;= 1% at \d+\.\d\d%<', engine_row)
    assert ">meets<" in legacy_row
    md = rendered.md_path.read_text(encoding="utf-8")
    (md_row,) = [ln for ln in md.splitlines() if ln.startswith("| engine | 2 / 2 | ")]
    assert "**breaks " in md_row
    assert "| p50 (ms) | p90 (ms) | p95 (ms) | p99 (ms) |" in md
    assert md_row.count("|") == 14  # the header's 13 columns
    assert "errors <= 1% at" in summary_table(rendered.results)
    assert rendered.results["verdict"]["text"].startswith("engine (breaks ")


def test_stairs_sweep_shows_steps_not_medians(sweep_run: Path) -> None:
    """A stairs sweep names its stairs, drops the medians table and the throughput bars,
    points to the per-step figures, and takes its summary from the highest sustained step."""
    rendered = render_run(sweep_run)
    results = rendered.results
    assert results["per_step"] is True
    assert results["method"].startswith("Open-model stairs of 20, 40, 80, 160, 240 "
                                        "iterations/s")
    assert "Closed model" not in results["method"]
    html = rendered.html_path.read_text(encoding="utf-8")
    summary = section(html, "summary")
    assert "<table>" not in summary
    assert 'href="#capacity"' in summary
    assert "throughput" not in {f["name"] for f in results["figures"]}
    md = rendered.md_path.read_text(encoding="utf-8")
    assert "| target | valid / trials |" not in md
    assert "### legacy: every step" in md
    legacy = results["targets"]["legacy"]
    top = results["capacity"]["legacy"]["max_sustainable_offered"]
    assert legacy["summary_scope"] == "highest sustained step"
    assert legacy["summary_trials"] == [t["trial"] for t in results["trials"]
                                        if t["target"] == "legacy" and t["offered"] == top]
    text = summary_table(results)
    assert "step (iterations/s)" in text
    assert len([ln for ln in text.splitlines() if ln.startswith("legacy ")]) == 5


def test_user_stairs_are_named_as_such(tmp_path: Path) -> None:
    """`paybench sweep --sweep-users 4,16` records the closed model without one user count,
    and its method names the stairs (not 'Closed model with 20 users')."""
    config = resolve({"sweep_users": "4,16"}, env={}, cwd=tmp_path)
    doc = config_document(config, targets={}, plans=[], argv=["sweep", "--sweep-users", "4,16"],
                          kind="sweep")
    assert doc.load is not None
    assert (doc.load.model, doc.load.users) == ("closed", None)
    assert doc.to_json()["load"]["sweep"] == {"by": "users", "steps": [4, 16]}
    note = method_note({"slo": {"p99_ms": 500.0, "error_ratio": 0.01}}, doc.load)
    assert note.startswith("Closed-model stairs of 4, 16 users")
    assert "3 s warm-up + 15 s" in note
    assert "20 users" not in note


def test_markdown_has_endpoints_trials_and_formatted_dates(rendered_small: Any) -> None:
    """report.md has the per-endpoint and trials tables; both reports show captured_at as a
    date, not a bare epoch."""
    md = rendered_small.md_path.read_text(encoding="utf-8")
    assert "## Per endpoint" in md
    assert "| POST /v1/payments | " in md
    assert "| order | trial | valid | requests |" in md
    html = rendered_small.html_path.read_text(encoding="utf-8")
    for text in (md, html):
        assert "2026-11-18 11:06:30 UTC" in text
        assert not re.search(r"captured\\?_at\W+\s*(</td><td[^>]*>|\| )1794999990\.0", text)


def test_no_errors_is_a_sentence_not_an_empty_chart(
        synth: Callable[..., Path], make_run: Any) -> None:
    """A run without a failed request has no errors chart; both reports say 'no errors'."""
    clean = {name: make_run.TargetProfile(rps=p.rps, median_ms=p.median_ms, sigma=p.sigma,
                                          error_ratio=0.0,
                                          cpu_ms_per_request=p.cpu_ms_per_request)
             for name, p in make_run.PROFILES.items()}
    rendered = render_run(synth(trials=2, duration_s=3.0, profiles=clean))
    assert all(t["error_ratio"] == 0 for t in rendered.results["trials"])
    assert "errors" not in {f["name"] for f in rendered.results["figures"]}
    assert not (rendered.run_dir / "figures" / "errors.png").exists()
    assert "Errors: no errors." in rendered.html_path.read_text(encoding="utf-8")
    assert "Errors: no errors." in rendered.md_path.read_text(encoding="utf-8")


def test_trial_names_do_not_wrap(rendered_small: Any) -> None:
    """Trial and target name cells carry the no-wrap class the stylesheet defines."""
    html = rendered_small.html_path.read_text(encoding="utf-8")
    assert re.search(r"td\.nw[^{]*\{\s*white-space:\s*nowrap", html)
    assert '<td class="l nw">legacy-1</td>' in section(html, "trials")
    assert '<td class="l nw">engine</td>' in section(html, "summary")


def test_reports_give_the_command_and_commit(small_run: Path) -> None:
    """Both reports show the exact command (with the PAYBENCH_* variables and the config
    file it ran with) and the git commit."""
    config = json.loads((small_run / "config.json").read_text())
    config["command"] = ["paybench", "run", "--quick", "--label", "two words"]
    config["settings_from"] = {"env": {"PAYBENCH_WORKERS": "3"},
                               "file": {"path": "/x/paybench.toml",
                                        "values": {"users": 40, "targets": ["engine"]}}}
    (small_run / "config.json").write_text(json.dumps(config))
    rendered = render_run(small_run)
    html = rendered.html_path.read_text(encoding="utf-8")
    md = rendered.md_path.read_text(encoding="utf-8")
    commit = "0000000000000000000000000000000000000000"
    assert commit in section(html, "reproduce")
    assert f"git commit `{commit}`" in md
    command = "PAYBENCH_WORKERS=3 paybench run --quick --label 'two words'"
    assert rendered.results["reproduce"]["command"] == command
    assert command.replace("'", "&#39;") in section(html, "reproduce")
    assert f"```sh\n{command}\n```" in md
    assert '`/x/paybench.toml: users = 40; targets = ["engine"]`' in md


def test_a_run_without_its_command_says_so(rendered_small: Any) -> None:
    """A run directory whose config.json has no command says so instead of showing one."""
    assert rendered_small.results["reproduce"]["command"] is None
    assert "command line was not recorded" in rendered_small.md_path.read_text(encoding="utf-8")
    assert "command line was not recorded" in section(
        rendered_small.html_path.read_text(encoding="utf-8"), "reproduce")
