"""How the simulated Paytm renders its objects: signed envelopes, txn fields, callbacks."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime
from typing import Any

from gateway_sim.state import Merchant, Order, OrderState, Refund, RefundState
from gateway_sim.webhooks import Notification
from payments.gateways import checksum, paytm, paytm_envelope
from payments.gateways.wire import FORM_TYPE, encode_form
from payments.money import format_major

MODES = {"card": "CC", "upi": "UPI", "netbanking": "NB", "wallet": "PPI"}
PROCESS_MODES = {"CREDIT_CARD": "card", "DEBIT_CARD": "card", "UPI": "upi"}
PROCESS_MODES |= {"NET_BANKING": "netbanking", "BALANCE": "wallet"}


def txn_date(ts: float) -> str:
    return _date_second(int(ts))


@functools.lru_cache(maxsize=4096)
def _date_second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S.0")


def response(body: dict[str, Any], key: str | None) -> bytes:
    """A ``{head, body}`` reply, signed with the merchant key when we know it."""
    head: dict[str, Any] = {"responseTimestamp": str(int(time.time() * 1000)), "version": "v1"}
    if key is None:
        return paytm_envelope.envelope(body, head)[1]
    return paytm_envelope.signed_envelope(body, key, **head)


def result(status: str, code: str, message: str) -> dict[str, str]:
    return {"resultStatus": status, "resultCode": code, "resultMsg": message}


def txn_status(order: Order) -> tuple[str, str, str]:
    """(STATUS, RESPCODE, RESPMSG) of an order."""
    if order.state is OrderState.CHARGED:
        return "TXN_SUCCESS", paytm.CODE_SUCCESS, "Txn Success"
    if order.state is OrderState.FAILED:
        return "TXN_FAILURE", order.decline_code, order.decline_message
    if order.state is OrderState.PENDING:
        return "PENDING", paytm.CODE_PENDING_BANK, "Transaction is pending at the bank"
    return "PENDING", paytm.CODE_PENDING_BANK, "Looks like the payment is not complete"


def txn_fields(order: Order) -> dict[str, str]:
    status, code, message = txn_status(order)
    return {
        "ORDERID": order.order_id,
        "MID": order.merchant_id,
        "TXNID": order.txn_id,
        "TXNAMOUNT": format_major(order.amount, order.currency),
        "CURRENCY": order.currency,
        "PAYMENTMODE": MODES.get(order.payment_method, "CC"),
        "TXNDATE": txn_date(order.created_at),
        "STATUS": status,
        "RESPCODE": code,
        "RESPMSG": message,
        "GATEWAYNAME": "HDFC",
        "BANKTXNID": order.txn_id[-12:] if order.txn_id else "",
        "BANKNAME": "HDFC Bank",
    }


def status_body(order: Order) -> dict[str, Any]:
    status, code, message = txn_status(order)
    return {
        "resultInfo": result(status, code, message),
        "txnId": order.txn_id,
        "bankTxnId": order.txn_id[-12:] if order.txn_id else "",
        "orderId": order.order_id,
        "txnAmount": format_major(order.amount, order.currency),
        "currency": order.currency,
        "txnType": "SALE",
        "gatewayName": "HDFC",
        "bankName": "HDFC Bank",
        "mid": order.merchant_id,
        "paymentMode": MODES.get(order.payment_method, "CC"),
        "refundAmt": format_major(order.refunded_amount(settled_only=True), order.currency),
        "txnDate": txn_date(order.created_at),
    }


def refund_result(refund: Refund) -> dict[str, str]:
    if refund.state is RefundState.SUCCEEDED:
        return result("TXN_SUCCESS", paytm.CODE_REFUND_SUCCESS, "Refund Successfull")
    if refund.state is RefundState.FAILED:
        return result("TXN_FAILURE", "627", "Refund failed at the bank")
    return result("PENDING", paytm.CODE_REFUND_PENDING, "Refund request was raised")


def refund_body(order: Order, refund: Refund) -> dict[str, Any]:
    return {
        "txnTimestamp": txn_date(order.created_at),
        "orderId": order.order_id,
        "mid": order.merchant_id,
        "refId": refund.request_id,
        "resultInfo": refund_result(refund),
        "refundId": refund.refund_id,
        "txnId": order.txn_id,
        "refundAmount": format_major(refund.amount, order.currency),
        "txnAmount": format_major(order.amount, order.currency),
    }


# Paytm's payMethod names in refund details, by paybench payment method.
PAY_METHODS = {
    "card": "CREDIT_CARD",
    "upi": "UPI",
    "netbanking": "NET_BANKING",
    "wallet": "BALANCE",
}
CREDIT_STATUS = {
    RefundState.PENDING: "PENDING",
    RefundState.SUCCEEDED: "SUCCESS",
    RefundState.FAILED: "FAILED",
}


def refund_status_body(order: Order, refund: Refund) -> dict[str, Any]:
    """The Refund Status API body (``/v2/refund/status``), with its documented fields."""
    accepted_at = txn_date(refund.created_at)
    refund_amount = format_major(refund.amount, order.currency)
    expected = datetime.fromtimestamp(refund.created_at + 5 * 86_400, UTC).strftime("%Y-%m-%d")
    return {
        "orderId": order.order_id,
        "mid": order.merchant_id,
        "refId": refund.request_id,
        "refundId": refund.refund_id,
        "txnId": order.txn_id,
        "resultInfo": refund_result(refund),
        "txnAmount": format_major(order.amount, order.currency),
        "refundAmount": refund_amount,
        # every refund accepted so far on this transaction, this one included
        "totalRefundAmount": format_major(order.refunded_amount(), order.currency),
        "txnTimestamp": txn_date(order.created_at),
        "merchantRefundRequestTimestamp": accepted_at,
        "acceptRefundTimestamp": accepted_at,
        "acceptRefundStatus": "SUCCESS",  # the simulator answers only for accepted refunds
        "userCreditInitiateStatus": CREDIT_STATUS[refund.state],
        "source": "MERCHANT",
        "refundReason": refund.reason,
        "refundDetailInfoList": [
            {
                "refundType": "TO_SOURCE",
                "payMethod": PAY_METHODS.get(order.payment_method, "CREDIT_CARD"),
                "userCreditExpectedDate": expected,
                "refundAmount": refund_amount,
            }
        ],
    }


def notification(merchant: Merchant, order: Order, refund: Refund | None = None) -> Notification:
    """Form fields with CHECKSUMHASH, as Paytm posts to the callback URL."""
    if refund is None:
        fields = txn_fields(order)
        event = fields["STATUS"]
        event_id = f"{order.order_id}:{event}"
    else:
        info = refund_result(refund)
        fields = {
            "ORDERID": order.order_id,
            "MID": order.merchant_id,
            "TXNID": order.txn_id,
            "REFID": refund.request_id,
            "REFUNDID": refund.refund_id,
            "REFUNDAMOUNT": format_major(refund.amount, order.currency),
            "CURRENCY": order.currency,
            "TXNTYPE": "REFUND",
            "STATUS": info["resultStatus"],
            "RESPCODE": info["resultCode"],
            "RESPMSG": info["resultMsg"],
        }
        event = "REFUND_" + info["resultStatus"]
        event_id = f"{order.order_id}:{refund.request_id}:{info['resultStatus']}"
    fields[checksum.CHECKSUM_FIELD] = checksum.generate_for_params(fields, merchant.api_key)
    return Notification(
        gateway="paytm",
        merchant_id=merchant.merchant_id,
        order_id=order.order_id,
        event_id=event_id,
        event=event,
        url=merchant.webhook_url,
        body=encode_form(fields),
        headers={"Content-Type": FORM_TYPE},
    )
