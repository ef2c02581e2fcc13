"""``paybench export postman``: the contract as a Postman collection, and the files of
``paybench up``: a collection and one Postman environment per target with its real URL and
merchant API key.

The collection itself is ``contract.postman.to_postman`` of ``openapi.yaml``; this module
decides where it goes and which ``baseUrl`` and ``apiKey`` it carries. Nothing is written
into the current directory unless asked: by default the export goes under ``runs/postman/``
(beside the run directories), and the path written is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from contract.openapi import load_spec
from contract.postman import to_postman

DEFAULT_OUT = Path("runs") / "postman" / "paybench.postman_collection.json"
COLLECTION_NAME = "paybench.postman_collection.json"


def collection(base_url: str | None = None, api_key: str | None = None) -> dict[str, Any]:
    """The contract's collection; ``base_url`` and ``api_key`` replace its defaults."""
    doc = to_postman(load_spec())
    for variable in doc["variable"]:
        if variable["key"] == "baseUrl" and base_url is not None:
            variable["value"] = base_url
        elif variable["key"] == "apiKey" and api_key is not None:
            variable["value"] = api_key
    return doc


def environment(name: str, base_url: str, api_key: str) -> dict[str, Any]:
    """A Postman environment setting the collection's ``baseUrl`` and ``apiKey``."""
    return {
        # stable for a name and URL, so importing it again replaces the previous one
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"paybench:{name}:{base_url}")),
        "name": f"paybench {name}",
        "values": [
            {"key": "baseUrl", "value": base_url, "type": "default", "enabled": True},
            {"key": "apiKey", "value": api_key, "type": "secret", "enabled": True},
        ],
        "_postman_variable_scope": "environment",
    }


def _write(path: Path, doc: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_stack_postman(out_dir: Path, targets: Mapping[str, tuple[str, Sequence[str]]]
                        ) -> tuple[Path, list[Path]]:
    """Write the collection (for the first target) and an environment per target
    (``name -> (url, api keys)``) into ``out_dir``; return their paths."""
    first_url, first_keys = next(iter(targets.values()), ("", ()))
    path = _write(out_dir / COLLECTION_NAME,
                  collection(first_url or None, first_keys[0] if first_keys else None))
    envs = [_write(out_dir / f"{name}.postman_environment.json",
                   environment(name, url, keys[0] if keys else ""))
            for name, (url, keys) in targets.items()]
    return path, envs


def _postman(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="paybench export postman",
        description="Write a Postman Collection v2.1 of the payment API (openapi.yaml). "
        "`paybench up` writes one with the stack's real URLs and API keys into its run "
        "directory.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"file to write (default: {DEFAULT_OUT})")
    parser.add_argument("--base-url", default=None,
                        help="the service's URL, the collection's baseUrl (default: "
                        "openapi.yaml's server)")
    parser.add_argument("--api-key", default=None, help="a merchant API key (apiKey)")
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # --help or a usage error: report, do not exit the caller
        return exc.code if isinstance(exc.code, int) else 2
    doc = collection(args.base_url, args.api_key)
    try:
        path = _write(args.out, doc)
    except OSError as exc:
        print(f"cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    base = next(v["value"] for v in doc["variable"] if v["key"] == "baseUrl")
    print(f"wrote {path.resolve()}")
    if args.base_url is None:
        print(f"baseUrl is {base} (openapi.yaml); give --base-url, or use the files "
              "`paybench up` writes with its real URLs and keys")
    return 0


def export_command(argv: Sequence[str]) -> int:
    """Dispatch ``paybench export WHAT ...``; returns the exit code."""
    exporters = {"postman": _postman}
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in exporters:
        print("usage: paybench export postman [--out FILE] [--base-url URL] [--api-key KEY]",
              file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return int(exporters[argv[0]](list(argv[1:])))
