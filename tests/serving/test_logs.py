"""Structured JSON logs."""

from __future__ import annotations

import json
import logging

from payments.models import Merchant
from serving.logs import JsonFormatter, request_id_var


def _record(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": msg})
    record.__dict__.update(extra)
    return record


def test_line_is_json_with_request_id_and_extras() -> None:
    """Each record is one JSON object carrying the current request id and extra fields."""
    token = request_id_var.set("req-42")
    try:
        line = JsonFormatter("engine").format(_record("charged", payment_id="pay_1"))
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["request_id"] == "req-42"
    assert entry["service"] == "engine"
    assert entry["payment_id"] == "pay_1"
    assert entry["msg"] == "charged"


def test_request_id_source_can_be_given() -> None:
    """A service with its own request context (the Vyked shim) supplies the id."""
    entry = json.loads(JsonFormatter("legacy", lambda: "abc").format(_record("x")))
    assert entry["request_id"] == "abc"


def test_merchant_secrets_never_reach_a_log_line() -> None:
    """Logging a merchant shows its id, never its API or gateway keys."""
    merchant = Merchant("m1", "Shop", "jm1", "secret_juspay_key", "PTM1", "secret_paytm_key",
                        "hook", "secret_hook_password")
    line = JsonFormatter("engine").format(_record("auth %s", args=None, merchant=merchant))
    line += JsonFormatter("engine").format(_record(f"auth {merchant!r}"))
    assert "m1" in line
    assert "secret" not in line
