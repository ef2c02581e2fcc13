"""Figures: every axis is labelled (with units where a quantity has one)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from reports import build_results, load_run
from reports import figures as f


def _labels_ok(fig: Figure) -> None:
    for ax in fig.axes:
        assert ax.get_ylabel(), ax.get_title()
        if ax.get_xlabel() == "":  # shared x axes label only the bottom panel
            assert ax is not fig.axes[-1]


def test_fixture_figures_have_labelled_axes(small_run: Path) -> None:
    """Throughput, spectrum, latency over time, errors and CPU have axis labels with units."""
    run = load_run(small_run)
    results = build_results(run)
    maybe = [f.fig_throughput(results), f.fig_spectrum(run, results),
             f.fig_latency_over_time(run, results), f.fig_errors(results), f.fig_cpu(results)]
    figs = [fig for fig in maybe if fig is not None]
    assert len(figs) == len(maybe)
    for fig in figs:
        _labels_ok(fig)
    units = " ".join(ax.get_ylabel() for fig in figs for ax in fig.axes)
    assert "requests/s" in units
    assert "ms" in units
    assert "CPU seconds" in units
    assert f.fig_capacity(results) is None
    assert f.fig_gateway_sweep(results) is None


def test_capacity_figure_marks_the_knee(sweep_run: Path) -> None:
    """The capacity figure marks each target's capacity (dashed) and the objective."""
    results = build_results(load_run(sweep_run))
    fig = f.fig_capacity(results)
    assert fig is not None
    _labels_ok(fig)
    latency, completed = fig.axes
    dashed = [line for line in completed.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 2
    assert any("objective" in str(line.get_label()) for line in latency.get_lines())
    assert "requests/s" in completed.get_ylabel()
    assert len(f.figure_png(fig)) > 5_000
