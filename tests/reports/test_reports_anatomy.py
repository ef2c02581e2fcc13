"""Latency anatomy: the composition of the median and p99 request from server timing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from reports import anatomy, build_results, load_run, render_run
from reports.anatomy_figures import fig_composition, fig_composition_steps, figure_plan
from reports.compare import compare_runs, format_comparison
from reports.render import summary_table

ENDPOINTS = ("POST /v1/payments", "GET /v1/payments/{id}")


def samples(n: int, *, queue: float, gateway: float, db: float = 2.0, cache: float = 0.3,
            app: float = 1.0, seed: int = 0, timing: bool = True) -> pd.DataFrame:
    """A trial's samples: log-normal parts (means about the given ms), two endpoints,
    10% warm-up rows, one failure in 50; without ``timing``, no server-timing columns."""
    rng = np.random.default_rng(seed)

    def draw(mean: float) -> np.ndarray:
        return mean * rng.lognormal(-0.125, 0.5, n)

    parts = {"queue": draw(queue), "gateway_ms": draw(gateway), "db_ms": draw(db),
             "cache_ms": draw(cache), "app_ms": draw(app)}
    total = parts["gateway_ms"] + parts["db_ms"] + parts["cache_ms"] + parts["app_ms"]
    frame = pd.DataFrame({
        "t": np.arange(n, dtype=np.float64) / 10.0,
        "name": pd.Categorical([ENDPOINTS[i % 2] for i in range(n)]),
        "method": pd.Categorical(["POST" if i % 2 == 0 else "GET" for i in range(n)]),
        "latency_ms": total + parts["queue"],
        "status": np.where(np.arange(n) % 50 == 49, 502, 200).astype(np.int32),
        "ok": np.where(np.arange(n) % 50 == 49, 0, 1).astype(np.int8),
        "warmup": np.where(np.arange(n) < n // 10, 1, 0).astype(np.int8),
    })
    if timing:
        frame["server_total_ms"] = total
        for column in ("db_ms", "cache_ms", "gateway_ms", "app_ms"):
            frame[column] = parts[column]
        frame["db_count"] = 3.0
        frame["cache_count"] = 2.0
        frame["gateway_count"] = 1.0
    return frame


def test_band_takes_the_ranks_around_the_percentile() -> None:
    """The median band of 100 requests is ranks 45-54, the p99 band ranks 98-99, and a
    single request is its own median and p99."""
    latency = np.arange(100, dtype=np.float64)[::-1].copy()  # unsorted on purpose
    assert sorted(latency[anatomy.band(latency, 50.0, 5.0)]) == list(range(45, 55))
    assert sorted(latency[anatomy.band(latency, 99.0, 0.5)]) == [98.0, 99.0]
    assert list(anatomy.band(np.array([7.0]), 99.0, 0.5)) == [0]
    assert anatomy.band(np.empty(0), 50.0, 5.0).size == 0


def test_parts_add_up_to_the_latency_of_the_request_they_describe() -> None:
    """Each composition's parts add up to its mean latency, its shares to 1, and its
    latency is within 5% of the frame's percentile; counts are the mean calls."""
    frame = anatomy.timed(samples(4000, queue=30.0, gateway=50.0))
    for which, q in (("median", 50), ("p99", 99)):
        comp = anatomy.composition(frame, which)
        assert comp is not None
        assert sum(comp["parts_ms"].values()) == pytest.approx(comp["latency_ms"], rel=1e-9)
        assert sum(comp["shares"].values()) == pytest.approx(1.0, rel=1e-9)
        real = float(np.percentile(frame["latency_ms"], q))
        assert comp["latency_ms"] == pytest.approx(real, rel=0.05)
    median = anatomy.composition(frame, "median")
    assert median is not None
    assert median["counts"] == {"db": 3.0, "cache": 2.0, "gateway": 1.0}


def test_only_measured_successful_requests_with_the_header_count() -> None:
    """Warm-up rows, failures and responses without the header are left out; a frame
    from before server timing has no composition."""
    raw = samples(1000, queue=5.0, gateway=20.0)
    raw.loc[raw.index[-5:], "server_total_ms"] = np.nan
    frame = anatomy.timed(raw)
    kept = (raw["warmup"] == 0) & (raw["ok"] == 1) & raw["server_total_ms"].notna()
    assert len(frame) == int(kept.sum())
    assert (frame["queue"] + raw.loc[kept, "server_total_ms"].to_numpy()).to_numpy() == (
        pytest.approx(raw.loc[kept, "latency_ms"].to_numpy()))
    old = samples(100, queue=5.0, gateway=20.0, timing=False)
    assert anatomy.timed(old).empty
    assert anatomy.trial_composition(old) is None


def section() -> dict[str, Any]:
    """A two-target section: legacy waits for workers, the engine waits for the gateway."""
    legacy = [samples(2000, queue=500.0, gateway=50.0, seed=1),
              samples(2000, queue=520.0, gateway=50.0, seed=2)]
    engine = [samples(2000, queue=1.0, gateway=8.0, seed=3)]
    trials = {"legacy-1": legacy[0], "legacy-2": legacy[1], "engine-1": engine[0]}
    return anatomy.section({"legacy": legacy, "engine": engine}, trials=trials)


def test_the_sentence_names_each_targets_dominant_part() -> None:
    """Legacy's median request is mostly queue, the engine's mostly gateway, and the
    sentence says so with the shares; endpoints each get a composition."""
    result = section()
    targets = result["targets"]
    assert targets["legacy"]["dominant"]["part"] == "queue"
    assert targets["legacy"]["dominant"]["share"] > 0.8
    assert targets["engine"]["dominant"]["part"] == "gateway"
    assert set(targets["legacy"]["endpoints"]) == set(ENDPOINTS)
    said = str(result["sentence"])
    share = targets["legacy"]["dominant"]["share"]
    assert said.startswith(f"legacy: {share:.0%} of the median request (")
    assert "waiting outside the handler (queue + network)" in said
    assert "; engine: " in said
    assert said.endswith("is the gateway.")
    assert set(result["trials"]) == {"legacy-1", "legacy-2", "engine-1"}


def test_an_event_loop_targets_awaited_part_is_qualified() -> None:
    """For a target on an event loop, a dominant PostgreSQL, Redis or gateway part is said
    to include waits for the loop (and PostgreSQL for a pool connection); a queue-dominated
    or one-request-per-worker target not."""
    legacy = [samples(2000, queue=500.0, gateway=50.0, seed=1)]
    engine = [samples(2000, queue=1.0, gateway=8.0, seed=3)]
    result = anatomy.section({"legacy": legacy, "engine": engine},
                             trials={"legacy-1": legacy[0], "engine-1": engine[0]},
                             event_loop={"engine", "legacy"})
    said = str(result["sentence"])
    assert said.endswith("is the gateway (wall time of its awaits, waits for its event loop "
                         "included).")
    assert "(queue + network) (" not in said  # legacy's dominant part is the queue
    plain = anatomy.section({"engine": engine}, trials={"engine-1": engine[0]})
    assert str(plain["sentence"]).endswith("is the gateway.")
    pooled = [samples(2000, queue=1.0, gateway=1.0, db=30.0, seed=4)]
    said_db = str(anatomy.section({"engine": pooled}, trials={"engine-1": pooled[0]},
                                  event_loop={"engine"})["sentence"])
    assert said_db.endswith("is PostgreSQL (wall time of its awaits, waits for a pool "
                            "connection and for its event loop included).")


def test_a_target_without_the_header_is_named_not_dropped() -> None:
    """A target whose responses carry no header is said to have no server timing; a run
    where no target has it has no sentence and no figure."""
    mixed = anatomy.section({"legacy": [samples(500, queue=100.0, gateway=50.0)],
                             "other": [samples(500, queue=1.0, gateway=5.0, timing=False)]},
                            trials={})
    assert mixed["available"] is True
    assert "other: no server timing" in str(mixed["sentence"])
    none = anatomy.section({"other": [samples(500, queue=1.0, gateway=5.0, timing=False)]},
                           trials={})
    assert none["available"] is False
    assert none["sentence"] == ""
    assert fig_composition({"composition": none}) is None


def test_queueing_appears_at_the_knee_of_the_steps() -> None:
    """Trials at one offered load are pooled; the queue's share of the median request
    grows from step to step while the gateway's milliseconds stay put."""
    trials = {f"legacy-{i}": samples(800, queue=q, gateway=50.0, seed=i)
              for i, q in enumerate((2.0, 3.0, 40.0, 900.0), start=1)}
    steps = [{"trial": "legacy-1", "offered": 4.0, "sustained": True},
             {"trial": "legacy-2", "offered": 8.0, "sustained": True},
             {"trial": "legacy-3", "offered": 16.0, "sustained": True},
             {"trial": "legacy-4", "offered": 32.0, "sustained": False}]
    rows = anatomy.step_compositions(steps, trials)
    assert [r["offered"] for r in rows] == [4.0, 8.0, 16.0, 32.0]
    shares = [r["median"]["shares"]["queue"] for r in rows]
    assert shares == sorted(shares)
    assert shares[-1] > 0.8 > shares[0]
    gateway = [r["median"]["parts_ms"]["gateway"] for r in rows]
    assert max(gateway) / min(gateway) < 1.2
    assert [r["sustained"] for r in rows] == [True, True, True, False]
    pooled = anatomy.step_compositions(
        [{"trial": "legacy-1,legacy-2", "offered": 4.0, "sustained": True}], trials)
    assert pooled[0]["trials"] == ["legacy-1", "legacy-2"]
    assert pooled[0]["timed_requests"] == sum(len(anatomy.timed(trials[n]))
                                              for n in ("legacy-1", "legacy-2"))


def results_of(queue: float, seeds: range) -> dict[str, Any]:
    """A results document with a legacy target over several trials (for compare)."""
    trials = {f"legacy-{s}": samples(600, queue=queue, gateway=50.0, seed=s) for s in seeds}
    comp = anatomy.section({"legacy": list(trials.values())}, trials=trials)
    return {"targets": {"legacy": {"summary_trials": list(trials)}}, "composition": comp}


def test_compare_shows_the_parts_that_changed() -> None:
    """A run whose queue grew tenfold shows a significant queue change over five trials
    each, an unchanged gateway, and the dominant part moving from gateway to queue."""
    changes = anatomy.compare(results_of(10.0, range(5)), results_of(100.0, range(5, 10)))
    median = changes["legacy"]["median"]
    queue = median["parts"]["queue"]
    assert queue["change"] == pytest.approx(9.0, rel=0.3)
    assert queue["significant"] is True
    assert queue["share_change"] > 0.3
    assert abs(median["parts"]["gateway"]["change"]) < 0.15
    assert median["dominant_a"]["part"] == "gateway"
    assert median["dominant_b"]["part"] == "queue"
    lines = anatomy.format_changes(changes)
    assert any("queue + network" in line and "p=" in line for line in lines)
    assert anatomy.compare({"targets": {}}, {"targets": {}}) == {}


def test_figures_draw_every_target_and_step() -> None:
    """The composition figure has a median and a p99 panel per target; the step figure
    needs two steps; every caption ends with the sentence."""
    trials = {f"legacy-{i}": samples(400, queue=q, gateway=50.0, seed=i)
              for i, q in enumerate((2.0, 40.0), start=1)}
    steps = {"legacy": [{"trial": "legacy-1", "offered": 4.0, "sustained": True},
                        {"trial": "legacy-2", "offered": 8.0, "sustained": False}]}
    comp = anatomy.section({"legacy": [trials["legacy-1"]],
                            "engine": [samples(400, queue=1.0, gateway=8.0)]},
                           trials=trials, steps=steps)
    results = {"composition": comp, "capacity": {"legacy": {"max_sustainable_offered": 4.0,
                                                            "offered_unit": "iterations/s"}}}
    bars = fig_composition(results)
    assert bars is not None
    assert len(bars.axes) == 4
    assert all(ax.get_xlabel() == "ms" for ax in bars.axes)
    by_step = fig_composition_steps(results)
    assert by_step is not None
    assert len(by_step.axes) == 2  # the engine has no steps
    plan = figure_plan(results)
    assert [name for name, *_ in plan] == ["composition", "composition_steps"]
    assert all(caption.endswith(str(comp["sentence"])) for _, _, caption, _ in plan)


def add_server_timing(run_dir: Path, *, queue_share: dict[str, float]) -> None:
    """Give every trial of a run directory server-timing columns: the target's
    ``queue_share`` of each request's latency outside the handler, the rest split
    60/25/10/5 between gateway, db, app and cache (failures carry none)."""
    for trial in sorted((run_dir / "trials").iterdir()):
        path = trial / "samples.csv.gz"
        frame = pd.read_csv(path)
        share = queue_share[trial.name.rsplit("-", 1)[0]]
        total = frame["latency_ms"] * (1.0 - share)
        ok = frame["ok"] == 1
        for column, part in (("gateway_ms", 0.6), ("db_ms", 0.25), ("app_ms", 0.1),
                             ("cache_ms", 0.05)):
            frame[column] = (total * part).where(ok)
        frame["server_total_ms"] = total.where(ok)
        frame.to_csv(path, index=False, float_format="%.4f")


def test_a_run_with_server_timing_reports_where_the_time_goes(small_run: Path) -> None:
    """results.json gets a composition section, the method says what the queue holds, the
    reports show the sentence and the table, and the figure is written."""
    add_server_timing(small_run, queue_share={"legacy": 0.8, "engine": 0.1})
    rendered = render_run(small_run)
    results = json.loads(rendered.results_path.read_text())
    comp = results["composition"]
    assert comp["available"] is True
    assert comp["parts"] == ["queue", "app", "db", "cache", "gateway"]
    legacy = comp["targets"]["legacy"]
    assert legacy["dominant"]["part"] == "queue"
    assert legacy["dominant"]["share"] == pytest.approx(0.8, abs=0.01)
    assert comp["targets"]["engine"]["dominant"]["part"] == "gateway"
    assert set(comp["trials"]) == {t["trial"] for t in results["trials"]}
    assert set(legacy["endpoints"]) >= {"POST /v1/payments"}
    assert "generator's lateness" in results["method"]
    markdown = rendered.md_path.read_text()
    html = rendered.html_path.read_text()
    for text in (markdown, html):
        assert "Where the time goes" in text
        assert "legacy: 80% of the median request" in text
    assert "| legacy | all requests | median |" in markdown
    assert (small_run / "figures" / "composition.png").exists()
    assert not (small_run / "figures" / "composition_steps.png").exists()
    assert "legacy: 80% of the median request" in summary_table(results)


def test_a_run_without_server_timing_has_no_anatomy(rendered_small: Any) -> None:
    """The committed fixture predates server timing: no section, figure or sentence."""
    comp = rendered_small.results["composition"]
    assert comp["available"] is False
    assert comp["trials"] == {}
    assert "Where the time goes" not in rendered_small.md_path.read_text()
    assert not (rendered_small.run_dir / "figures" / "composition.png").exists()


def test_a_sweep_shows_the_composition_at_each_step(sweep_run: Path) -> None:
    """Each target of a rate sweep gets one composition per step and the step figure."""
    add_server_timing(sweep_run, queue_share={"legacy": 0.5, "engine": 0.2})
    rendered = render_run(sweep_run)
    targets = rendered.results["composition"]["targets"]
    for name, info in targets.items():
        offered = [s["offered"] for s in info["steps"]]
        caps = rendered.results["capacity"][name]
        assert offered == sorted({float(s["offered"]) for s in caps["steps"]})
    assert (sweep_run / "figures" / "composition_steps.png").exists()


def test_compare_prints_the_composition_changes(small_run: Path, tmp_path: Path) -> None:
    """paybench compare's comparison carries the composition changes and prints them."""
    other = Path(shutil.copytree(small_run, tmp_path / "other"))
    add_server_timing(small_run, queue_share={"legacy": 0.2, "engine": 0.1})
    add_server_timing(other, queue_share={"legacy": 0.8, "engine": 0.1})
    cmp = compare_runs(small_run, other)
    queue = cmp.composition["legacy"]["median"]["parts"]["queue"]
    assert queue["share_a"] == pytest.approx(0.2, abs=0.01)
    assert queue["share_b"] == pytest.approx(0.8, abs=0.01)
    assert cmp.as_dict()["composition"]["legacy"]["median"]["dominant_b"]["part"] == "queue"
    assert "where the time goes" in format_comparison(cmp)


def test_a_gateway_sweep_pools_no_loads(synth: Callable[..., Path]) -> None:
    """A closed-model gateway-latency sweep has no one-load headline: each trial keeps its
    own composition, no target pools its steps, and no sentence is made."""
    run_dir = synth("gw", trials=1, duration_s=4.0, gateway_latencies_ms=(0.0, 100.0))
    add_server_timing(run_dir, queue_share={"legacy": 0.5, "engine": 0.2})
    results = build_results(load_run(run_dir))
    comp = results["composition"]
    assert comp["targets"] == {}
    assert comp["available"] is False
    assert set(comp["trials"]) == {t["trial"] for t in results["trials"]}
