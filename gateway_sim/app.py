"""App factory: both simulated gateways and the admin API on one aiohttp app."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from gateway_sim import admin, juspay_api, juspay_legacy, juspay_txns, paytm_api
from gateway_sim.config import SimSettings
from gateway_sim.runtime import STATE, SimState


def create_app(settings: SimSettings) -> web.Application:
    app = web.Application(client_max_size=1024**2)
    app[STATE] = SimState(settings.profile, settings.seed)
    app.cleanup_ctx.append(_background)
    juspay_api.add_routes(app)
    juspay_txns.add_routes(app)
    paytm_api.add_routes(app)
    # Last: its catch-all for the older /order/... paths must not hide Paytm's /order/initiate.
    juspay_legacy.add_routes(app)
    admin.add_routes(app)
    return app


async def _background(app: web.Application) -> AsyncIterator[None]:
    """The webhook client session and the settle tasks live as long as the app."""
    state = app[STATE]
    await state.dispatcher.start()
    yield
    await state.cancel_tasks()
    await state.dispatcher.close()
