"""Every service conforms to ``openapi.yaml`` on generated input (schemathesis, real stack).

Every operation is fuzzed with positive data (valid per the document) and
negative data (violating it) against every service (``TARGETS``). Each
response must not be a 5xx, must use a documented status code and media type,
must carry the documented headers and match the documented body schema, and
invalid input must be refused with a 4xx.

The two webhook operations are not fuzzed: a meaningful webhook must be signed
by the merchant's credentials and name an attempt the service created, which
generated data never does, so every generated one would stop at the first
check. ``test_webhooks_refuse_garbage`` sends them unsigned garbage instead.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contract.openapi import OPERATIONS_PATHS, load_spec, operations, route_keys
from payments.api import routes
from payments.gateways.base import GatewayName
from payments.money import DEFAULT_CURRENCIES
from payments.states import PaymentStatus
from payments.validation import PAYMENT_METHODS
from serving.operations import ENDPOINTS, INTERNAL_PREFIX
from tests.services.helpers import Target, payment_body

SCHEMA = schemathesis.openapi.from_dict(load_spec())
WEBHOOKS = {"/v1/webhooks/juspay", "/v1/webhooks/paytm"}
FUZZED = [op for op in operations() if op.path not in WEBHOOKS]
# operations without parameters or body have no input to make invalid
NEGATIVE = [op for op in FUZZED if op.spec.get("parameters") or op.spec.get("requestBody")]
# positive_data_acceptance is left out: valid-looking ids of payments that do not
# exist are rightly 404, and a repeated generated order_id is rightly 409.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def fuzz(
    target: Target,
    method: str,
    path: str,
    mode: GenerationMode,
    path_parameters: dict[str, Any] | None = None,
) -> int:
    """Send generated cases of one operation to ``target``; return how many were sent."""
    operation = SCHEMA[path][method]
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
    headers = {"Authorization": basic(target.merchants[0].api_key)}
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
    sent = [0]

    @settings(
        max_examples=MAX_EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # no shrinking: keep a failing run short
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:  # a schemathesis.Case
        response = case.call(base_url=target.url, headers=headers, timeout=30)
        case.validate_response(response, checks=checks, headers=headers)
        sent[0] += 1

    run()
    return sent[0]


CASES = [(op, GenerationMode.POSITIVE) for op in FUZZED] + [
    (op, GenerationMode.NEGATIVE) for op in NEGATIVE
]


@pytest.mark.parametrize(("op", "mode"), CASES,
                         ids=[f"{op.operation_id}-{mode.value}" for op, mode in CASES])
def test_operation_conforms_on_generated_input(target: Target, op: Any,
                                               mode: GenerationMode) -> None:
    """Generated requests get no 5xx and documented statuses, headers and bodies."""
    assert fuzz(target, op.method, op.path, mode) > 0


@pytest.fixture
def captured_payment(target: Target) -> str:
    """A succeeded payment of merchant 0 with room for many refunds."""
    with target.client() as client:
        resp = client.post("/v1/payments", json=payment_body(amount=10**12, confirm=True))
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "succeeded"
    return str(resp.json()["id"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/payments/{payment_id}"),
        ("POST", "/v1/payments/{payment_id}/confirm"),
        ("POST", "/v1/payments/{payment_id}/sync"),
        ("POST", "/v1/payments/{payment_id}/refunds"),
    ],
)
def test_operations_on_a_real_payment_conform(
    target: Target, captured_payment: str, method: str, path: str
) -> None:
    """Generated requests about an existing captured payment conform too (not only 404s)."""
    sent = fuzz(target, method, path, GenerationMode.POSITIVE,
                path_parameters={"payment_id": captured_payment})
    assert sent > 0


@pytest.mark.parametrize("path", sorted(WEBHOOKS))
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        (b"{not json", "application/json"),
        (b'{"id":"evt_1","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"att0"}}}',
         "application/json"),
        (b"ORDERID=att0&STATUS=TXN_SUCCESS&CHECKSUMHASH=abc",
         "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00garbage", "application/octet-stream"),
    ],
    ids=["empty", "bad-json", "unknown-juspay-order", "unknown-paytm-order", "binary"],
)
def test_webhooks_refuse_garbage(target: Target, path: str, body: bytes,
                                 content_type: str) -> None:
    """Unsigned or malformed webhooks get a documented 4xx error body, never a 5xx."""
    with target.anonymous() as client:
        resp = client.post(path, content=body, headers={"Content-Type": content_type})
    assert resp.status_code in (400, 401, 404), resp.text
    assert set(resp.json()) == {"error", "code"}
    documented = SCHEMA[path]["POST"].definition.raw["responses"]
    assert str(resp.status_code) in documented
    assert resp.headers.get("X-REQUEST-ID")


def test_every_route_is_documented_and_every_operation_is_served() -> None:
    """payments.api.routes() and openapi.yaml list the same (method, path) pairs, and the
    operations endpoints of serving.operations (at the root) are documented."""
    served = {(r.method, r.pattern) for r in routes()}
    documented = route_keys()
    assert served == documented, {
        "served, not documented": sorted(served - documented),
        "documented, not served": sorted(documented - served),
    }
    ops_documented = {op.path for op in operations() if op.path in OPERATIONS_PATHS}
    assert ops_documented == OPERATIONS_PATHS
    assert {e.path for e in ENDPOINTS if not e.path.startswith(INTERNAL_PREFIX)} == OPERATIONS_PATHS


def test_documented_error_codes_are_the_codes_raised() -> None:
    """Every error code the flows and the services raise appears in the Error schema's enum."""
    root = Path(__file__).resolve().parents[2]
    sources = [
        *(root / "payments").glob("*.py"),  # not gateways/: their codes are failure_code values
        *(root / "payments" / "flows").glob("*.py"),
        *(root / "engine").glob("*.py"),
        *(root / "legacy_adapter").glob("*.py"),
        *(root / "sanic_service").glob("*.py"),
    ]
    pattern = re.compile(
        r"""\bcode=\s*"([a-z_]+)"|json_error\(\s*\d+,\s*"[^"]*",\s*"([a-z_]+)"\)"""
        r"""|error_body\(\s*"[^"]*",\s*"([a-z_]+)"\)"""
    )
    raised: set[str] = set()
    for source in sources:
        for match in pattern.finditer(source.read_text()):
            raised.update(g for g in match.groups() if g)
    # errors.py: the default code of each error class that is raised without code=
    raised |= {"invalid_request", "unauthorized", "not_found", "idempotency_key_reused",
               "idempotency_in_flight", "refund_exceeds_amount"}
    raised.discard("internal_error")  # an unhandled exception: a 5xx is never part of the contract
    enum = set(load_spec()["components"]["schemas"]["Error"]["properties"]["code"]["enum"])
    assert len(raised) > 8, "too few codes found; the scan pattern is stale"
    assert raised <= enum, sorted(raised - enum)


def test_documented_enums_match_the_core() -> None:
    """Currencies, gateways, payment methods and statuses in the document are the core's."""
    schemas = load_spec()["components"]["schemas"]
    assert set(schemas["Currency"]["enum"]) == set(DEFAULT_CURRENCIES)
    assert set(schemas["Gateway"]["enum"]) == {g.value for g in GatewayName}
    assert set(schemas["PaymentMethod"]["enum"]) == set(PAYMENT_METHODS)
    assert set(schemas["PaymentStatus"]["enum"]) == {s.value for s in PaymentStatus}


@pytest.mark.parametrize(
    ("request_headers", "check"),
    [
        ({"X-REQUEST-ID": "req-fixed-123"}, lambda value: value == "req-fixed-123"),
        ({}, bool),
    ],
    ids=["echoed", "generated"],
)
def test_request_id_on_every_response(target: Target, request_headers: dict[str, str],
                                      check: Callable[[str], bool]) -> None:
    """X-REQUEST-ID is echoed (or generated) on successes, errors and operations endpoints."""
    with target.client(headers=request_headers) as client:
        answers = [
            client.get("/ping"),
            client.get("/health"),
            client.get("/v1/payments/pay_000000000000000000000000"),
            client.post("/v1/payments", content=b"{"),
            client.get("/v1/payments", params={"order_id": "none"}),
        ]
    for resp in answers:
        assert check(resp.headers.get("X-REQUEST-ID", "")), (resp.request.url, resp.headers)


# Regression tests of defects the generated tests found: an order id with a
# trailing newline, and NUL characters that PostgreSQL text cannot hold.


def test_order_id_with_trailing_newline_is_refused(target: Target) -> None:
    """POST /v1/payments with an order_id ending in a newline is 400 invalid_request."""
    body = payment_body()
    body["order_id"] = body["order_id"] + "\n"
    with target.client() as client:
        resp = client.post("/v1/payments", json=body)
    assert resp.status_code == 400, resp.text


@pytest.mark.parametrize(
    "changes",
    [{"description": "a\x00b"}, {"customer_id": "\x00"}, {"metadata": {"k\x00": "v"}},
     {"metadata": {"k": "\x00"}}],
    ids=["description", "customer_id", "metadata-key", "metadata-value"],
)
def test_nul_in_payment_text_is_refused(target: Target, changes: dict[str, Any]) -> None:
    """A NUL character in a text field of POST /v1/payments is 400, not 500."""
    with target.client() as client:
        resp = client.post("/v1/payments", json=payment_body(**changes))
    assert resp.status_code == 400, resp.text


def test_nul_in_refund_reason_is_refused(target: Target, captured_payment: str) -> None:
    """A NUL character in a refund reason is 400, not 500."""
    with target.client() as client:
        resp = client.post(f"/v1/payments/{captured_payment}/refunds",
                           json={"amount": 10, "reason": "a\x00"})
    assert resp.status_code == 400, resp.text


def test_nul_in_list_query_is_refused(target: Target) -> None:
    """GET /v1/payments?order_id= with a NUL character is 400 (or an empty list), not 500."""
    with target.client() as client:
        resp = client.get("/v1/payments", params={"order_id": "a\x00b"})
    assert resp.status_code in (200, 400), resp.text


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        ("/v1/webhooks/juspay",
         b'{"id":"e","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"a\\u0000"}}}',
         "application/json"),
        ("/v1/webhooks/paytm", b"ORDERID=a%00&STATUS=TXN_SUCCESS",
         "application/x-www-form-urlencoded"),
    ],
    ids=["juspay", "paytm"],
)
def test_unsigned_webhook_with_nul_is_refused(target: Target, path: str, body: bytes,
                                              content_type: str) -> None:
    """An unauthenticated webhook naming an order id with NUL is a 4xx, not 500."""
    with target.anonymous() as client:
        resp = client.post(path, content=body, headers={"Content-Type": content_type})
    assert resp.status_code in (400, 401, 404), resp.text
