"""``python -m engine serve``: the engine under gunicorn with aiohttp workers."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the engine (settings from PAYBENCH_* env vars)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8081)
    serve.add_argument("--workers", type=int, default=int(os.environ.get("PAYBENCH_WORKERS", "2")))
    serve.add_argument("--timeout", type=int, default=60, help="gunicorn worker timeout, s")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    from payments.config import ConfigError, ServiceSettings

    try:  # fail before forking workers, with the variable's name
        ServiceSettings.from_env(os.environ)
    except ConfigError as exc:
        print(f"engine: {exc}", file=sys.stderr)
        return 2
    gunicorn_args = [
        "gunicorn",
        "engine.app:app_factory",
        "--worker-class", "aiohttp.GunicornWebWorker",
        "--workers", str(args.workers),
        "--bind", f"{args.host}:{args.port}",
        "--timeout", str(args.timeout),
        "--graceful-timeout", "5",
        "--log-level", "warning",
    ]
    from gunicorn.app.wsgiapp import run

    sys.argv = gunicorn_args
    run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
