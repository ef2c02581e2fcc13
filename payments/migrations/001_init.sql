-- paybench schema: applied into one schema per target (search_path set by the caller).

CREATE TABLE merchants (
    id                  text PRIMARY KEY,
    name                text NOT NULL,
    api_key_hash        text NOT NULL UNIQUE,          -- sha256 hex of the API key
    juspay_merchant_id  text NOT NULL,
    juspay_api_key      text NOT NULL,
    paytm_mid           text NOT NULL,
    paytm_merchant_key  text NOT NULL,
    webhook_username    text NOT NULL,
    webhook_password    text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments (
    id                    text PRIMARY KEY,
    merchant_id           text NOT NULL REFERENCES merchants (id),
    order_id              text NOT NULL,
    amount                bigint NOT NULL CHECK (amount > 0),
    currency              char(3) NOT NULL,
    gateway               text NOT NULL CHECK (gateway IN ('juspay', 'paytm')),
    payment_method        text NOT NULL,
    status                text NOT NULL CHECK (status IN ('created', 'processing', 'succeeded',
                                                          'failed', 'partially_refunded',
                                                          'refunded')),
    attempt_id            text,
    gateway_txn_id        text,
    failure_code          text,
    failure_message       text,
    amount_refunded       bigint NOT NULL DEFAULT 0,   -- settled refunds
    amount_refund_reserved bigint NOT NULL DEFAULT 0,  -- settled plus in-flight refunds
    description           text,
    customer_id           text,
    metadata              jsonb NOT NULL DEFAULT '{}',
    version               integer NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    -- order_id leads: lookups pin a payment by id AND merchant_id, and with
    -- merchant_id leading a generic plan (prepared statements, made while the
    -- table was small) may walk the merchant's whole range filtering on id
    UNIQUE (order_id, merchant_id),
    -- the database itself refuses an over-refund, whatever the code does
    CHECK (amount_refunded >= 0 AND amount_refunded <= amount_refund_reserved),
    CHECK (amount_refund_reserved <= amount)
);

CREATE TABLE payment_attempts (
    id              text PRIMARY KEY,              -- sent to the gateway as its order id
    payment_id      text NOT NULL REFERENCES payments (id),
    merchant_id     text NOT NULL,
    gateway         text NOT NULL,
    status          text NOT NULL CHECK (status IN ('unknown', 'pending', 'succeeded', 'failed')),
    gateway_txn_id  text,
    gateway_status  text,
    error_code      text,
    error_message   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- At most one live or successful attempt per payment, enforced by the database.
CREATE UNIQUE INDEX payment_attempts_one_live
    ON payment_attempts (payment_id) WHERE status IN ('unknown', 'pending', 'succeeded');
CREATE INDEX payment_attempts_unsettled
    ON payment_attempts (updated_at) WHERE status IN ('unknown', 'pending');

CREATE TABLE refunds (
    id                 text PRIMARY KEY,           -- sent as unique_request_id / refId
    payment_id         text NOT NULL REFERENCES payments (id),
    merchant_id        text NOT NULL,
    amount             bigint NOT NULL CHECK (amount > 0),
    currency           char(3) NOT NULL,
    status             text NOT NULL CHECK (status IN ('unknown', 'pending', 'succeeded',
                                                       'failed')),
    reason             text,
    gateway_refund_id  text,
    failure_code       text,
    failure_message    text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_payment ON refunds (payment_id);
CREATE INDEX refunds_unsettled ON refunds (updated_at) WHERE status IN ('unknown', 'pending');

CREATE TABLE idempotency_keys (
    merchant_id          text NOT NULL,
    key                  text NOT NULL,
    request_fingerprint  text NOT NULL,
    state                text NOT NULL CHECK (state IN ('in_flight', 'done')),
    response_status      integer,
    response_body        bytea,
    created_at           timestamptz NOT NULL DEFAULT now(),
    locked_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE webhook_events (
    gateway      text NOT NULL,
    event_id     text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gateway, event_id)
);
