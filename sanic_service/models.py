"""Tortoise models mapped onto the project's own schema (``payments/migrations``).

The schema belongs to the SQL migrations, not to Tortoise: every model names
its table in ``Meta.table`` and nothing here ever generates or alters one.
Columns the database fills (``now()``, zero amounts, version 1, empty
metadata) are ``db_default`` fields, so an insert omits them and Tortoise
reads them back with ``RETURNING``: the database stays the only clock and
the only source of defaults, as for the other two services.

Key fields are ``CharField`` because Tortoise refuses a ``TextField`` key;
their ``max_length`` is a Python-side check (the columns are ``text``) set at
or above what ``payments.validation`` lets through, so it never refuses a
value the other services accept.

Two tables have composite primary keys, which Tortoise cannot declare
(``idempotency_keys (merchant_id, key)``, ``webhook_events (gateway,
event_id)``). Their models name one column of the key as ``primary_key`` and
are only ever inserted into and filtered on both columns; the table's real
key is what refuses a duplicate.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.fields.db_defaults import Now, SqlDefault
from tortoise.models import Model

from payments.validation import MAX_IDEMPOTENCY_KEY

ID_LENGTH = 64  # payments.validation.OBJECT_ID_RE and merchant ids
STATUS_LENGTH = 32


def _now() -> Any:
    return Now()


class Merchant(Model):
    id = fields.CharField(max_length=ID_LENGTH, primary_key=True)
    name = fields.TextField()
    api_key_hash = fields.CharField(max_length=64, unique=True)  # sha256 hex
    juspay_merchant_id = fields.TextField()
    juspay_api_key = fields.TextField()
    paytm_mid = fields.TextField()
    paytm_merchant_key = fields.TextField()
    webhook_username = fields.TextField()
    webhook_password = fields.TextField()
    created_at = fields.DatetimeField(db_default=_now())

    class Meta:
        table = "merchants"

    def __repr__(self) -> str:  # never print keys in logs or tracebacks
        return f"Merchant(id={self.id!r})"


class Payment(Model):
    id = fields.CharField(max_length=ID_LENGTH, primary_key=True)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "models.Merchant", related_name="payments"
    )
    merchant_id: str
    order_id = fields.TextField()
    amount = fields.BigIntField()  # minor units
    currency = fields.CharField(max_length=3)
    gateway = fields.CharField(max_length=STATUS_LENGTH)
    payment_method = fields.TextField()
    status = fields.CharField(max_length=STATUS_LENGTH)
    attempt_id = fields.CharField(max_length=ID_LENGTH, null=True)
    gateway_txn_id = fields.TextField(null=True)
    failure_code = fields.TextField(null=True)
    failure_message = fields.TextField(null=True)
    amount_refunded = fields.BigIntField(db_default=SqlDefault("0"))
    amount_refund_reserved = fields.BigIntField(db_default=SqlDefault("0"))
    description = fields.TextField(null=True)
    customer_id = fields.TextField(null=True)
    metadata: Any = fields.JSONField(db_default=SqlDefault("'{}'"))
    version = fields.IntField(db_default=SqlDefault("1"))
    created_at = fields.DatetimeField(db_default=_now())
    updated_at = fields.DatetimeField(db_default=_now())

    class Meta:
        table = "payments"


class PaymentAttempt(Model):
    id = fields.CharField(max_length=ID_LENGTH, primary_key=True)  # the gateway's order id
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="attempts"
    )
    payment_id: str
    merchant_id = fields.CharField(max_length=ID_LENGTH)
    gateway = fields.CharField(max_length=STATUS_LENGTH)
    status = fields.CharField(max_length=STATUS_LENGTH)
    gateway_txn_id = fields.TextField(null=True)
    gateway_status = fields.TextField(null=True)
    error_code = fields.TextField(null=True)
    error_message = fields.TextField(null=True)
    created_at = fields.DatetimeField(db_default=_now())
    updated_at = fields.DatetimeField(db_default=_now())

    class Meta:
        table = "payment_attempts"


class Refund(Model):
    id = fields.CharField(max_length=ID_LENGTH, primary_key=True)
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="refunds"
    )
    payment_id: str
    merchant_id = fields.CharField(max_length=ID_LENGTH)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    status = fields.CharField(max_length=STATUS_LENGTH)
    reason = fields.TextField(null=True)
    gateway_refund_id = fields.TextField(null=True)
    failure_code = fields.TextField(null=True)
    failure_message = fields.TextField(null=True)
    created_at = fields.DatetimeField(db_default=_now())
    updated_at = fields.DatetimeField(db_default=_now())

    class Meta:
        table = "refunds"


class IdempotencyKey(Model):
    # Real key: (merchant_id, key). Every query filters on both.
    key = fields.CharField(max_length=MAX_IDEMPOTENCY_KEY, primary_key=True)
    merchant_id = fields.CharField(max_length=ID_LENGTH)
    request_fingerprint = fields.CharField(max_length=64)  # sha256 hex
    state = fields.CharField(max_length=STATUS_LENGTH)
    response_status = fields.IntField(null=True)
    response_body = fields.BinaryField(null=True)
    created_at = fields.DatetimeField(db_default=_now())
    locked_at = fields.DatetimeField(db_default=_now())

    class Meta:
        table = "idempotency_keys"


class WebhookEvent(Model):
    # Real key: (gateway, event_id). ``gateway`` stands as Tortoise's key: it is
    # always one of our gateway names, so the length check of key fields can
    # never refuse an event, while gateways choose how long their event ids are.
    gateway = fields.CharField(max_length=STATUS_LENGTH, primary_key=True)
    event_id = fields.TextField()
    received_at = fields.DatetimeField(db_default=_now())

    class Meta:
        table = "webhook_events"
