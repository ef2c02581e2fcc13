"""The HTTP contract document (``openapi.yaml``) as package data.

The canonical file is ``contract/openapi.yaml`` so an installed package can
read it; the repository root holds a symlink to it for people and tools
that look there. Contract tests, the Postman export and anything else that
needs the document load it through here.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from payments.errors import PaybenchError

RESOURCE = "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# Documented, served by every service (``serving.operations``), outside ``payments.api``'s table.
OPERATIONS_PATHS = frozenset({"/ping", "/_stats", "/health", "/metrics"})


class ContractError(PaybenchError):
    """The contract document is missing or not a valid OpenAPI mapping."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the document: ``POST /v1/payments`` and its description."""

    method: str  # upper case, as in ``payments.api.Route``
    path: str
    operation_id: str
    tags: tuple[str, ...]
    spec: dict[str, Any]


def spec_text() -> str:
    """The document's YAML text, read from the installed package."""
    return resources.files("contract").joinpath(RESOURCE).read_text(encoding="utf-8")


@functools.cache
def _parsed() -> dict[str, Any]:
    document = yaml.safe_load(spec_text())
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise ContractError(f"{RESOURCE} is not an OpenAPI 3 document")
    if not isinstance(document.get("paths"), dict):
        raise ContractError(f"{RESOURCE} has no paths")
    return document


def load_spec() -> dict[str, Any]:
    """The parsed document; a fresh copy each call, so callers may change it."""
    return copy.deepcopy(_parsed())


def operations(spec: dict[str, Any] | None = None) -> list[Operation]:
    """Every operation of ``spec`` (default: the contract), in document order."""
    document = spec if spec is not None else _parsed()
    found: list[Operation] = []
    for path, item in document.get("paths", {}).items():
        for method, op in item.items():
            if method not in HTTP_METHODS or not isinstance(op, dict):
                continue
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=str(op.get("operationId") or f"{method}_{path}"),
                    tags=tuple(op.get("tags") or ()),
                    spec=op,
                )
            )
    return found


def route_keys(spec: dict[str, Any] | None = None) -> set[tuple[str, str]]:
    """``(METHOD, path)`` of every operation except the operations endpoints."""
    return {
        (op.method, op.path) for op in operations(spec) if op.path not in OPERATIONS_PATHS
    }


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow a local ``$ref`` (``#/components/...``) until a plain node is reached."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
            raise ContractError(f"cannot resolve reference {ref!r}")
        seen.add(ref)
        target: Any = spec
        for raw in ref[2:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise ContractError(f"dangling reference {ref!r}")
            target = target[part]
        node = target
    return node
