"""Paytm's server-to-server callbacks: form fields signed with ``CHECKSUMHASH``.

A charge callback carries :data:`WEBHOOK_FIELDS`; a refund callback carries
:data:`REFUND_WEBHOOK_FIELDS`, ``REFID`` among them. Both map onto the same
outcomes as the API replies (:mod:`payments.gateways.paytm`).
"""

from __future__ import annotations

from payments.gateways import checksum
from payments.gateways.base import GatewayName, WebhookEvent
from payments.gateways.errors import WebhookParseError
from payments.gateways.paytm import outcome_from_txn, refund_outcome_from
from payments.gateways.wire import decode_form

WEBHOOK_FIELDS = (
    "ORDERID", "MID", "TXNID", "TXNAMOUNT", "CURRENCY", "PAYMENTMODE", "TXNDATE",
    "STATUS", "RESPCODE", "RESPMSG", "GATEWAYNAME", "BANKTXNID", "BANKNAME",
)  # fmt: skip
REFUND_WEBHOOK_FIELDS = (
    "ORDERID", "MID", "TXNID", "REFID", "REFUNDID", "REFUNDAMOUNT", "CURRENCY",
    "TXNTYPE", "STATUS", "RESPCODE", "RESPMSG",
)  # fmt: skip


def parse_webhook(body: bytes) -> WebhookEvent:
    """Parse callback form fields; a ``REFID`` field marks a refund notification.

    Paytm callbacks carry no event id, so the id is derived from the fields
    that identify the state change: a duplicate delivery maps to the same id.
    """
    try:
        fields = decode_form(body)
    except UnicodeDecodeError:
        raise WebhookParseError("paytm", "body is not UTF-8 form data") from None
    order_id = fields.get("ORDERID", "")
    status = fields.get("STATUS", "")
    if not order_id or not status:
        raise WebhookParseError("paytm", "ORDERID and STATUS are required")
    code = fields.get("RESPCODE", "")
    message = fields.get("RESPMSG", "")
    ref_id = fields.get("REFID")
    if ref_id:
        refund = refund_outcome_from(status, code, message, fields.get("REFUNDID") or None)
        event_id = f"paytm:{order_id}:refund:{ref_id}:{status}:{code}"
        return WebhookEvent(
            GatewayName.PAYTM, event_id, order_id, "refund", refund_id=ref_id, refund=refund
        )
    charge = outcome_from_txn(status, code, message, fields)
    event_id = f"paytm:{order_id}:{fields.get('TXNID', '')}:{status}:{code}"
    return WebhookEvent(GatewayName.PAYTM, event_id, order_id, "charge", charge)


def verify_webhook(body: bytes, key: str) -> bool:
    """Check ``CHECKSUMHASH`` over the other form fields with the merchant key."""
    try:
        fields = decode_form(body)
    except UnicodeDecodeError:
        return False
    signature = fields.get(checksum.CHECKSUM_FIELD)
    if not signature:
        return False
    return checksum.verify_params(dict(fields), key, signature)
