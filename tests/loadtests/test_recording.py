"""Response checks, the per-process recorder and the merge of its parts."""

from __future__ import annotations

import gzip
from pathlib import Path

from hdrh.histogram import HdrHistogram

from loadtests.merge import merge_trial
from loadtests.open_model import TrialClock
from loadtests.recorder import Recorder, RecorderSettings
from loadtests.scenarios import checks
from rundir.samples import TIMED_OUT

PAYMENT = {
    "id": "pay_0123456789abcdef01234567", "object": "payment", "order_id": "ord_1",
    "amount": 10000, "currency": "INR", "gateway": "juspay", "payment_method": "card",
    "status": "succeeded", "amount_refunded": 0, "created_at": "x", "updated_at": "y",
}


def test_payment_check_accepts_a_contract_body() -> None:
    """A well-formed payment matching the expected fields passes."""
    assert checks.check_payment(PAYMENT, order_id="ord_1", amount=10000) is None


def test_payment_check_rejects_wrong_bodies() -> None:
    """Wrong amount, bad id, missing fields and over-refunds each give a reason."""
    assert "amount" in (checks.check_payment(PAYMENT, amount=5) or "")
    assert "bad payment id" in (checks.check_payment({**PAYMENT, "id": "x"}) or "")
    assert "lacks" in (checks.check_payment({"id": "pay_"}) or "")
    over = {**PAYMENT, "amount_refunded": 6000, "status": "partially_refunded"}
    assert "exceeds" in (checks.check_payment(over, max_refunded=5000) or "")
    assert checks.parse_json(b"<html>")[1] is not None


def test_parts_merge_into_one_sorted_trial(tmp_path: Path) -> None:
    """Two processes' parts become one sorted samples file and one summed histogram."""
    parts = tmp_path / "parts"
    settings = RecorderSettings(parts_dir=parts, warmup_s=1.0, duration_s=10.0)
    for n, offset in enumerate((0.0, 0.5)):
        rec = Recorder(settings, f"worker{n}")
        rec.start(99.0)
        rec.begin(TrialClock(100.0, settings.warmup_s, settings.duration_s, drain_s=5.0))
        for i in range(4):
            rec.record(t=100.0 + offset + i, name="GET /ping", method="GET",
                       latency_ms=1.5 + i, status=200, ok=True)
        rec.close(role=f"worker{n}")
    # A process killed mid-write leaves a torn gzip member: the merge keeps what is whole.
    with (parts / "worker9.samples.csv.gz").open("wb") as fh:
        fh.write(gzip.compress(b"1.0,x,GET,1.0,200,1,1\n")[:-6])
    summary = merge_trial(parts, tmp_path)
    with gzip.open(tmp_path / "samples.csv.gz", "rt") as fh:
        rows = [line.strip().split(",") for line in fh][1:]
    times = [float(r[0]) for r in rows]
    assert times == sorted(times)
    assert len([r for r in rows if r[6] == "0"]) == 6  # t >= 101 is after the warm-up
    hist = HdrHistogram.decode((tmp_path / "latency.hdr").read_bytes())
    assert hist.get_total_count() == 6 == summary.measured
    assert summary.parts == 2
    assert not parts.exists()


def test_recorder_counts_completions_inside_the_window(tmp_path: Path) -> None:
    """Throughput counts completions in the window; latency counts the window's starts."""
    settings = RecorderSettings(parts_dir=tmp_path, warmup_s=1.0, duration_s=2.0)
    rec = Recorder(settings, "local")
    rec.begin(TrialClock(100.0, 1.0, 2.0, drain_s=1.0))
    # started in the warm-up, done inside the window: served in the window, not measured
    rec.record(t=100.9, name="a", method="GET", latency_ms=200.0, status=200, ok=True)
    # started in the window, done after it (the drain): measured, not completed in it
    rec.record(t=102.9, name="a", method="GET", latency_ms=300.0, status=200, ok=True)
    # started and done in the window, but failed
    rec.record(t=101.5, name="a", method="GET", latency_ms=1.0, status=500, ok=False)
    rec.iteration(started=100.9, ended=101.1, ok=True)
    rec.iteration(started=102.9, ended=103.2, ok=True)
    rec.timed_out_iteration(pending=[102.95], now=104.0, measured=True)
    rec.timed_out_iteration(pending=[], now=104.0, measured=True)  # between two requests
    assert (rec.completed_in_window, rec.ok_in_window) == (2, 1)
    assert rec.measured == 3  # two requests and the timed-out iteration's row
    assert (rec.iterations_started, rec.iterations_completed, rec.iterations_failed) == (3, 1, 2)
    assert rec.timed_out == 1
    rec.close()
    with gzip.open(tmp_path / "local.samples.csv.gz", "rt") as fh:
        names = [line.split(",")[1] for line in fh]
    assert names.count(TIMED_OUT) == 1
