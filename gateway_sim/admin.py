"""Admin API under ``/__admin__/``: health, merchants, ledger, reset, profile.

Bodies and answers are JSON. Errors: ``{"error": "<message>", "code": "<code>"}``.
"""

from __future__ import annotations

import json
from typing import Any

from gateway_sim.config import PROFILES, apply_overrides
from gateway_sim.errors import SimError
from gateway_sim.http import HTTPBadRequest, Response, Router
from gateway_sim.runtime import SimRequest, SimState
from gateway_sim.state import merchant_from_json


def _json(body: Any, status: int = 200) -> Response:
    return Response(status=status, text=json.dumps(body), content_type="application/json")


def _error(exc: SimError, status: int = 400) -> Response:
    return _json({"error": str(exc), "code": exc.code}, status)


async def _body(request: SimRequest) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise HTTPBadRequest(
            text=json.dumps({"error": "body is not JSON", "code": "invalid_json"}),
            content_type="application/json",
        ) from None


async def health(request: SimRequest) -> Response:
    state = request.state
    return _json(
        {
            "status": "ok",
            "profile": state.profile.name,
            "seed": state.seed,
            "merchants": len(state.registry.all()),
            "orders": len(state.orders),
            "requests": state.requests,
            "webhooks_in_flight": len(state.dispatcher.tasks),
        }
    )


async def add_merchants(request: SimRequest) -> Response:
    """One merchant object, a list of them, or ``{"merchants": [...]}``; re-adding replaces."""
    state = request.state
    doc = await _body(request)
    items = doc.get("merchants", doc) if isinstance(doc, dict) else doc
    items = items if isinstance(items, list) else [items]
    try:
        merchants = [merchant_from_json(item) for item in items]
    except SimError as exc:
        return _error(exc)
    for merchant in merchants:
        state.registry.add(merchant)
    return _json({"merchants": [m.public() for m in merchants]}, 201)


async def list_merchants(request: SimRequest) -> Response:
    state = request.state
    return _json({"merchants": [m.public() for m in state.registry.all()]})


async def ledger(request: SimRequest) -> Response:
    state = request.state
    return _json(state.ledger.report(request.query.get("merchant_id") or None))


async def webhooks(request: SimRequest) -> Response:
    state = request.state
    return _json(state.dispatcher.report(request.query.get("merchant_id") or None))


async def reset(request: SimRequest) -> Response:
    """Clear orders, ledger and webhook log (merchants and profile are kept)."""
    state = request.state
    await state.reset()
    return _json({"status": "reset"})


async def get_profile(request: SimRequest) -> Response:
    state = request.state
    return _json({"profile": state.profile.to_dict(), "available": sorted(PROFILES)})


async def put_profile(request: SimRequest) -> Response:
    """``{"profile": name?, ...overrides}``: see ``gateway_sim.config``."""
    state = request.state
    doc = await _body(request)
    try:
        state.set_profile(apply_overrides(state.profile, doc))
    except SimError as exc:
        return _error(exc)
    return _json({"profile": state.profile.to_dict(), "available": sorted(PROFILES)})


def add_routes(router: Router[SimState]) -> None:
    router.add_get("/__admin__/health", health)
    router.add_post("/__admin__/merchants", add_merchants)
    router.add_get("/__admin__/merchants", list_merchants)
    router.add_get("/__admin__/ledger", ledger)
    router.add_get("/__admin__/webhooks", webhooks)
    router.add_post("/__admin__/reset", reset)
    router.add_get("/__admin__/profile", get_profile)
    router.add_put("/__admin__/profile", put_profile)
