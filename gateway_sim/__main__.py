"""``python -m gateway_sim --host 127.0.0.1 --port P --profile instant --seed S``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

import uvloop

from gateway_sim.app import running
from gateway_sim.config import PROFILES, SimSettings, load_config
from gateway_sim.errors import ConfigError


def parse_args(argv: list[str] | None = None) -> SimSettings:
    parser = argparse.ArgumentParser(prog="gateway_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="instant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", type=Path, help="JSON overrides applied on top of --profile")
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    if args.config is not None:
        try:
            profile = load_config(args.config, profile)
        except ConfigError as exc:
            parser.error(str(exc))
    return SimSettings(host=args.host, port=args.port, profile=profile, seed=args.seed)


async def serve(settings: SimSettings) -> None:
    """Serve until SIGINT/SIGTERM; with ``--port 0`` the OS picks the port."""
    async with running(settings) as (_, port):
        # One line on stdout: callers (tests, the stack) read the real port from it.
        print(
            f"gateway_sim listening on http://{settings.host}:{port} "
            f"profile={settings.profile.name} seed={settings.seed}",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    uvloop.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
