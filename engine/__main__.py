"""``python -m engine serve``: the engine under gunicorn with aiohttp workers."""

from __future__ import annotations

from serving.command import serve_main

if __name__ == "__main__":
    raise SystemExit(
        serve_main(
            "engine",
            "engine.app:app_factory",
            # uvloop: the loop, its sockets and their buffers in C, not in Python
            "aiohttp.GunicornUVLoopWebWorker",
            socket_per_worker=True,
        )
    )
