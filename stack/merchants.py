"""Merchants per target, and their registration at the gateway simulator.

Every target gets the *same* paybench merchants (same ids and API keys, so
the same request can be sent to both, as shadow traffic does) but its *own*
merchant ids at the gateways: the simulator routes a webhook to the
``webhook_url`` registered for a gateway merchant id, and each target must
receive the webhooks of its own payments only.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from typing import Any

from gateway_sim.admin_client import AdminError, GatewayAdmin
from stack.errors import StackError
from stack.provision import MerchantSeed

GATEWAYS = ("juspay", "paytm")


def for_target(seed: MerchantSeed, target: str) -> MerchantSeed:
    """``seed`` with gateway accounts (ids and keys) made unique to ``target``.

    The paybench API key and webhook credentials stay those of ``seed``,
    shared by every target; the gateway keys differ too, because a gateway
    identifies the merchant by its key as much as by its id.
    """
    suffix = "".join(ch for ch in target if ch.isalnum() or ch == "_")
    derived = hashlib.sha256(f"{seed.paytm_merchant_key}:{suffix}".encode()).hexdigest()
    return dataclasses.replace(
        seed,
        juspay_merchant_id=f"{seed.juspay_merchant_id}_{suffix}",
        juspay_api_key=f"{seed.juspay_api_key}_{suffix}",
        paytm_mid=f"{seed.paytm_mid}_{suffix}".upper(),
        paytm_merchant_key=derived[:16],  # an AES-128 key, as Paytm's are
    )


def registrations(seed: MerchantSeed, target_url: str) -> list[dict[str, Any]]:
    """The simulator's merchant registrations (``GatewayAdmin.add_merchant``) for one
    merchant of a target."""
    base = target_url.rstrip("/")
    accounts = {
        "juspay": (seed.juspay_merchant_id, seed.juspay_api_key),
        "paytm": (seed.paytm_mid, seed.paytm_merchant_key),
    }
    return [
        {
            "gateway": gateway,
            "merchant_id": accounts[gateway][0],
            "api_key": accounts[gateway][1],
            "webhook_url": f"{base}/v1/webhooks/{gateway}",
            "webhook_username": seed.webhook_username,
            "webhook_password": seed.webhook_password,
        }
        for gateway in GATEWAYS
    ]


def register_at_simulator(
    gateway_url: str, merchants: Iterable[MerchantSeed], target_url: str, timeout_s: float = 10.0
) -> None:
    """Register every merchant of a target at the simulator, for both gateways."""
    with GatewayAdmin(gateway_url, timeout_s=timeout_s) as admin:
        for seed in merchants:
            for body in registrations(seed, target_url):
                try:
                    admin.add_merchant(body)
                except AdminError as exc:
                    raise StackError(
                        f"gateway simulator refused merchant {body['merchant_id']}: {_why(exc)}"
                    ) from exc


def reset_simulator(gateway_url: str, timeout_s: float = 10.0) -> None:
    """Clear the simulator's ledger (merchant registrations are kept)."""
    with GatewayAdmin(gateway_url, timeout_s=timeout_s) as admin:
        try:
            admin.reset()
        except AdminError as exc:
            raise StackError(f"gateway simulator reset failed: {_why(exc)}") from exc


def _why(exc: AdminError) -> str:
    return f"HTTP {exc.status} {exc.body[:300]}" if exc.status is not None else str(exc)
