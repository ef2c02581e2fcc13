"""Vyked-style ``GET /_stats`` figures, shared with the legacy service's shim."""

from __future__ import annotations

from legacy_adapter.vyked.stats import Aggregator

__all__ = ["Aggregator"]
