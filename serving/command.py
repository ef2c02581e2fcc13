"""``python -m <service> serve``: one command line for every service.

The engine and the legacy service run under gunicorn with the same knobs
(workers, bind, timeouts), so the only difference between them is the worker
class: aiohttp's async worker for the engine, sync workers (one request at a
time) for the legacy service. The Sanic service takes the same arguments,
settings check and metrics directory (``serve_args``, ``settings_error``,
``use_metrics_dir``) and runs Sanic's own server instead.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import sys
import tempfile
from types import FrameType

from payments.config import ConfigError, ServiceSettings

# prometheus_client chooses its value store when first imported: the variable
# must be set before that, so this module does not import it.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# The signals a supervisor stops a service with (and a terminal's Ctrl-C and hang-up).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

# Only Linux spreads new connections over SO_REUSEPORT sockets; elsewhere the
# last socket bound would take them all.
SOCKET_PER_WORKER = sys.platform == "linux"


def serve_args(prog: str, argv: list[str] | None = None) -> argparse.Namespace:
    """The ``serve`` command line every service shares: host, port, workers, timeout."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve (settings from the PAYBENCH_* environment)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--workers", type=int, default=int(os.environ.get("PAYBENCH_WORKERS", "2"))
    )
    serve.add_argument("--timeout", type=int, default=60, help="worker/response timeout, s")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    return args


def settings_error(prog: str) -> int | None:
    """Exit status 2 (the variable named on stderr) when the settings are invalid, else None.

    Checked before any worker starts, so a bad variable is one clear line, not
    a traceback per worker.
    """
    try:
        ServiceSettings.from_env(os.environ)
    except ConfigError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    return None


def use_metrics_dir(prog: str) -> None:
    """One metrics directory per service instance, removed at exit.

    Set before the workers start (prometheus_client picks its value store at
    import), so every worker writes there and ``/metrics`` sums them all.
    """
    # Stop signals wait until the directory's removal is registered.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        metrics_dir = tempfile.mkdtemp(prefix=f"paybench-{prog}-metrics-")
        atexit.register(shutil.rmtree, metrics_dir, True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    os.environ[MULTIPROC_ENV] = metrics_dir


def serve_main(
    prog: str,
    app: str,
    worker_class: str,
    argv: list[str] | None = None,
    *,
    socket_per_worker: bool = False,
) -> int:
    """Parse ``serve`` arguments and run gunicorn.

    ``socket_per_worker`` (async workers, Linux): every worker listens on a
    socket of its own (gunicorn's ``--reuse-port``) and the kernel spreads new
    connections over them. With one shared socket, asyncio's accept handler
    takes every pending connection at once, so a client opening its
    keep-alive connections in a burst (a load generator starting its users)
    lands them all on the first worker to wake, and the others idle for the
    whole run. Sync workers keep the shared socket: a connection hashed to a
    worker that is busy would wait although another worker is free.
    """
    args = serve_args(prog, argv)
    failed = settings_error(prog)
    if failed is not None:
        return failed
    # Until gunicorn installs its own handlers, a stop signal (the stack stopping
    # a service that is still starting) must exit through atexit, which removes
    # the metrics directory; the default action would leave it behind.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _exit_on_signal)
    use_metrics_dir(prog)
    # gunicorn serves the engine and the legacy service only (Sanic has its own server)
    from gunicorn.app.wsgiapp import run  # noqa: PLC0415 - not for python -m sanic_service

    sys.argv = [
        "gunicorn",
        app,
        "--worker-class", worker_class,
        "--workers", str(args.workers),
        "--bind", f"{args.host}:{args.port}",
        "--timeout", str(args.timeout),
        "--graceful-timeout", "5",
        "--log-level", "warning",
        "--config", "python:serving.gunicorn_hooks",
    ]  # fmt: skip
    if socket_per_worker and SOCKET_PER_WORKER:
        sys.argv.append("--reuse-port")
    run()
    return 0


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
