"""Seeded log-normal latency per endpoint kind.

A log-normal with median ``p50`` has ``mu = ln(p50)``; its 99th percentile is
``exp(mu + z99 * sigma)``, so ``sigma = ln(p99 / p50) / z99``. Tests draw from
the model directly and compare the empirical percentiles with the configured
ones; nothing sleeps.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

from gateway_sim.config import ENDPOINT_KINDS, LatencySpec

Z99 = 2.3263478740408408  # standard normal quantile at 0.99


class LatencyModel:
    """Draws delays in seconds for one endpoint kind."""

    __slots__ = ("_mu", "_rng", "_sigma", "spec")

    def __init__(self, spec: LatencySpec, rng: random.Random) -> None:
        self.spec = spec
        self._rng = rng
        if spec.p50_ms <= 0:
            self._mu = None
            self._sigma = 0.0
        else:
            self._mu = math.log(spec.p50_ms / 1000.0)
            ratio = max(spec.p99_ms, spec.p50_ms) / spec.p50_ms
            self._sigma = math.log(ratio) / Z99

    def draw(self, rng: random.Random | None = None) -> float:
        """One delay in seconds (0.0 for an ``instant`` spec).

        ``rng`` is a call's own generator (see ``gateway_sim.draws``); without
        it the model's seeded arrival-order stream is used.
        """
        if self._mu is None:
            return 0.0
        if self._sigma == 0.0:
            return math.exp(self._mu)
        return (rng or self._rng).lognormvariate(self._mu, self._sigma)


def build_models(latency: Mapping[str, LatencySpec], seed: int) -> dict[str, LatencyModel]:
    """One independent, seeded stream per kind so kinds do not perturb each other."""
    return {
        kind: LatencyModel(latency.get(kind, LatencySpec()), random.Random(f"{seed}:{kind}"))
        for kind in ENDPOINT_KINDS
    }
