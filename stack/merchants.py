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

import httpx

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
    """The simulator's ``POST /__admin__/merchants`` bodies for one merchant of a target."""
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
    with httpx.Client(base_url=gateway_url, timeout=timeout_s, trust_env=False) as client:
        for seed in merchants:
            for body in registrations(seed, target_url):
                resp = client.post("/__admin__/merchants", json=body)
                if resp.status_code >= 300:
                    raise StackError(
                        f"gateway simulator refused merchant {body['merchant_id']}: "
                        f"HTTP {resp.status_code} {resp.text[:300]}"
                    )


def reset_simulator(gateway_url: str, timeout_s: float = 10.0) -> None:
    """Clear the simulator's ledger (merchant registrations are kept)."""
    with httpx.Client(base_url=gateway_url, timeout=timeout_s, trust_env=False) as client:
        resp = client.post("/__admin__/reset")
        if resp.status_code >= 300:
            raise StackError(f"gateway simulator reset failed: HTTP {resp.status_code}")
