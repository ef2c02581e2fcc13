"""Rendering: every section, embedded figures, verdicts that match results.json."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from reports import build_results, load_run, render_run, summary_table
from reports.analysis import webhook_note
from reports.figures import fig_capacity, fig_gateway_sweep
from reports.markup import markdown_text
from reports.render import RenderedReport

SECTIONS = ("verdict", "summary", "comparison", "figures", "trials", "invalid-trials",
            "endpoints", "fairness", "environment", "raw-data")


def test_render_fixture_writes_everything(rendered_small: RenderedReport) -> None:
    """render_run writes results.json, report.html, report.md and one PNG per figure."""
    assert rendered_small.results_path.exists()
    assert rendered_small.html_path.exists()
    assert rendered_small.md_path.exists()
    names = {p.name for p in rendered_small.figures}
    assert {"throughput.png", "latency_spectrum.png", "latency_over_time.png", "errors.png",
            "cpu.png"} <= names
    assert all(p.stat().st_size > 5_000 for p in rendered_small.figures)


def test_html_has_sections_and_embedded_figures(rendered_small: RenderedReport) -> None:
    """Every section is present and every figure is a base64 data URI, no external asset."""
    html = rendered_small.html_path.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'id="{section}"' in html, section
    embedded = re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', html)
    assert len(embedded) == len(rendered_small.figures)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html
    assert "<style>" in html


def test_verdict_in_html_matches_results_json(rendered_small: RenderedReport) -> None:
    """The verdict sentence in report.html and report.md is the one in results.json."""
    results = json.loads(rendered_small.results_path.read_text(encoding="utf-8"))
    html = rendered_small.html_path.read_text(encoding="utf-8")
    match = re.search(r'id="verdict-text">(.*?)</p>', html, re.S)
    assert match is not None
    assert match.group(1).replace("&#39;", "'") == results["verdict"]["text"]
    # report.md shows it escaped for Markdown (a backtick or underscore is text, not markup)
    escaped = str(markdown_text(results["verdict"]["text"]))
    assert escaped in rendered_small.md_path.read_text(encoding="utf-8")


def test_fixture_verdict_is_not_significant_with_three_trials(
        rendered_small: RenderedReport) -> None:
    """3 vs 2 valid trials give a ratio with an interval but 'not significant' wording."""
    verdict = rendered_small.results["verdict"]
    assert verdict["metric"] == "throughput_rps"
    assert not verdict["significant"]
    assert "not significant" in verdict["text"]
    assert "95% CI" in verdict["text"]
    assert 2.5 < verdict["ratio"] < 5.0
    assert verdict["low"] <= verdict["ratio"] <= verdict["high"]


def test_results_json_holds_the_numbers(rendered_small: RenderedReport) -> None:
    """results.json is complete, lists every trial and calls out the invalid one."""
    results = json.loads(rendered_small.results_path.read_text(encoding="utf-8"))
    assert results["complete"] is True
    assert len(results["trials"]) == 6
    bad = [t for t in results["trials"] if not t["valid"]]
    assert [t["trial"] for t in bad] == ["legacy-2"]
    assert "CPU" in bad[0]["invalid_reasons"][0]
    legacy = results["targets"]["legacy"]
    assert (legacy["trials"], legacy["valid_trials"]) == (3, 2)
    assert legacy["summary"]["throughput_rps"]["n"] == 2
    for key in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "error_ratio",
                "cpu_per_1k_target", "cpu_per_1k_all"):
        assert results["targets"]["engine"]["summary"][key]["median"] is not None, key
    assert results["fairness"]["targets"]["engine"]["workers"] == 2
    assert results["fairness"]["gateway_profile"] == "fast"
    assert {f["name"] for f in results["figures"]} >= {"throughput", "latency_spectrum"}


def test_method_note_names_the_load_model(rendered_small: RenderedReport) -> None:
    """The report says how load was applied, and warns about the closed model's tails."""
    method = rendered_small.results["method"]
    assert method.startswith("Closed model with 20 users")
    assert "coordinated omission" in method
    assert "3 trial(s) per target, interleaved" in method
    assert method in rendered_small.html_path.read_text(encoding="utf-8")


def test_invalid_trial_and_reason_shown_in_html(rendered_small: RenderedReport) -> None:
    """The invalid trial and its reason appear in the invalid-trials section."""
    html = rendered_small.html_path.read_text(encoding="utf-8")
    section = html.split('id="invalid-trials"')[1].split("</section>")[0]
    assert "legacy-2" in section
    assert "CPU warning" in section


def test_html_shows_fairness_environment_and_raw_links(rendered_small: RenderedReport) -> None:
    """Workers, pool, gateway profile, environment values and raw file links are shown."""
    html = rendered_small.html_path.read_text(encoding="utf-8")
    fairness = html.split('id="fairness"')[1].split("</section>")[0]
    assert "workers" in fairness
    assert "pool" in fairness
    assert "fast" in fairness
    assert "Synthetic CPU" in html
    assert 'href="trials/engine-1/samples.csv.gz"' in html
    assert 'href="results.json"' in html


def test_markdown_links_existing_figures(rendered_small: RenderedReport) -> None:
    """Every figure linked from report.md exists beside it."""
    md = rendered_small.md_path.read_text(encoding="utf-8")
    links = re.findall(r"\]\((figures/[^)]+\.png)\)", md)
    assert links
    assert all((rendered_small.run_dir / link).exists() for link in links)


def test_summary_table_lists_targets(rendered_small: RenderedReport) -> None:
    """The CLI table names each target, its valid trial count and the verdict."""
    text = summary_table(rendered_small.results)
    assert "engine" in text
    assert "2/3" in text
    assert "verdict:" in text


def test_incomplete_run_renders_with_banner(synth: Callable[..., Path]) -> None:
    """An interrupted run without environment.json renders, flagged incomplete."""
    run_dir = synth(incomplete_after=3, duration_s=3.0, warmup_s=1.0)
    (run_dir / "environment.json").unlink()
    rendered = render_run(run_dir)
    html = rendered.html_path.read_text(encoding="utf-8")
    assert rendered.results["complete"] is False
    assert "Incomplete run" in html
    assert "environment.json is missing" in html
    assert "INCOMPLETE RUN" in summary_table(rendered.results)


def test_significant_verdict_with_enough_trials(synth: Callable[..., Path]) -> None:
    """With 6 valid trials per target a 3x difference is called significant."""
    results = build_results(load_run(synth(trials=6, duration_s=3.0, warmup_s=1.0)))
    assert results["verdict"]["significant"] is True
    assert "not significant" not in results["verdict"]["text"]
    assert re.search(r"engine sustains \d+\.\d+x \(95% CI [\d.]+-[\d.]+x\) legacy's throughput",
                     results["verdict"]["text"])


def test_open_model_verdict_is_about_p99(synth: Callable[..., Path]) -> None:
    """In the open model both targets see the offered rate, so the verdict compares p99."""
    results = build_results(load_run(synth(model="open", trials=4, duration_s=3.0,
                                           warmup_s=1.0)))
    assert results["verdict"]["metric"] == "p99_ms"
    assert "p99 latency" in results["verdict"]["text"]


def test_sweep_capacity(sweep_run: Path) -> None:
    """A sweep run gets a knee per target, a capacity figure and a capacity verdict."""
    results = build_results(load_run(sweep_run))
    caps = results["capacity"]
    assert set(caps) == {"engine", "legacy"}
    assert caps["legacy"]["knee_offered"] == 80.0
    assert caps["engine"]["max_sustainable_rps"] > caps["legacy"]["max_sustainable_rps"]
    assert "max sustainable" in results["verdict"]["text"]
    assert fig_capacity(results) is not None


def test_capacity_figure_of_a_step_without_figures_warns_nothing(sweep_run: Path) -> None:
    """A step cut short before it measured anything (no p50, p99 or completions) is drawn
    as a gap, with no numpy warning about an empty median."""
    results = build_results(load_run(sweep_run))
    step = dict(results["capacity"]["legacy"]["steps"][0])
    step.update(offered=1234.0, p50_ms=None, p99_ms=None, completed_rps=None, sustained=False)
    results["capacity"]["legacy"]["steps"].append(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fig_capacity(results) is not None


def test_slo_spec_changes_knee_and_adds_gates(sweep_run: Path) -> None:
    """An SLO spec sets the knee's p99 limit and records pass/fail gates, on the candidates
    by default and on the targets named when asked."""
    results = build_results(load_run(sweep_run), "p99<100ms,errors<5%")
    assert results["slo"] == {"p99_ms": 100.0, "error_ratio": 0.05}
    assert {g["target"] for g in results["gates"]} == {"engine"}  # legacy is the baseline
    both = build_results(load_run(sweep_run), "p99<100ms,errors<5%", ["legacy", "engine"])
    assert both["gates_passed"] is False
    assert any(not g["passed"] and g["target"] == "legacy" for g in both["gates"])
    with pytest.raises(ValueError, match="which the run does not have"):
        build_results(load_run(sweep_run), "p99<100ms", ["sanic"])


def test_gateway_sweep(synth: Callable[..., Path]) -> None:
    """A gateway latency sweep yields a speedup per latency, growing with latency."""
    run_dir = synth(trials=2, duration_s=3.0, warmup_s=1.0,
                    gateway_latencies_ms=(0.0, 100.0, 400.0))
    results = build_results(load_run(run_dir))
    points = results["gateway_sweep"]["points"]
    assert [p["gateway_latency_ms"] for p in points] == [0.0, 100.0, 400.0]
    assert points[-1]["speedup"] > points[0]["speedup"]
    assert results["complete"] is True
    assert results["comparisons"] == []  # no trial is comparable across latencies
    assert "400 ms" in results["verdict"]["text"]
    assert results["verdict"]["metric"] == "gateway_speedup"
    assert fig_gateway_sweep(results) is not None


def test_single_target_run(synth: Callable[..., Path]) -> None:
    """A run with one target has a verdict that says there is nothing to compare."""
    results = build_results(load_run(synth(targets=("engine",), trials=2, duration_s=3.0)))
    assert "no second target" in results["verdict"]["text"]
    assert results["comparisons"] == []


def test_profile_sweep(synth: Callable[..., Path]) -> None:
    """A gateway profile sweep gives a speedup per profile, named in the verdict after the
    headline at the default profile."""
    run_dir = synth(trials=2, duration_s=3.0, warmup_s=1.0,
                    gateway_profiles=("instant", "fast", "realistic"))
    results = build_results(load_run(run_dir))
    points = {p["gateway_profile"]: p["speedup"] for p in results["profile_sweep"]["points"]}
    assert set(points) == {"instant", "fast", "realistic"}
    assert points["realistic"] > points["instant"]
    text = results["verdict"]["text"]
    assert "Per gateway profile (engine over legacy; the figures above are on fast" in text
    assert all(f"x on {name}" in text for name in ("instant", "fast", "realistic"))
    engine = results["targets"]["engine"]
    assert engine["summary_trials"] == [t["trial"] for t in results["trials"]
                                        if t["target"] == "engine"
                                        and t["gateway_profile"] == "fast"]
    assert results["complete"] is True


def test_verdict_warns_about_errors(synth: Callable[..., Path], make_run: object) -> None:
    """A target failing more requests than the error SLO is marked in the verdict with what
    it breaks, and in results.json; the other target is not."""
    module = make_run
    flaky = module.TargetProfile(  # type: ignore[attr-defined]
        rps=180.0, median_ms=18.0, sigma=0.5, error_ratio=0.2, cpu_ms_per_request=1.6)
    profiles = {**module.PROFILES, "engine": flaky}  # type: ignore[attr-defined]
    results = build_results(load_run(synth(trials=2, duration_s=3.0, profiles=profiles)))
    text = results["verdict"]["text"]
    assert re.search(r"^engine \(breaks [^)]*errors <= 1% at \d+\.\d\d%\) sustains", text)
    assert "legacy (breaks" not in text
    breaches = results["targets"]["engine"]["slo_breaches"]
    assert [b["objective"] for b in breaches][-1] == "errors <= 1%"
    assert results["targets"]["legacy"]["slo_breaches"] == []


def test_method_says_what_the_simulators_webhooks_added(sweep_run: Path) -> None:
    """A run whose simulator sent webhooks says so in its method text, with the duplicate and
    out-of-order rates; a run that recorded no gateway profile says nothing of them."""
    profile = {"webhook": {"enabled": True, "only_async": False, "duplicate_rate": 0.05,
                           "out_of_order_rate": 0.0}}
    said = webhook_note(profile)
    assert said.startswith("The gateway simulator sent a webhook for every payment and refund")
    assert "(5% sent twice)" in said
    assert webhook_note({"webhook": {"enabled": False}}) == ""
    results = build_results(load_run(sweep_run))
    assert "webhook" not in results["method"]  # the fixture recorded no gateway profile
