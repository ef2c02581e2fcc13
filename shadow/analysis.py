"""From exchanges to per-endpoint verdicts, with Diffy's noise filtering.

Raw differences compare primary and candidate; noise compares primary and
secondary (an A/A pair running the same code). Per endpoint and field path,
a field is a *real* difference only when

    raw > noise
    and |raw - noise| / (raw + noise) * 100 > relative threshold   (default 20)
    and |raw - noise| / requests * 100       > absolute threshold  (default 0.03)

exactly as Diffy's ``DifferencesFilterFactory`` decides. A request is a real
mismatch when any of its raw differences is on a real-difference field.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from shadow.capture import Exchange, SideResult
from shadow.diff import FieldDiff, compare
from shadow.mapping import id_regex
from shadow.normalize import Rules

MAX_EXAMPLES = 40
MAX_EXAMPLES_PER_FIELD = 3


def endpoint_of(method: str, path: str, pattern: re.Pattern[str]) -> str:
    """``POST /v1/payments/{id}/refunds``: ids replaced so requests group by route."""
    segments = ["{id}" if pattern.match(seg) else seg for seg in path.split("/")]
    return f"{method} {'/'.join(segments)}"


def is_significant(raw: int, noise: int, total: int, relative: float, absolute: float) -> bool:
    if raw <= noise or total <= 0:
        return False
    gap = abs(raw - noise)
    return gap / (raw + noise) * 100.0 > relative and gap / total * 100.0 > absolute


@dataclass
class FieldCount:
    raw: int = 0
    noise: int = 0
    significant: bool = False


@dataclass
class EndpointStats:
    endpoint: str
    requests: int = 0
    compared: int = 0  # primary and candidate both asked
    noise_compared: int = 0  # primary and secondary both asked
    skipped: int = 0
    raw_mismatches: int = 0
    noise_mismatches: int = 0
    real_mismatches: int = 0
    fields: dict[str, FieldCount] = field(default_factory=dict)
    latency: dict[str, list[float]] = field(default_factory=dict)

    @property
    def mismatch_rate(self) -> float:
        return self.real_mismatches / self.compared if self.compared else 0.0

    @property
    def noise_rate(self) -> float:
        return self.noise_mismatches / self.noise_compared if self.noise_compared else 0.0


@dataclass
class Example:
    exchange: Exchange
    endpoint: str
    diffs: list[FieldDiff]


@dataclass
class Analysis:
    rules: Rules
    endpoints: dict[str, EndpointStats]
    status_matrix: Counter[tuple[int, int]]
    examples: list[Example]
    has_secondary: bool

    @property
    def requests(self) -> int:
        return sum(e.requests for e in self.endpoints.values())

    @property
    def compared(self) -> int:
        return sum(e.compared for e in self.endpoints.values())

    @property
    def real_mismatches(self) -> int:
        return sum(e.real_mismatches for e in self.endpoints.values())

    @property
    def noise_mismatches(self) -> int:
        return sum(e.noise_mismatches for e in self.endpoints.values())

    @property
    def skipped(self) -> int:
        return sum(e.skipped for e in self.endpoints.values())

    def latency(self, side: str) -> list[float]:
        return [v for e in self.endpoints.values() for v in e.latency.get(side, [])]


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "count": float(len(ordered)),
        "mean": statistics.fmean(ordered),
        "p50": statistics.median(ordered),
        "p90": pick(0.90),
        "p99": pick(0.99),
        "max": ordered[-1],
    }


def analyze(exchanges: Iterable[Exchange], rules: Rules) -> Analysis:
    pattern = id_regex(rules.id_prefixes)
    endpoints: dict[str, EndpointStats] = {}
    matrix: Counter[tuple[int, int]] = Counter()
    raw_diffs: list[tuple[Exchange, EndpointStats, list[FieldDiff]]] = []
    has_secondary = False
    for ex in exchanges:
        name = endpoint_of(ex.request.method, ex.request.path, pattern)
        stats = endpoints.setdefault(name, EndpointStats(name))
        stats.requests += 1
        _collect_latency(stats, ex.sides)
        primary, candidate = ex.sides.get("primary"), ex.sides.get("candidate")
        secondary = ex.sides.get("secondary")
        if primary is None or candidate is None:
            stats.skipped += 1
            continue
        raw = compare(rules, primary, candidate)
        if raw is None:
            stats.skipped += 1
            continue
        stats.compared += 1
        matrix[(primary.status, candidate.status)] += 1
        raw_diffs.append((ex, stats, raw))
        if raw:
            stats.raw_mismatches += 1
        for path in {d.field for d in raw}:
            stats.fields.setdefault(path, FieldCount()).raw += 1
        if secondary is not None:
            has_secondary = True
            noise = compare(rules, primary, secondary)
            if noise is not None:
                stats.noise_compared += 1
                if noise:
                    stats.noise_mismatches += 1
                for path in {d.field for d in noise}:
                    stats.fields.setdefault(path, FieldCount()).noise += 1
    for stats in endpoints.values():
        for count in stats.fields.values():
            count.significant = is_significant(
                count.raw, count.noise, stats.compared,
                rules.relative_threshold, rules.absolute_threshold,
            )
    examples: list[Example] = []
    per_field: Counter[tuple[str, str]] = Counter()
    for ex, stats, diffs in raw_diffs:
        real = [d for d in diffs if stats.fields[d.field].significant]
        if not real:
            continue
        stats.real_mismatches += 1
        keys = {(stats.endpoint, d.field) for d in real}
        if len(examples) < MAX_EXAMPLES and any(per_field[k] < MAX_EXAMPLES_PER_FIELD
                                                for k in keys):
            examples.append(Example(ex, stats.endpoint, real))
            per_field.update(keys)
    return Analysis(rules, endpoints, matrix, examples, has_secondary)


def _collect_latency(stats: EndpointStats, sides: dict[str, SideResult]) -> None:
    for side in ("primary", "secondary", "candidate"):
        result = sides.get(side)
        if result is not None and result.answered:
            stats.latency.setdefault(side, []).append(result.latency_ms)
