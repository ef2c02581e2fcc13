"""The client of the simulator's admin API (``/__admin__/``, served by ``gateway_sim.admin``).

Everything outside the simulator that registers merchants, reads the audit
ledger or the webhook log, resets, or changes the profile goes through
:class:`GatewayAdmin`: the stack, load tests, shadow runs, benchmarks and tests.
It blocks (httpx); an asynchronous caller runs it in a thread. Every failure,
a refusal or an unreachable simulator, is an :class:`AdminError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

PREFIX = "/__admin__"
HEALTH_PATH = PREFIX + "/health"


class AdminError(Exception):
    """An admin call failed: the simulator refused it (``status``, ``body``) or was not reached.

    ``status`` is None when no answer came (connection refused, timeout) or the
    answer was not JSON.
    """

    def __init__(self, message: str, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class GatewayAdmin:
    """Blocking client of one simulator's admin API; close it, or use it in a ``with`` block."""

    def __init__(self, gateway_url: str, *, timeout_s: float = 10.0) -> None:
        self.url = gateway_url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s, trust_env=False)

    def __enter__(self) -> GatewayAdmin:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def health(self) -> dict[str, Any]:
        """``{"status", "profile", "seed", "merchants", "orders", "requests", ...}``."""
        doc: dict[str, Any] = self._call("GET", "/health")
        return doc

    def add_merchant(self, merchant: Mapping[str, Any]) -> None:
        """Register (or replace) one merchant: ``{"gateway", "merchant_id", "api_key", ...}``.

        One object per call, the form any stand-in for the simulator must accept.
        """
        self._call("POST", "/merchants", json=dict(merchant))

    def merchants(self) -> list[dict[str, Any]]:
        """Every registered merchant (public fields)."""
        doc = self._call("GET", "/merchants")
        registered: list[dict[str, Any]] = _member(doc, "merchants", list)
        return registered

    def ledger(self, merchant_id: str | None = None) -> Any:
        """The audit ledger document (``{"entries", "summary", ...}``), of one merchant if given."""
        return self._call("GET", "/ledger", params=_only(merchant_id))

    def webhooks(self, merchant_id: str | None = None) -> dict[str, Any]:
        """The webhook delivery log (``{"delivered", "failed", "in_flight", "attempts"}``)."""
        doc: dict[str, Any] = self._call("GET", "/webhooks", params=_only(merchant_id))
        return doc

    def reset(self) -> Any:
        """Clear orders, ledger and webhook log (merchants and profile are kept)."""
        return self._call("POST", "/reset")

    def profile(self) -> dict[str, Any]:
        """The effective profile (latencies, faults, webhooks)."""
        profile: dict[str, Any] = _member(self._call("GET", "/profile"), "profile", dict)
        return profile

    def set_profile(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Apply overrides (``{"profile": name?, ...}``, see ``gateway_sim.config``) on top of
        the current profile; the new effective profile."""
        doc = self._call("PUT", "/profile", json=dict(overrides))
        profile: dict[str, Any] = _member(doc, "profile", dict)
        return profile

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = PREFIX + path
        try:
            resp = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise AdminError(f"gateway simulator {self.url}{url}: {exc!r}") from exc
        if resp.status_code >= 300:
            raise AdminError(
                f"gateway simulator {method} {url}: HTTP {resp.status_code} {resp.text[:300]}",
                resp.status_code, resp.text,
            )  # fmt: skip
        try:
            return resp.json()
        except ValueError as exc:
            raise AdminError(f"gateway simulator {method} {url}: not JSON") from exc


def _member(doc: Any, key: str, kind: type) -> Any:
    value = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(value, kind):
        raise AdminError(f"gateway simulator answered without {key!r}: {str(doc)[:300]}")
    return value


def _only(merchant_id: str | None) -> dict[str, str]:
    return {"merchant_id": merchant_id} if merchant_id else {}
