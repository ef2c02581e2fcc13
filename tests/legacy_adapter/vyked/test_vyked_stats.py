"""The /_stats aggregator."""

from __future__ import annotations

from serving.stats import WINDOW, Aggregator, StatUnit


def test_average_is_over_the_last_window() -> None:
    """``average`` is the mean of the last ten durations, as Vyked's StatUnit computed it."""
    unit = StatUnit()
    for value in range(1, 21):
        unit.update(float(value), success=value % 2 == 0)
    assert unit.count == 20
    assert unit.success_count == 10
    assert unit.average == sum(range(21 - WINDOW, 21)) / WINDOW


def test_empty_unit_reports_zero() -> None:
    """A node without requests reports count 0 and average 0."""
    assert StatUnit().to_dict() == {"count": 0, "average": 0, "success_count": 0, "sub": {}}


def test_tree_shape_total_http_endpoint_status() -> None:
    """Figures nest as total -> http -> endpoint -> status, each with the four keys."""
    stats = Aggregator()
    stats.update("GET /a", "200", 2.0, success=True)
    stats.update("GET /a", "400", 4.0, success=False)
    stats.update("POST /b", "201", 6.0, success=True)
    tree = stats.dump()
    assert (tree["count"], tree["success_count"], tree["average"]) == (3, 2, 4.0)
    http = tree["sub"]["http"]
    assert http["count"] == 3
    a = http["sub"]["GET /a"]
    assert (a["count"], a["success_count"], a["average"]) == (2, 1, 3.0)
    assert a["sub"]["400"] == {"count": 1, "average": 4.0, "success_count": 0, "sub": {}}
    assert http["sub"]["POST /b"]["sub"]["201"]["count"] == 1
