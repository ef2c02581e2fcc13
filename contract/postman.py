"""A Postman Collection (v2.1) of the contract, for people who explore an API by hand.

``to_postman`` is a pure function of the OpenAPI document: one folder per tag,
one request per operation, URLs under ``{{baseUrl}}`` with path variables,
HTTP Basic with ``{{apiKey}}`` as the user name, a fresh ``Idempotency-Key``
(``{{$guid}}``) on every POST that reads one, and example bodies taken from
the document's examples (or built from the schema when it has none).
``paybench export postman`` delegates to ``export_command``.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contract.openapi import Operation, load_spec, operations, resolve

POSTMAN_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
DEFAULT_OUT = Path("paybench.postman_collection.json")
JSON_TYPES = ("application/json",)
FORM_TYPE = "application/x-www-form-urlencoded"
_MAX_DEPTH = 8  # recursive schemas (the /_stats tree) stop here


def example_for(spec: dict[str, Any], schema: Any, depth: int = 0) -> Any:
    """A value valid for ``schema``: its example if it has one, else the simplest one."""
    schema = resolve(spec, schema)
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    for key in ("const", "example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return example_for(spec, schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):  # [string, "null"]: the non-null type reads better
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props: dict[str, Any] = schema.get("properties", {})
        return {
            name: example_for(spec, props[name], depth + 1)
            for name in schema.get("required", [])
            if name in props
        }
    if kind == "array":
        return [example_for(spec, schema.get("items", {}), depth + 1)]
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    if kind == "string":
        return "string"
    return None


def _media_example(spec: dict[str, Any], media: dict[str, Any]) -> Any:
    if "example" in media:
        return media["example"]
    examples = media.get("examples")
    if isinstance(examples, dict) and examples:
        first = resolve(spec, next(iter(examples.values())))
        if isinstance(first, dict) and "value" in first:
            return first["value"]
    return example_for(spec, media.get("schema", {}))


def _parameters(spec: dict[str, Any], op: Operation) -> list[dict[str, Any]]:
    return [resolve(spec, p) for p in op.spec.get("parameters", [])]


def _param_value(spec: dict[str, Any], param: dict[str, Any]) -> str:
    value = param.get("example")
    if value is None:
        value = example_for(spec, param.get("schema", {}))
    return "" if value is None else str(value)


def _url(spec: dict[str, Any], op: Operation) -> dict[str, Any]:
    segments = [s for s in op.path.split("/") if s]
    path = [f":{s[1:-1]}" if s.startswith("{") and s.endswith("}") else s for s in segments]
    params = _parameters(spec, op)
    url: dict[str, Any] = {
        "raw": "{{baseUrl}}/" + "/".join(path),
        "host": ["{{baseUrl}}"],
        "path": path,
    }
    variables = [
        {"key": p["name"], "value": _param_value(spec, p), "description": p.get("description", "")}
        for p in params
        if p.get("in") == "path"
    ]
    if variables:
        url["variable"] = variables
    query = [
        {"key": p["name"], "value": _param_value(spec, p), "description": p.get("description", "")}
        for p in params
        if p.get("in") == "query"
    ]
    if query:
        url["query"] = query
        url["raw"] += "?" + "&".join(f"{q['key']}={q['value']}" for q in query)
    return url


def _auth(spec: dict[str, Any], op: Operation) -> dict[str, Any]:
    requirements = op.spec.get("security", spec.get("security", []))
    if not requirements:
        return {"type": "noauth"}
    scheme = next(iter(requirements[0]), "")
    if scheme == "merchantKey":
        username, password = "{{apiKey}}", ""
    else:
        username, password = "{{webhookUsername}}", "{{webhookPassword}}"
    return {
        "type": "basic",
        "basic": [
            {"key": "username", "value": username, "type": "string"},
            {"key": "password", "value": password, "type": "string"},
        ],
    }


def _request(spec: dict[str, Any], op: Operation) -> dict[str, Any]:
    headers: list[dict[str, Any]] = []
    names = {p.get("name") for p in _parameters(spec, op) if p.get("in") == "header"}
    if op.method == "POST" and "Idempotency-Key" in names:
        headers.append({"key": "Idempotency-Key", "value": "{{$guid}}", "type": "text"})
    request: dict[str, Any] = {
        "method": op.method,
        "header": headers,
        "url": _url(spec, op),
        "auth": _auth(spec, op),
        "description": "\n\n".join(
            t for t in (op.spec.get("summary", ""), op.spec.get("description", "")) if t
        ).strip(),
    }
    content = resolve(spec, op.spec.get("requestBody", {})).get("content", {})
    json_type = next((t for t in JSON_TYPES if t in content), None)
    if json_type is not None:
        headers.append({"key": "Content-Type", "value": json_type, "type": "text"})
        body = _media_example(spec, content[json_type])
        request["body"] = {
            "mode": "raw",
            "raw": json.dumps(body, indent=2, ensure_ascii=False),
            "options": {"raw": {"language": "json"}},
        }
    elif FORM_TYPE in content:
        fields = _media_example(spec, content[FORM_TYPE]) or {}
        request["body"] = {
            "mode": "urlencoded",
            "urlencoded": [{"key": k, "value": str(v), "type": "text"} for k, v in fields.items()],
        }
    return request


def to_postman(spec: dict[str, Any]) -> dict[str, Any]:
    """The Postman Collection v2.1 of an OpenAPI 3 document (pure; deterministic)."""
    info = spec.get("info", {})
    title = str(info.get("title", "API"))
    version = str(info.get("version", ""))
    folders: dict[str, dict[str, Any]] = {}
    for tag in spec.get("tags", []):
        folders[tag["name"]] = {"name": tag["name"], "description": tag.get("description", ""),
                                "item": []}
    for op in operations(spec):
        tag = op.tags[0] if op.tags else "default"
        folder = folders.setdefault(tag, {"name": tag, "description": "", "item": []})
        folder["item"].append({"name": op.spec.get("summary") or op.operation_id,
                               "request": _request(spec, op), "response": []})
    servers = spec.get("servers") or [{"url": "http://127.0.0.1:8000"}]
    return {
        "info": {
            # a stable id, so re-exporting the same document gives the same file
            "_postman_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"paybench:{title}:{version}")),
            "name": f"{title} {version}".strip(),
            "description": str(info.get("description", "")),
            "schema": POSTMAN_SCHEMA,
        },
        "item": [f for f in folders.values() if f["item"]],
        "auth": {
            "type": "basic",
            "basic": [
                {"key": "username", "value": "{{apiKey}}", "type": "string"},
                {"key": "password", "value": "", "type": "string"},
            ],
        },
        "variable": [
            {"key": "baseUrl", "value": servers[0]["url"], "type": "string"},
            {"key": "apiKey", "value": "", "type": "string"},
            {"key": "webhookUsername", "value": "", "type": "string"},
            {"key": "webhookPassword", "value": "", "type": "string"},
        ],
    }


def export_postman(out: Path = DEFAULT_OUT) -> Path:
    """Write the contract's collection to ``out`` (parents created); return the path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_postman(load_spec()), indent=2, ensure_ascii=False) + "\n"
    out.write_text(text, encoding="utf-8")
    return out


def export_command(argv: Sequence[str]) -> int:
    """``paybench export postman [--out FILE]``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="paybench export postman",
        description="Write a Postman Collection v2.1 of the payment API (openapi.yaml).",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"file to write (default: {DEFAULT_OUT})")
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # --help or a usage error: report, do not exit the caller
        return exc.code if isinstance(exc.code, int) else 2
    try:
        path = export_postman(args.out)
    except OSError as exc:
        print(f"cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0
