"""A simulator process shared by the protocol and flow tests, with fresh merchants."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sim_helpers import PAYTM_KEY, Sim, sim_process, unique

from gateway_sim.admin_client import GatewayAdmin
from payments.gateways.base import GatewayCredentials, GatewayName

# Short delays so pending payments and refunds settle within a test; the stall
# exceeds the 0.5 s client timeout the ambiguous-timeout tests use.
SIM_CONFIG = {"settle_delay_s": 0.2, "refund_settle_s": 0.2, "stall_s": 1.5}


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    tmp: Path = tmp_path_factory.mktemp("sim")
    with sim_process("--profile", "instant", "--seed", "7", config=SIM_CONFIG, tmp=tmp) as s:
        yield s


@pytest.fixture(scope="session")
def client(sim: Sim) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=5) as c:
        yield c


@pytest.fixture(scope="session")
def admin(sim: Sim) -> Iterator[GatewayAdmin]:
    with GatewayAdmin(sim.url, timeout_s=5) as a:
        yield a


@pytest.fixture(scope="session")
def juspay_creds(admin: GatewayAdmin) -> GatewayCredentials:
    creds = GatewayCredentials(GatewayName.JUSPAY, unique("jm_"), unique("jkey_"))
    admin.add_merchant(
        {"gateway": "juspay", "merchant_id": creds.merchant_id, "api_key": creds.api_key}
    )
    return creds


@pytest.fixture(scope="session")
def paytm_creds(admin: GatewayAdmin) -> GatewayCredentials:
    creds = GatewayCredentials(GatewayName.PAYTM, unique("PTM"), PAYTM_KEY)
    admin.add_merchant(
        {"gateway": "paytm", "merchant_id": creds.merchant_id, "api_key": creds.api_key}
    )
    return creds


@pytest.fixture(params=["juspay", "paytm"])
def creds(
    request: pytest.FixtureRequest,
    juspay_creds: GatewayCredentials,
    paytm_creds: GatewayCredentials,
) -> GatewayCredentials:
    return juspay_creds if request.param == "juspay" else paytm_creds
