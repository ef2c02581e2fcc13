"""WSGI entry point: ``gunicorn legacy_adapter.wsgi:application`` (settings from env).

Gunicorn imports this module in each worker (no preload), so every worker
opens its own pool, Redis client and HTTP client after the fork.
"""

from __future__ import annotations

import logging
import os
from wsgiref.types import WSGIApplication

from legacy_adapter.service import PaymentService
from legacy_adapter.vyked import Host, current_request_id
from payments.config import ServiceSettings
from serving.logs import configure_logging
from serving.server_timing import wsgi_middleware

configure_logging("legacy", request_id=current_request_id)
# httpx logs every gateway call at INFO: two JSON lines per payment would cost
# the legacy service CPU the engine (aiohttp client, silent) does not spend.
logging.getLogger("httpx").setLevel(logging.WARNING)
Host.configure("PaymentService")
settings = ServiceSettings.from_env(os.environ)
service = PaymentService(settings)
service.start_reconciler()  # a thread of this worker, when the interval is > 0
Host.attach_http_service(service)
application: WSGIApplication = Host.wsgi_app()
if settings.server_timing:
    application = wsgi_middleware(application)
