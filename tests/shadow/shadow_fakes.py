"""Small in-memory payment services that speak the paybench contract.

They are deliberately simple and deterministic except where the real services
are not: ids and timestamps are fresh per instance, so two instances of the
same code disagree exactly where an A/A pair disagrees. A :class:`Behaviour`
makes a *changed* candidate: a renamed field, a different status code, a
double charge in the shared fake ledger, or a random noisy field.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from shadow.mapping import api_key_of


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Behaviour:
    rename: tuple[str, str] | None = None  # (field, new name) in payment objects
    create_status: int = 201
    double_charge: bool = False
    pending_reads: int = 0  # confirm answers "processing" until this many reads
    noisy_field: bool = False  # adds a random "served_by" value to every payment


@dataclass
class Ledger:
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, **entry: Any) -> None:
        entry.setdefault("time", now())
        self.entries.append(entry)


@dataclass
class FakeService:
    """One side: its own merchants (API key -> simulator merchant id) and objects."""

    keys: dict[str, str]
    ledger: Ledger
    behaviour: Behaviour = field(default_factory=Behaviour)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idem: dict[tuple[str, str], tuple[str, int, bytes]] = field(default_factory=dict)
    reads: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ping", self.ping)
        app.router.add_post("/v1/payments", self.create)
        app.router.add_get("/v1/payments", self.list_by_order)
        app.router.add_get("/v1/payments/{id}", self.read)
        app.router.add_post("/v1/payments/{id}/confirm", self.confirm)
        app.router.add_post("/v1/payments/{id}/sync", self.sync)
        app.router.add_post("/v1/payments/{id}/refunds", self.refund)
        app.router.add_get("/v1/refunds/{id}", self.read_refund)
        app.middlewares.append(self.record)
        return app

    @web.middleware
    async def record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(
            (request.method, request.path_qs, {k.lower(): v for k, v in request.headers.items()})
        )
        response: web.StreamResponse = await handler(request)
        response.headers["X-REQUEST-ID"] = request.headers.get("X-REQUEST-ID", secrets.token_hex(8))
        return response

    def _merchant(self, request: web.Request) -> str | None:
        key = api_key_of(request.headers.get("Authorization", ""))
        return self.keys.get(key or "")

    @staticmethod
    def _json(status: int, body: Any) -> web.Response:
        return web.Response(status=status, body=json.dumps(body).encode(),
                            content_type="application/json")

    def _error(self, status: int, code: str, message: str) -> web.Response:
        return self._json(status, {"error": message, "code": code})

    def _view(self, payment: dict[str, Any]) -> dict[str, Any]:
        out = dict(payment)
        if self.behaviour.rename is not None:
            old, new = self.behaviour.rename
            out[new] = out.pop(old)
        if self.behaviour.noisy_field:
            out["served_by"] = secrets.token_hex(3)
        return out

    def _find(self, request: web.Request) -> dict[str, Any] | None:
        merchant = self._merchant(request)
        payment = self.payments.get(request.match_info["id"])
        if payment is None or self.owners[payment["id"]] != merchant:
            return None
        return payment

    async def ping(self, request: web.Request) -> web.Response:
        return web.Response(status=200)

    async def create(self, request: web.Request) -> web.Response:
        merchant = self._merchant(request)
        if merchant is None:
            return self._error(401, "unauthorized", "unknown API key")
        raw = await request.read()
        key = request.headers.get("Idempotency-Key")
        if key is not None and (merchant, key) in self.idem:
            digest, status, body = self.idem[(merchant, key)]
            if digest != raw.decode():
                return self._error(422, "idempotency_mismatch", "key reused")
            return web.Response(status=status, body=body, content_type="application/json")
        try:
            data = json.loads(raw)
        except ValueError:
            return self._error(400, "invalid_json", "body is not JSON")
        amount = data.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return self._error(400, "invalid_amount", "amount must be a positive integer")
        order_id = data.get("order_id")
        if any(p["order_id"] == order_id and self.owners[p["id"]] == merchant
               for p in self.payments.values()):
            return self._error(409, "duplicate_order", "order_id already used")
        stamp = now()
        payment = {
            "id": "pay_" + secrets.token_hex(12), "object": "payment", "order_id": order_id,
            "amount": amount, "currency": data.get("currency", "INR"),
            "gateway": data.get("gateway", "juspay"),
            "payment_method": data.get("payment_method", "card"), "status": "created",
            "amount_refunded": 0, "attempt_id": None, "gateway_txn_id": None,
            "failure_code": None, "failure_message": None,
            "description": data.get("description"), "customer_id": data.get("customer_id"),
            "metadata": data.get("metadata") or {}, "created_at": stamp, "updated_at": stamp,
        }
        self.payments[payment["id"]] = payment
        self.owners[payment["id"]] = merchant
        if data.get("confirm"):
            self._charge(payment, merchant)
        body = json.dumps(self._view(payment)).encode()
        status = self.behaviour.create_status
        if key is not None:
            self.idem[(merchant, key)] = (raw.decode(), status, body)
        return web.Response(status=status, body=body, content_type="application/json")

    def _charge(self, payment: dict[str, Any], merchant: str) -> None:
        payment["attempt_id"] = "att_" + secrets.token_hex(12)
        payment["gateway_txn_id"] = "txn" + secrets.token_hex(6)
        payment["updated_at"] = now()
        payment["status"] = "processing" if self.behaviour.pending_reads else "succeeded"
        for _ in range(2 if self.behaviour.double_charge else 1):
            self.ledger.add(gateway=payment["gateway"], merchant_id=merchant,
                            order_id=payment["order_id"], txn_id=payment["gateway_txn_id"],
                            kind="charge", amount=payment["amount"],
                            currency=payment["currency"])

    async def confirm(self, request: web.Request) -> web.Response:
        payment = self._find(request)
        if payment is None:
            return self._error(404, "not_found", "no such payment")
        if payment["status"] != "created":
            return self._error(409, "invalid_state", f"payment is {payment['status']}")
        self._charge(payment, self.owners[payment["id"]])
        return self._json(200, self._view(payment))

    def _maybe_settle(self, payment: dict[str, Any], force: bool = False) -> None:
        if payment["status"] != "processing":
            return
        seen = self.reads.get(payment["id"], 0) + 1
        self.reads[payment["id"]] = seen
        if force or seen >= self.behaviour.pending_reads:
            payment["status"] = "succeeded"
            payment["updated_at"] = now()

    async def read(self, request: web.Request) -> web.Response:
        payment = self._find(request)
        if payment is None:
            return self._error(404, "not_found", "no such payment")
        self._maybe_settle(payment)
        return self._json(200, self._view(payment))

    async def sync(self, request: web.Request) -> web.Response:
        payment = self._find(request)
        if payment is None:
            return self._error(404, "not_found", "no such payment")
        self._maybe_settle(payment, force=True)
        return self._json(200, self._view(payment))

    async def list_by_order(self, request: web.Request) -> web.Response:
        merchant = self._merchant(request)
        if merchant is None:
            return self._error(401, "unauthorized", "unknown API key")
        order = request.query.get("order_id")
        found = [self._view(p) for p in self.payments.values()
                 if p["order_id"] == order and self.owners[p["id"]] == merchant]
        return self._json(200, {"object": "list", "data": found})

    async def refund(self, request: web.Request) -> web.Response:
        payment = self._find(request)
        if payment is None:
            return self._error(404, "not_found", "no such payment")
        data = json.loads(await request.read() or b"{}")
        amount = data.get("amount")
        if payment["status"] not in ("succeeded", "partially_refunded"):
            return self._error(409, "invalid_state", "payment is not refundable")
        if not isinstance(amount, int) or amount <= 0:
            return self._error(400, "invalid_amount", "amount must be a positive integer")
        if payment["amount_refunded"] + amount > payment["amount"]:
            return self._error(400, "refund_exceeds_payment", "refund exceeds payment")
        payment["amount_refunded"] += amount
        full = payment["amount_refunded"] == payment["amount"]
        payment["status"] = "refunded" if full else "partially_refunded"
        refund = {"id": "re_" + secrets.token_hex(12), "object": "refund",
                  "payment_id": payment["id"], "amount": amount,
                  "currency": payment["currency"], "status": "succeeded",
                  "reason": data.get("reason"), "created_at": now()}
        self.refunds[refund["id"]] = refund
        self.ledger.add(gateway=payment["gateway"], merchant_id=self.owners[payment["id"]],
                        order_id=payment["order_id"], txn_id="rf" + secrets.token_hex(4),
                        kind="refund", amount=amount, currency=payment["currency"])
        return self._json(201, refund)

    async def read_refund(self, request: web.Request) -> web.Response:
        refund = self.refunds.get(request.match_info["id"])
        if refund is None:
            return self._error(404, "not_found", "no such refund")
        return self._json(200, refund)


def ledger_app(ledger: Ledger) -> web.Application:
    async def entries(request: web.Request) -> web.Response:
        merchant = request.query.get("merchant_id")
        rows = [e for e in ledger.entries if merchant is None or e["merchant_id"] == merchant]
        return web.json_response(rows)

    app = web.Application()
    app.router.add_get("/__admin__/ledger", entries)
    return app


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 on a free port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


# Capture-space API keys (what a hand-written capture or the primary's caller uses)
# and each side's own keys and simulator merchant ids.
CAPTURE_KEYS = ("key_0", "key_1")


@dataclass
class Side:
    name: str
    url: str
    service: FakeService

    @property
    def merchant_ids(self) -> frozenset[str]:
        return frozenset(self.service.keys.values())


@dataclass
class Trio:
    primary: Side
    secondary: Side
    candidate: Side
    ledger: Ledger
    ledger_url: str

    @property
    def sides(self) -> tuple[Side, Side, Side]:
        return (self.primary, self.secondary, self.candidate)

    def replay_keys(self) -> dict[str, dict[str, str]]:
        """Capture-space key -> each side's own key."""
        return {
            s.name: {cap: f"{s.name}_key_{i}" for i, cap in enumerate(CAPTURE_KEYS)}
            for s in self.sides
        }

    def proxy_keys(self) -> dict[str, dict[str, str]]:
        """Behind the proxy the caller holds primary keys; shadow sides get their own."""
        return {
            s.name: {f"primary_key_{i}": f"{s.name}_key_{i}" for i in range(len(CAPTURE_KEYS))}
            for s in (self.secondary, self.candidate)
        }


def make_service(name: str, ledger: Ledger, behaviour: Behaviour) -> FakeService:
    keys = {f"{name}_key_{i}": f"{name}_merchant_{i}" for i in range(len(CAPTURE_KEYS))}
    return FakeService(keys=keys, ledger=ledger, behaviour=behaviour)


class TrioFactory:
    def __init__(self, stack: AsyncExitStack) -> None:
        self._stack = stack

    async def __call__(
        self,
        candidate: Behaviour | None = None,
        primary: Behaviour | None = None,
        secondary: Behaviour | None = None,
    ) -> Trio:
        ledger = Ledger()
        sides = []
        for name, behaviour in (("primary", primary), ("secondary", secondary),
                                ("candidate", candidate)):
            service = make_service(name, ledger, behaviour or Behaviour())
            url = await self._stack.enter_async_context(serve(service.app()))
            sides.append(Side(name, url, service))
        ledger_url = await self._stack.enter_async_context(serve(ledger_app(ledger)))
        return Trio(sides[0], sides[1], sides[2], ledger, ledger_url)
