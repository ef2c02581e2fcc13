"""The Postman export: a valid v2.1 collection with one request per contract operation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # comes with schemathesis (dev)
import pytest

from contract.openapi import load_spec, operations, resolve
from contract.postman import POSTMAN_SCHEMA, export_command, export_postman, to_postman

SPEC = load_spec()


def requests_of(collection: dict[str, Any]) -> list[dict[str, Any]]:
    return [item["request"] for folder in collection["item"] for item in folder["item"]]


def op_key(request: dict[str, Any]) -> tuple[str, str]:
    path = "/" + "/".join(
        "{" + p[1:] + "}" if p.startswith(":") else p for p in request["url"]["path"]
    )
    return request["method"], path


def request_schema(op_spec: dict[str, Any], media_type: str) -> dict[str, Any]:
    """The body schema of an operation as a standalone document (components attached)."""
    body = resolve(SPEC, op_spec["requestBody"])
    return {**body["content"][media_type]["schema"], "components": SPEC["components"]}


def test_collection_structure() -> None:
    """info carries the v2.1 schema URL; folders follow the document's tags; variables exist."""
    collection = to_postman(SPEC)
    assert collection["info"]["schema"] == POSTMAN_SCHEMA
    assert collection["info"]["name"].startswith(SPEC["info"]["title"])
    assert [f["name"] for f in collection["item"]] == [t["name"] for t in SPEC["tags"]]
    assert {v["key"] for v in collection["variable"]} >= {"baseUrl", "apiKey"}
    assert collection["auth"]["type"] == "basic"
    json.dumps(collection)  # serialisable as is


def test_one_request_per_operation() -> None:
    """Every operation appears exactly once, in the folder of its first tag."""
    collection = to_postman(SPEC)
    keys = [op_key(r) for r in requests_of(collection)]
    assert len(keys) == len(set(keys))
    assert set(keys) == {(op.method, op.path) for op in operations(SPEC)}
    for folder in collection["item"]:
        for item in folder["item"]:
            op = next(o for o in operations(SPEC) if (o.method, o.path) == op_key(item["request"]))
            assert op.tags[0] == folder["name"]


def test_urls_auth_and_idempotency_headers() -> None:
    """URLs use {{baseUrl}} and :vars; merchant routes Basic {{apiKey}}; POSTs a {{$guid}} key."""
    for request in requests_of(to_postman(SPEC)):
        url = request["url"]
        assert url["raw"].startswith("{{baseUrl}}/")
        assert url["host"] == ["{{baseUrl}}"]
        for var in url.get("variable", []):
            assert f":{var['key']}" in url["path"]
            assert var["value"]
        method, path = op_key(request)
        headers = {h["key"]: h["value"] for h in request["header"]}
        if path.startswith("/v1/webhooks") or not path.startswith("/v1/"):
            assert "Idempotency-Key" not in headers
        else:
            user = {b["key"]: b["value"] for b in request["auth"]["basic"]}
            assert request["auth"]["type"] == "basic"
            assert user == {"username": "{{apiKey}}", "password": ""}
            assert ("Idempotency-Key" in headers) == (method == "POST")
            if method == "POST":
                assert headers["Idempotency-Key"] == "{{$guid}}"
    listed = next(r for r in requests_of(to_postman(SPEC)) if op_key(r) == ("GET", "/v1/payments"))
    assert listed["url"]["query"][0]["key"] == "order_id"


def test_json_bodies_are_valid_for_their_schemas() -> None:
    """Every JSON example body parses and validates against the operation's request schema."""
    by_key = {(op.method, op.path): op for op in operations(SPEC)}
    checked = 0
    for request in requests_of(to_postman(SPEC)):
        body = request.get("body")
        if body is None or body["mode"] != "raw":
            continue
        op = by_key[op_key(request)]
        value = json.loads(body["raw"])
        schema = request_schema(op.spec, "application/json")
        jsonschema.Draft202012Validator(schema).validate(value)
        required = resolve(SPEC, schema).get("required", [])
        assert set(required) <= set(value)
        checked += 1
    assert checked >= 5  # create, confirm, sync, refund, juspay webhook


def test_form_body_of_paytm_webhook() -> None:
    """The Paytm webhook request is a url-encoded form with the callback's required fields."""
    request = next(r for r in requests_of(to_postman(SPEC))
                   if op_key(r) == ("POST", "/v1/webhooks/paytm"))
    fields = {f["key"] for f in request["body"]["urlencoded"]}
    assert {"ORDERID", "STATUS", "CHECKSUMHASH"} <= fields
    assert request["auth"] == {"type": "noauth"}


def test_schema_built_examples_when_none_given() -> None:
    """Without examples, bodies are built from the schema's required fields and types."""
    spec = load_spec()
    media = spec["paths"]["/v1/payments"]["post"]["requestBody"]["content"]["application/json"]
    del media["example"]
    request = next(
        r for r in requests_of(to_postman(spec)) if op_key(r) == ("POST", "/v1/payments")
    )
    value = json.loads(request["body"]["raw"])
    jsonschema.Draft202012Validator(
        request_schema(spec["paths"]["/v1/payments"]["post"], "application/json")
    ).validate(value)
    assert set(value) == {"order_id", "amount", "currency", "gateway", "payment_method"}


def test_deterministic() -> None:
    """Exporting the same document twice gives the same collection."""
    assert to_postman(load_spec()) == to_postman(load_spec())


def test_export_postman_writes_file(tmp_path: Path) -> None:
    """export_postman writes parseable JSON equal to to_postman of the contract."""
    out = export_postman(tmp_path / "sub" / "c.json")
    assert out == tmp_path / "sub" / "c.json"
    assert json.loads(out.read_text()) == to_postman(load_spec())


def test_export_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI entry writes --out, prints its path and returns 0; bad usage returns 2."""
    out = tmp_path / "collection.json"
    assert export_command(["--out", str(out)]) == 0
    assert out.exists()
    assert str(out) in capsys.readouterr().out
    assert export_command(["--bogus"]) == 2
    assert export_command(["--out", str(tmp_path)]) == 1  # a directory cannot be written
