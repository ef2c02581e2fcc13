"""Paytm's own Python SDK (paytm-pg) against the simulator, with only its base URL changed."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable

import httpx
import pytest
from sim_helpers import PAYTM_KEY, Sim, send, unique

from payments.gateways import paytm
from payments.gateways.base import AttemptStatus, ChargeRequest, GatewayCredentials

with warnings.catch_warnings():
    # paytm-pg 1.1.2 compares with `is not ""`: a SyntaxWarning whenever Python
    # compiles it afresh (no .pyc), which the suite's "error" filter would raise.
    warnings.simplefilter("ignore", SyntaxWarning)
    import paytmpg.pg.Request as sdk_request
    from paytmpg.merchant.models.PaymentDetail import PaymentDetailsBuilder
    from paytmpg.merchant.models.PaymentStatusDetail import PaymentStatusDetailBuilder
    from paytmpg.merchant.models.RefundDetail import RefundDetailBuilder
    from paytmpg.merchant.models.RefundStatusDetail import RefundStatusDetailBuilder
    from paytmpg.pg.constants.MerchantProperty import MerchantProperty
    from paytmpg.pg.enums.EChannelId import EChannelId
    from paytmpg.pg.enums.EnumCurrency import EnumCurrency
    from paytmpg.pg.models.Money import Money
    from paytmpg.pg.models.UserInfo import UserInfo
    from paytmpg.pg.Payment import Payment
    from paytmpg.pg.Refund import Refund

URL_ATTRIBUTES = ("initiate_txn_url", "refund_url", "payment_status_url", "refund_status_url")
SETTINGS = ("is_initialized", "environment", "mid", "merchant_key", "client_id", "website")


@pytest.fixture
def verdicts(
    sim: Sim, paytm_creds: GatewayCredentials, monkeypatch: pytest.MonkeyPatch
) -> list[bool]:
    """Configure the SDK for the simulator's merchant; collect its signature verdicts.

    The SDK's own URLs keep their paths (``/order/initiate``, ``/refund/apply``,
    ...): only the host part of its staging base URL is replaced. Its real
    ``verifySignature`` runs on every reply; the wrapper only records the result.
    """
    for name in (*SETTINGS, "base_url", *URL_ATTRIBUTES):
        monkeypatch.setattr(MerchantProperty, name, getattr(MerchantProperty, name))
    MerchantProperty.initialize("STAGE", paytm_creds.merchant_id, PAYTM_KEY, "C11", "WEBSTAGING")
    stage = MerchantProperty.get_base_url()
    MerchantProperty.set_base_url(sim.url)
    for name in URL_ATTRIBUTES:
        url = getattr(MerchantProperty, name)
        assert url.startswith(stage)
        setattr(MerchantProperty, name, sim.url + url.removeprefix(stage))
    seen: list[bool] = []
    real: Callable[[str, str, str], bool] = sdk_request.verifySignature

    def recording(body: str, key: str, signature: str) -> bool:
        ok = real(body, key, signature)
        seen.append(ok)
        return ok

    monkeypatch.setattr(sdk_request, "verifySignature", recording)
    return seen


def result(response: object) -> tuple[str, str]:
    info = response.get_response_object().get_body().get_result_info()  # type: ignore[attr-defined]
    return info.get_result_status(), info.get_result_code()


def raw_body(response: object) -> dict[str, object]:
    doc = json.loads(response.get_json_response())  # type: ignore[attr-defined]
    body: dict[str, object] = doc["body"]
    return body


def initiate(order_id: str, value: str) -> object:
    user = UserInfo()
    user.set_cust_id("cust_sdk")
    detail = PaymentDetailsBuilder(
        EChannelId.WEB, order_id, Money(EnumCurrency.INR, value), user
    ).build()
    return Payment.createTxnToken(detail)


def test_sdk_paths_are_the_ones_routed(verdicts: list[bool]) -> None:
    """The SDK calls /order/initiate, /refund/apply, /v3/order/status and /v2/refund/status."""
    paths = {name: getattr(MerchantProperty, name).split("/", 3)[3] for name in URL_ATTRIBUTES}
    assert paths == {
        "initiate_txn_url": "order/initiate",
        "refund_url": "refund/apply",
        "payment_status_url": "v3/order/status",
        "refund_status_url": "v2/refund/status",
    }


def test_sdk_initiate_status_refund_and_refund_status(
    client: httpx.Client, paytm_creds: GatewayCredentials, verdicts: list[bool]
) -> None:
    """All four SDK calls succeed, and the SDK verifies every reply's signature."""
    order_id = unique("sdk_")
    created = initiate(order_id, "125.00")
    assert result(created) == ("S", "0000")
    token = created.get_response_object().get_body().get_txn_token()  # type: ignore[attr-defined]
    assert token
    # The customer pays on Paytm's page with the token (processTransaction).
    pay = paytm.process_request(paytm_creds, ChargeRequest(order_id, 12_500, "INR", "card"), token)
    charged = paytm.parse_process(send(client, pay, 5.0), paytm_creds.api_key)
    assert charged.status is AttemptStatus.SUCCEEDED

    status = Payment.getPaymentStatus(PaymentStatusDetailBuilder(order_id).build())
    assert result(status) == ("TXN_SUCCESS", "01")
    body = status.get_response_object().get_body()
    assert (body.get_txn_id(), body.get_txn_amount()) == (charged.gateway_txn_id, "125.00")

    ref_id = unique("ref_")
    detail = RefundDetailBuilder(order_id, ref_id, charged.gateway_txn_id, "REFUND", "25.00")
    refund = Refund.doRefund(detail.set_comments("sdk").build())
    assert result(refund) == ("PENDING", "601")
    assert refund.get_response_object().get_body().get_refund_id()

    query = RefundStatusDetailBuilder().set_order_id(order_id).set_ref_id(ref_id).build()
    pending = Refund.getRefundStatus(query)
    assert result(pending) == ("PENDING", "601")
    reads = 1
    deadline = time.monotonic() + 5
    settled = pending
    while result(settled)[0] == "PENDING" and time.monotonic() < deadline:
        time.sleep(0.05)
        settled = Refund.getRefundStatus(query)
        reads += 1
    assert result(settled) == ("TXN_SUCCESS", "10")
    assert settled.get_response_object().get_body().get_total_refunded_amount() == "25.00"
    fields = raw_body(settled)
    assert fields["acceptRefundStatus"] == "SUCCESS"
    assert fields["userCreditInitiateStatus"] == "SUCCESS"
    assert fields["refundReason"] == "sdk"
    details = fields["refundDetailInfoList"]
    assert isinstance(details, list)
    assert details[0]["refundAmount"] == "25.00"
    assert details[0]["payMethod"] == "CREDIT_CARD"
    # initiate, status, refund and every refund-status read: each reply verified, all good.
    assert verdicts == [True] * (3 + reads)


def test_sdk_initiate_twice_is_idempotent_and_verified(verdicts: list[bool]) -> None:
    """A repeated createTxnToken answers 0002 with the same token, still signed."""
    order_id = unique("sdk_")
    first = initiate(order_id, "10.00")
    again = initiate(order_id, "10.00")
    assert result(first) == ("S", "0000")
    assert result(again) == ("S", "0002")
    tokens = {r.get_response_object().get_body().get_txn_token() for r in (first, again)}  # type: ignore[attr-defined]
    assert len(tokens) == 1
    assert verdicts == [True, True]


def test_sdk_with_the_wrong_key_is_refused(
    paytm_creds: GatewayCredentials, verdicts: list[bool]
) -> None:
    """A request the SDK signs with another key is refused with 330 and creates nothing."""
    MerchantProperty.set_merchant_key("another16bytekey")
    order_id = unique("sdk_")
    assert result(initiate(order_id, "10.00")) == ("F", "330")
    MerchantProperty.set_merchant_key(PAYTM_KEY)
    status = Payment.getPaymentStatus(PaymentStatusDetailBuilder(order_id).build())
    assert result(status) == ("NO_RECORD_FOUND", "331")
