"""``python -m legacy_adapter serve``: the legacy service under gunicorn sync workers."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m legacy_adapter")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the legacy service (settings from PAYBENCH_*)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=int(os.environ.get("PAYBENCH_WORKERS", "2")))
    serve.add_argument("--timeout", type=int, default=60, help="gunicorn worker timeout, s")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    from payments.config import ConfigError, ServiceSettings

    try:
        ServiceSettings.from_env(os.environ)
    except ConfigError as exc:
        print(f"legacy_adapter: {exc}", file=sys.stderr)
        return 2
    from gunicorn.app.wsgiapp import run

    # sync workers: one request at a time per worker, as the Vyked service ran
    sys.argv = [
        "gunicorn",
        "legacy_adapter.wsgi:application",
        "--worker-class", "sync",
        "--workers", str(args.workers),
        "--bind", f"{args.host}:{args.port}",
        "--timeout", str(args.timeout),
        "--graceful-timeout", "5",
        "--log-level", "warning",
    ]
    run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
