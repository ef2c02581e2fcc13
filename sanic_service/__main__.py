"""``python -m sanic_service serve``: Sanic's own server (a manager and N worker processes)."""

from __future__ import annotations

from serving.command import serve_args, settings_error, use_metrics_dir


def main(argv: list[str] | None = None) -> int:
    args = serve_args("sanic_service", argv)
    failed = settings_error("sanic_service")
    if failed is not None:
        return failed
    use_metrics_dir("sanic_service")  # before anything imports prometheus_client
    from sanic_service.app import serve  # noqa: PLC0415 - it imports prometheus_client

    serve(args.host, args.port, args.workers, float(args.timeout))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
