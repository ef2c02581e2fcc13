"""``python -m legacy_adapter serve``: the legacy service under gunicorn sync workers.

Sync workers serve one request at a time each, as the Vyked service ran.
"""

from __future__ import annotations

from serving.command import serve_main

if __name__ == "__main__":
    raise SystemExit(serve_main("legacy_adapter", "legacy_adapter.wsgi:application", "sync"))
