"""Pure payment domain shared by every paybench service: no I/O here.

Money, states, validation, errors, idempotency rules, the payment flows (as
generators of effects that a sync or async driver executes) and the gateway
protocols all live in this package, so the engine and the legacy service do
the same work in two I/O styles.
"""
