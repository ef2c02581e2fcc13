"""Small stand-ins with the CLI of the real services, for testing the stack alone.

``python -m fake_services --host H --port P --profile X --seed S`` behaves like
the gateway simulator's admin API (health, merchant registration, reset);
``python -m fake_services serve --host H --port P --workers N`` behaves like a
target: it forks N idle workers, and its ``/health`` checks the database schema
and Redis from the PAYBENCH_* variables the stack passes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

import psycopg
import redis
from aiohttp import web

REGISTERED = web.AppKey("registered", list)
RESETS = web.AppKey("resets", list)


async def gw_health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def gw_register(request: web.Request) -> web.Response:
    body: dict[str, Any] = await request.json()
    missing = {
        "gateway", "merchant_id", "api_key", "webhook_url", "webhook_username",
        "webhook_password",
    } - set(body)  # fmt: skip
    if missing:
        return web.json_response({"error": f"missing {sorted(missing)}"}, status=400)
    request.app[REGISTERED].append(body)
    return web.json_response(body, status=201)


async def gw_list(request: web.Request) -> web.Response:
    return web.json_response({"merchants": request.app[REGISTERED]})


async def gw_reset(request: web.Request) -> web.Response:
    request.app[RESETS].append(1)
    return web.json_response({"resets": len(request.app[RESETS])})


async def target_health(request: web.Request) -> web.Response:
    schema = os.environ["PAYBENCH_DB_SCHEMA"]
    try:
        with psycopg.connect(os.environ["PAYBENCH_DATABASE_URL"], connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
                (schema,),
            ).fetchone()
        redis.Redis.from_url(os.environ["PAYBENCH_REDIS_URL"]).ping()
    except (psycopg.Error, redis.RedisError) as exc:
        return web.json_response({"status": "down", "error": str(exc)}, status=503)
    if row is None or row[0] != 1:
        return web.json_response({"status": "down", "db": "no schema"}, status=503)
    settings = {k: v for k, v in os.environ.items() if k.startswith("PAYBENCH_")}
    return web.json_response({"status": "ok", "settings": settings})


def main(argv: list[str]) -> None:
    serve = bool(argv) and argv[0] == "serve"
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--profile", default="fast")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv[1:] if serve else argv)
    app = web.Application()
    if serve:
        # Idle children stand in for gunicorn workers.
        workers = [
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
            for _ in range(args.workers)
        ]
        print(json.dumps({"workers": [w.pid for w in workers]}), flush=True)
        app.router.add_get("/health", target_health)
    else:
        app[REGISTERED] = []
        app[RESETS] = []
        app.router.add_get("/__admin__/health", gw_health)
        app.router.add_post("/__admin__/merchants", gw_register)
        app.router.add_get("/__admin__/merchants", gw_list)
        app.router.add_post("/__admin__/reset", gw_reset)
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main(sys.argv[1:])
