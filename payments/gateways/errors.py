"""Errors raised by the gateway protocol code.

::

    GatewayProtocolError          anything the protocol layer refuses
    ├── WebhookParseError         a notification body that cannot be understood
    ├── ChecksumError             a Paytm checksum that is malformed (not merely wrong)
    └── UnknownGatewayError       a gateway name with no protocol

Wrong-but-wellformed signatures are not errors: ``verify`` functions return
``False`` so callers answer 401 without a stack trace.
"""

from __future__ import annotations


class GatewayProtocolError(Exception):
    """Base class of the protocol layer's errors."""

    code = "gateway_protocol_error"


class WebhookParseError(GatewayProtocolError):
    """The webhook body is not a notification this gateway sends."""

    code = "invalid_webhook"

    def __init__(self, gateway: str, reason: str) -> None:
        super().__init__(f"{gateway} webhook: {reason}")
        self.gateway = gateway
        self.reason = reason


class ChecksumError(GatewayProtocolError):
    """A checksum could not be produced or decoded (bad key length, bad base64)."""

    code = "invalid_checksum"


class UnknownGatewayError(GatewayProtocolError):
    """No protocol is registered under this gateway name."""

    code = "unknown_gateway"

    def __init__(self, gateway: str) -> None:
        super().__init__(f"unknown gateway {gateway!r}")
        self.gateway = gateway
