"""The CSV files of a trial: columns declared once, written and read the same way."""

from __future__ import annotations

import csv
import gzip
import math
from pathlib import Path
from typing import NamedTuple

import pytest

from reports import load as rload
from rundir.samples import (
    RESOURCE_HEADER,
    SAMPLE_COLUMNS,
    SAMPLE_HEADER,
    SAMPLE_REQUIRED,
    Resource,
    Sample,
    append_part_samples,
    read_part_samples,
    sample_cells,
    write_resources,
    write_samples,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run_small" / "trials" / "engine-1"
CLIENT = ("t", "name", "method", "latency_ms", "status", "ok", "warmup")
SERVER = ("server_total_ms", "db_ms", "cache_ms", "gateway_ms", "app_ms", "db_count",
          "cache_count", "gateway_count")
NO_SERVER = ["nan"] * len(SERVER)  # a request without server timing


def test_columns_are_those_of_every_run() -> None:
    """samples.csv.gz and resources.csv keep the columns every run directory has; the
    server's parts follow and may be missing from older runs."""
    assert (*CLIENT, *SERVER) == SAMPLE_HEADER
    assert SAMPLE_REQUIRED == CLIENT
    assert RESOURCE_HEADER == ("t", "role", "pid", "cpu_s", "rss_bytes")
    assert {name: c.dtype for name, c in SAMPLE_COLUMNS.items()} == rload.SAMPLE_DTYPES


def test_sample_cells_have_the_recorded_precision() -> None:
    """A request is written with microsecond start times, 0.1 us latencies and 0/1 flags;
    a name with a comma is quoted."""
    rows = [Sample(1.5, "GET /a", "GET", 2.25, 200, True, 0),
            Sample(2.0, 'POST /b,"c"', "POST", 10.0, 0, False, 1)]
    timed = Sample(3.0, "GET /c", "GET", 5.0, 200, True, 0, 4.0, 1.0, 0.25, 2.5, 0.25, 3.0,
                   2.0, 1.0)
    assert [list(c) for c in sample_cells([*rows, timed])] == [
        ["1.500000", "GET /a", "GET", "2.2500", "200", "1", "0", *NO_SERVER],
        ["2.000000", 'POST /b,"c"', "POST", "10.0000", "0", "0", "1", *NO_SERVER],
        ["3.000000", "GET /c", "GET", "5.0000", "200", "1", "0", "4.000", "1.000", "0.250",
         "2.500", "0.250", "3", "2", "1"]]


def test_part_rows_survive_a_torn_member(tmp_path: Path) -> None:
    """Rows appended in several gzip members read back in order; a member torn by a killed
    process ends the rows without an error, and no partial row is kept."""
    path = tmp_path / "p.samples.csv.gz"
    append_part_samples(path, [Sample(1.0, "a,b", "GET", 1.0, 200, True, 1)])
    append_part_samples(path, [Sample(2.0, "c", "GET", 2.0, 500, False, 0)])
    with path.open("ab") as fh:
        fh.write(gzip.compress(b"3.000000,d,GET,1.0000,200,1,0\n" * 500)[:60])
    rows = read_part_samples(path)
    assert rows[:2] == [["1.000000", "a,b", "GET", "1.0000", "200", "1", "1", *NO_SERVER],
                        ["2.000000", "c", "GET", "2.0000", "500", "0", "0", *NO_SERVER]]
    assert all(len(row) == len(SAMPLE_HEADER) for row in rows)


def test_samples_file_has_the_header_and_is_reproducible(tmp_path: Path) -> None:
    """write_samples puts the header first; with mtime=0 two writes are byte-identical."""
    rows = [list(r) for r in sample_cells([Sample(1.0, "a", "GET", 1.0, 200, True, 0)])]
    paths = [tmp_path / "a" / "samples.csv.gz", tmp_path / "b" / "samples.csv.gz"]
    for path in paths:
        path.parent.mkdir()
        write_samples(path, rows, mtime=0)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    with gzip.open(paths[0], "rt") as fh:
        assert fh.read() == ",".join(SAMPLE_HEADER) + "\n" \
                            "1.000000,a,GET,1.0000,200,1,0," + ",".join(NO_SERVER) + "\n"


def test_resources_are_written_as_the_sampler_writes_them(tmp_path: Path) -> None:
    """resources.csv: the header, millisecond times and CPU seconds, whole bytes, \\r\\n."""
    path = tmp_path / "resources.csv"
    write_resources(path, [Resource(10.0, "engine", 7, 1.23456, 1000)])
    assert path.read_bytes() == b"t,role,pid,cpu_s,rss_bytes\r\n10.000,engine,7,1.235,1000\r\n"
    with path.open(newline="") as fh:
        assert next(csv.reader(fh)) == list(RESOURCE_HEADER)


def test_a_column_added_later_reads_as_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a column with a default is added to Sample, files written before it still load,
    with the default in that column."""

    class Wider(NamedTuple):
        t: float
        name: str
        method: str
        latency_ms: float
        status: int
        ok: bool
        warmup: int
        server_ms: float = math.nan

    monkeypatch.setattr(rload, "Sample", Wider)
    monkeypatch.setattr(rload, "SAMPLE_DTYPES", {**rload.SAMPLE_DTYPES, "server_ms": "float64"})
    frame = rload.read_samples(FIXTURE / "samples.csv.gz")
    assert len(frame) > 0
    assert frame["server_ms"].isna().all()
    assert str(frame["server_ms"].dtype) == "float64"
