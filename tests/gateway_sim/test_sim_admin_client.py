"""The admin client against a real simulator process: every call, and how it fails."""

from __future__ import annotations

import pytest
from sim_helpers import unique

from gateway_sim.admin_client import AdminError, GatewayAdmin
from stack.processes import free_port


def test_every_call_reads_what_the_simulator_keeps(admin: GatewayAdmin) -> None:
    """A registered merchant is listed, and its ledger and webhook log start empty."""
    merchant_id = unique("jm_")
    admin.add_merchant({"gateway": "juspay", "merchant_id": merchant_id, "api_key": "k"})
    assert admin.health()["status"] == "ok"
    assert merchant_id in {m["merchant_id"] for m in admin.merchants()}
    assert admin.ledger(merchant_id)["entries"] == []
    assert admin.webhooks(merchant_id)["attempts"] == []
    profile = admin.profile()
    assert admin.set_profile(profile) == profile


def test_a_refusal_carries_status_and_body(admin: GatewayAdmin) -> None:
    """A merchant without an id or key is refused with 400 and the simulator's error code."""
    with pytest.raises(AdminError) as refused:
        admin.add_merchant({"gateway": "paytm"})
    assert refused.value.status == 400
    assert '"code"' in refused.value.body


def test_an_unreachable_simulator_is_an_admin_error() -> None:
    """Nothing listening: an AdminError without a status, not a transport exception."""
    url = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    with GatewayAdmin(url, timeout_s=2) as admin, pytest.raises(AdminError) as failed:
        admin.health()
    assert failed.value.status is None
