"""Every SQL statement the services run, shared by both drivers.

Each write is ONE statement (data-modifying CTEs), so it is atomic without a
client-side transaction and no transaction is ever open across a gateway
call. Every state change is a compare-and-set: the ``WHERE`` names the state
it moves from, and an empty result means another request got there first.
Placeholders are asyncpg's ``$n``; the sync driver rewrites them for psycopg.
"""

from __future__ import annotations


def _cols(prefix: str, names: str) -> str:
    return ", ".join(f"{prefix}{n.strip()}" for n in names.split(","))


_PAYMENT = (
    "id, merchant_id, order_id, amount, currency, gateway, payment_method, status, attempt_id,"
    " gateway_txn_id, failure_code, failure_message, amount_refunded, amount_refund_reserved,"
    " description, customer_id, version, created_at, updated_at"
)
_REFUND = (
    "id, payment_id, merchant_id, amount, currency, status, reason, gateway_refund_id,"
    " failure_code, failure_message, created_at, updated_at"
)


def payment_columns(prefix: str = "") -> str:
    """Payment columns; jsonb goes out as text so both drivers see the same type."""
    return f"{_cols(prefix, _PAYMENT)}, {prefix}metadata::text AS metadata"


def refund_columns(prefix: str = "") -> str:
    return _cols(prefix, _REFUND)


_MERCHANT = (
    "id, name, juspay_merchant_id, juspay_api_key, paytm_mid, paytm_merchant_key,"
    " webhook_username, webhook_password"
)

PING = "SELECT 1 AS ok"

MERCHANT_BY_KEY_HASH = f"SELECT {_MERCHANT} FROM merchants WHERE api_key_hash = $1"

MERCHANT_BY_ID = f"SELECT {_MERCHANT} FROM merchants WHERE id = $1"

INSERT_PAYMENT = f"""
INSERT INTO payments (id, merchant_id, order_id, amount, currency, gateway, payment_method,
                      status, description, customer_id, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'created', $8, $9, $10::jsonb)
ON CONFLICT (merchant_id, order_id) DO NOTHING
RETURNING {payment_columns()}
"""

# Create and confirm in one request: the payment is inserted already 'processing'
# with its first attempt, as INSERT_PAYMENT then BEGIN_ATTEMPT would leave it
# (version 2), in one statement instead of two. $1..$10 as INSERT_PAYMENT,
# $11 the attempt id. No row: the order id is taken.
INSERT_PAYMENT_WITH_ATTEMPT = f"""
WITH p AS (
    INSERT INTO payments (id, merchant_id, order_id, amount, currency, gateway, payment_method,
                          status, attempt_id, version, description, customer_id, metadata)
    VALUES ($1, $2, $3, $4, $5, $6, $7, 'processing', $11, 2, $8, $9, $10::jsonb)
    ON CONFLICT (merchant_id, order_id) DO NOTHING
 RETURNING {payment_columns()}
), a AS (
    INSERT INTO payment_attempts (id, payment_id, merchant_id, gateway, status)
    SELECT $11, p.id, p.merchant_id, p.gateway, 'unknown' FROM p
 RETURNING id
)
SELECT p.* FROM p JOIN a ON a.id = p.attempt_id
"""

GET_PAYMENT = f"SELECT {payment_columns()} FROM payments WHERE id = $1 AND merchant_id = $2"

GET_PAYMENT_BY_ORDER = (
    f"SELECT {payment_columns()} FROM payments WHERE merchant_id = $1 AND order_id = $2"
)

# created -> processing, and the attempt that will be sent to the gateway.
BEGIN_ATTEMPT = f"""
WITH p AS (
    UPDATE payments
       SET status = 'processing', attempt_id = $3, version = version + 1, updated_at = now()
     WHERE id = $1 AND merchant_id = $2 AND status = 'created'
 RETURNING {payment_columns()}
), a AS (
    INSERT INTO payment_attempts (id, payment_id, merchant_id, gateway, status)
    SELECT $3, p.id, p.merchant_id, p.gateway, 'unknown' FROM p
 RETURNING id
)
SELECT p.* FROM p JOIN a ON a.id = p.attempt_id
"""

# Record what the gateway said about an unsettled attempt; move the payment
# processing -> succeeded | failed when the answer is final ($8 not null).
SETTLE_ATTEMPT = f"""
WITH a AS (
    UPDATE payment_attempts
       SET status = $3, gateway_txn_id = coalesce($4, gateway_txn_id),
           gateway_status = coalesce($5, gateway_status), error_code = $6, error_message = $7,
           updated_at = now()
     WHERE id = $2 AND payment_id = $1 AND status IN ('unknown', 'pending')
 RETURNING id
)
UPDATE payments
   SET status = coalesce($8, payments.status),
       gateway_txn_id = coalesce($4, payments.gateway_txn_id),
       failure_code = $6, failure_message = $7,
       version = payments.version + 1, updated_at = now()
  FROM a
 WHERE payments.id = $1 AND payments.attempt_id = a.id AND payments.status = 'processing'
RETURNING {payment_columns("payments.")}
"""

GET_ATTEMPT = """
SELECT id, payment_id, merchant_id, gateway, status, gateway_txn_id, gateway_status,
       extract(epoch FROM now() - created_at)::float8 AS age_s
  FROM payment_attempts WHERE id = $1
"""

UNSETTLED_ATTEMPTS = """
SELECT id, payment_id, merchant_id, gateway
  FROM payment_attempts
 WHERE status IN ('unknown', 'pending') AND updated_at < now() - make_interval(secs => $1)
 ORDER BY updated_at
 LIMIT $2
"""

# Reserve the refund amount on the payment and create the refund, atomically.
# The row lock of the UPDATE serialises concurrent refunds of one payment, and
# each re-checks the bound after the lock: never more than captured.
RESERVE_REFUND = f"""
WITH p AS (
    UPDATE payments
       SET amount_refund_reserved = amount_refund_reserved + $4,
           version = version + 1, updated_at = now()
     WHERE id = $1 AND merchant_id = $2
       AND status IN ('succeeded', 'partially_refunded')
       AND amount_refund_reserved + $4 <= amount
 RETURNING id, currency
)
INSERT INTO refunds (id, payment_id, merchant_id, amount, currency, status, reason)
SELECT $3, p.id, $2, $4, p.currency, 'unknown', $5 FROM p
RETURNING {refund_columns()}
"""

# Settle an unsettled refund: success moves the money from reserved to
# refunded (and the payment to partially_refunded | refunded); failure frees
# the reservation.
SETTLE_REFUND = f"""
WITH r AS (
    UPDATE refunds
       SET status = $2, gateway_refund_id = coalesce($3, gateway_refund_id),
           failure_code = $4, failure_message = $5, updated_at = now()
     WHERE id = $1 AND status IN ('unknown', 'pending')
 RETURNING {refund_columns()}
), p AS (
    UPDATE payments
       SET amount_refunded = payments.amount_refunded
                             + CASE WHEN $2 = 'succeeded' THEN r.amount ELSE 0 END,
           amount_refund_reserved = payments.amount_refund_reserved
                             - CASE WHEN $2 = 'failed' THEN r.amount ELSE 0 END,
           status = CASE WHEN $2 <> 'succeeded' THEN payments.status
                         WHEN payments.amount_refunded + r.amount >= payments.amount
                         THEN 'refunded' ELSE 'partially_refunded' END,
           version = payments.version + 1, updated_at = now()
      FROM r
     WHERE payments.id = r.payment_id AND $2 IN ('succeeded', 'failed')
 RETURNING payments.id
)
SELECT r.* FROM r LEFT JOIN p ON p.id = r.payment_id
"""

GET_REFUND = f"SELECT {refund_columns()} FROM refunds WHERE id = $1 AND merchant_id = $2"

GET_REFUND_BY_ID = f"SELECT {refund_columns()} FROM refunds WHERE id = $1"

UNSETTLED_REFUNDS = f"""
SELECT {refund_columns()} FROM refunds
 WHERE status IN ('unknown', 'pending') AND updated_at < now() - make_interval(secs => $1)
 ORDER BY updated_at
 LIMIT $2
"""

UNSETTLED_REFUNDS_OF_PAYMENT = f"""
SELECT {refund_columns()} FROM refunds
 WHERE payment_id = $1 AND status IN ('unknown', 'pending')
"""

RECORD_WEBHOOK_EVENT = """
INSERT INTO webhook_events (gateway, event_id) VALUES ($1, $2)
ON CONFLICT DO NOTHING
RETURNING event_id
"""

# Claim an idempotency key: a new key, an expired one (24 h), or one whose
# request died in flight long ago with the same parameters.
IDEMPOTENCY_CLAIM = """
INSERT INTO idempotency_keys AS k (merchant_id, key, request_fingerprint, state)
VALUES ($1, $2, $3, 'in_flight')
ON CONFLICT (merchant_id, key) DO UPDATE
   SET request_fingerprint = EXCLUDED.request_fingerprint, state = 'in_flight',
       response_status = NULL, response_body = NULL, created_at = now(), locked_at = now()
 WHERE k.created_at < now() - make_interval(hours => 24)
    OR (k.state = 'in_flight' AND k.request_fingerprint = EXCLUDED.request_fingerprint
        AND k.locked_at < now() - make_interval(secs => $4))
RETURNING k.key
"""

IDEMPOTENCY_GET = """
SELECT request_fingerprint, state, response_status, response_body
  FROM idempotency_keys WHERE merchant_id = $1 AND key = $2
"""

IDEMPOTENCY_FINISH = """
UPDATE idempotency_keys SET state = 'done', response_status = $3, response_body = $4
 WHERE merchant_id = $1 AND key = $2 AND state = 'in_flight'
"""

IDEMPOTENCY_RELEASE = """
DELETE FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 AND state = 'in_flight'
"""

IDEMPOTENCY_PRUNE = """
DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => 24)
"""

TRUNCATE_ALL = """
TRUNCATE payments, payment_attempts, refunds, idempotency_keys, webhook_events CASCADE
"""
