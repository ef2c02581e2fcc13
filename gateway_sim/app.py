"""App factory: both simulated gateways and the admin API on one server (``gateway_sim.http``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gateway_sim import admin, juspay_api, juspay_legacy, juspay_txns, paytm_api
from gateway_sim.config import SimSettings
from gateway_sim.http import Router, Server
from gateway_sim.runtime import SimState


def create_app(settings: SimSettings) -> Server[SimState]:
    router: Router[SimState] = Router()
    juspay_api.add_routes(router)
    juspay_txns.add_routes(router)
    paytm_api.add_routes(router)
    # Last: its catch-all for the older /order/... paths must not hide Paytm's /order/initiate.
    juspay_legacy.add_routes(router)
    admin.add_routes(router)
    return Server(router, SimState(settings.profile, settings.seed))


@asynccontextmanager
async def running(settings: SimSettings) -> AsyncIterator[tuple[Server[SimState], int]]:
    """The simulator listening on ``settings.host:settings.port``, and the port it got.

    The webhook client and the settle tasks live as long as the block; on
    leaving it the server stops listening, then the tasks are cancelled.
    """
    server = create_app(settings)
    state = server.state
    await state.dispatcher.start()
    try:
        port = await server.start(settings.host, settings.port)
        yield server, port
    finally:
        await server.close()
        await state.cancel_tasks()
        await state.dispatcher.close()
