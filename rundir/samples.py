"""The CSV files of a trial: ``samples.csv.gz`` (one row per request) and ``resources.csv``.

The columns of each file are the fields of one NamedTuple, in order, each annotated with
the pandas dtype the report reads it with and the format spec it is written with
(``format(value, spec)``). Writers and readers take the header, the formats and the dtypes
from here, so a column is declared once.

Adding a sample column: add a field to ``Sample``, after the others, with its ``Column``
and a default that its spec can write (``math.nan`` for a float: written "nan", read as a
missing value). Files written before the column existed load with the default in it, and
producers that do not know the value write the default. Then pass the value where the
recorder records a request (``loadtests.recorder.Recorder.record``); the header, the
merge of the generators' parts, the fixture generator and the report's reader follow.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, NamedTuple, TextIO, get_type_hints


class Column(NamedTuple):
    """How one CSV column is written and read."""

    dtype: str  # pandas dtype the report reads the column with
    spec: str  # format spec it is written with: format(value, spec)


class Sample(NamedTuple):
    """One request, a row of ``samples.csv.gz``."""

    t: Annotated[float, Column("float64", ".6f")]  # start (intended start in the open model), s
    name: Annotated[str, Column("category", "")]  # the request's name (URL pattern)
    method: Annotated[str, Column("category", "")]
    latency_ms: Annotated[float, Column("float64", ".4f")]  # from t to the last byte
    status: Annotated[int, Column("int32", "d")]  # HTTP status, 0 without a response
    ok: Annotated[bool, Column("int8", "d")]  # the scenario's checks passed
    warmup: Annotated[int, Column("int8", "d")]  # phase of its iteration (MEASURED, ...)
    # the server's side, from the response's Server-Timing header (nan without one): the
    # handler's time, its time in PostgreSQL, Redis and gateway calls, the rest (its own
    # code), in ms; and how many statements, cache operations and gateway calls it made
    server_total_ms: Annotated[float, Column("float64", ".3f")] = math.nan
    db_ms: Annotated[float, Column("float64", ".3f")] = math.nan
    cache_ms: Annotated[float, Column("float64", ".3f")] = math.nan
    gateway_ms: Annotated[float, Column("float64", ".3f")] = math.nan
    app_ms: Annotated[float, Column("float64", ".3f")] = math.nan
    db_count: Annotated[float, Column("float64", ".0f")] = math.nan
    cache_count: Annotated[float, Column("float64", ".0f")] = math.nan
    gateway_count: Annotated[float, Column("float64", ".0f")] = math.nan


class Resource(NamedTuple):
    """One process at one instant, a row of ``resources.csv``."""

    t: Annotated[float, Column("float64", ".3f")]  # unix time of the sample
    role: Annotated[str, Column("category", "")]  # the component the process belongs to
    pid: Annotated[int, Column("int64", "d")]
    cpu_s: Annotated[float, Column("float64", ".3f")]  # cumulative user+system CPU time
    rss_bytes: Annotated[int, Column("float64", "d")]


# The ``warmup`` column: the phase in which the request's iteration started.
MEASURED, WARMUP, AFTER = 0, 1, 2  # in the measured window, before it, after it
# The row of an iteration still running when the drain ended (its ``name``).
TIMED_OUT = "(timed out)"

# latency.hdr: an HdrHistogram of the measured latencies in whole microseconds
HDR_LOWEST_US = 1
HDR_HIGHEST_US = 60_000_000
HDR_DIGITS = 3


def _columns(row: type[Any]) -> dict[str, Column]:
    hints = get_type_hints(row, include_extras=True)
    return {name: hints[name].__metadata__[0] for name in row._fields}


SAMPLE_COLUMNS: dict[str, Column] = _columns(Sample)
RESOURCE_COLUMNS: dict[str, Column] = _columns(Resource)
SAMPLE_HEADER: tuple[str, ...] = Sample._fields
RESOURCE_HEADER: tuple[str, ...] = Resource._fields
# columns every samples file has; the others may be missing from older runs
SAMPLE_REQUIRED: tuple[str, ...] = tuple(
    name for name in Sample._fields if name not in Sample._field_defaults)
RESOURCE_REQUIRED: tuple[str, ...] = ("t", "role", "pid", "cpu_s")
_SAMPLE_SPECS = tuple(c.spec for c in SAMPLE_COLUMNS.values())
_RESOURCE_SPECS = tuple(c.spec for c in RESOURCE_COLUMNS.values())


def sample_cells(rows: Iterable[Sample]) -> Iterable[Iterable[str]]:
    """The rows as CSV cells (a lazy iterable, for ``csv.writer.writerows``)."""
    return (map(format, row, _SAMPLE_SPECS) for row in rows)


def resource_cells(rows: Iterable[Resource]) -> Iterable[Iterable[str]]:
    """Resource rows as CSV cells."""
    return (map(format, row, _RESOURCE_SPECS) for row in rows)


def append_part_samples(path: Path, rows: Sequence[Sample]) -> None:
    """Append rows, without a header, to a process's part file as one more gzip member
    (a process killed mid-write loses only its last member)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(sample_cells(rows))
    with gzip.open(path, "at", encoding="utf-8", compresslevel=3) as fh:
        fh.write(buffer.getvalue())


def read_part_samples(path: Path) -> list[list[str]]:
    """The rows of a part file, as text cells (a torn last member is skipped)."""
    rows: list[list[str]] = []
    width = len(SAMPLE_HEADER)
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            rows.extend(row for row in csv.reader(fh) if len(row) == width)
    except (EOFError, OSError):
        # A process killed mid-write leaves a truncated member: keep what was complete.
        pass
    return rows


def write_samples(path: Path, rows: Iterable[Sequence[str]], *, compresslevel: int = 9,
                  mtime: float | None = None) -> None:
    """Write ``samples.csv.gz``: the header, then ``rows`` (text cells, as ``sample_cells``
    gives them or a part file holds them). ``mtime=0`` makes the file reproducible."""
    with (path.open("wb") as raw,
          gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime, compresslevel=compresslevel) as gz,
          io.TextIOWrapper(gz, encoding="utf-8", newline="") as fh):
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(SAMPLE_HEADER)
        writer.writerows(rows)



class ResourceWriter:
    """Writes ``resources.csv`` to an open text file (``newline=""``): the header at once,
    then rows as they are sampled."""

    def __init__(self, fh: TextIO) -> None:
        self._writer = csv.writer(fh)  # the csv module's default dialect (\r\n line ends)
        self._writer.writerow(RESOURCE_HEADER)

    def write(self, rows: Iterable[Resource]) -> None:
        """Append rows."""
        self._writer.writerows(resource_cells(rows))


def write_resources(path: Path, rows: Iterable[Resource]) -> None:
    """Write ``resources.csv`` at once."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        ResourceWriter(fh).write(rows)
