"""The scripted driver (payments.testing) and the loops it runs flows with (payments.effects):
deviations are reported clearly, port failures reach the flow, both loops agree."""

from __future__ import annotations

import re
from unittest.mock import ANY

import pytest

from payments import sql
from payments.api import health_flow
from payments.context import Context, SystemClock
from payments.effects import CacheGet, Flow, Query
from payments.flows.common import new_attempt_id, new_id
from payments.gateways.base import GatewayName, HttpRequest, TransportError
from payments.testing import ManualClock, Script, ScriptMismatch, SequentialIds, describe
from tests.payments.flow_data import SETTINGS, insert_args, payment_body, payment_row, request
from tests.payments.flow_data import context as flow_context

pytestmark = pytest.mark.pure


def two_reads() -> Flow[tuple[object, object]]:
    first = yield Query(sql.GET_PAYMENT, ("pay_1", "mer_1"))
    second = yield CacheGet("pay:mer_1:pay_1")
    return first, second


def test_a_different_effect_names_the_expected_and_the_actual_one() -> None:
    """A deviation says which effect (by number), what was expected, what came instead."""
    script = Script().query(sql.GET_PAYMENT).query(sql.SETTLE_ATTEMPT)
    with pytest.raises(ScriptMismatch) as failed:
        script.run(two_reads())
    message = str(failed.value)
    assert "effect #2: expected Query(sql.SETTLE_ATTEMPT)" in message
    assert "the flow yielded CacheGet('pay:mer_1:pay_1')" in message
    assert "a CacheGet instead of a Query" in message
    assert "#1 Query(sql.GET_PAYMENT, args=('pay_1', 'mer_1'))" in message


def test_different_arguments_are_pointed_at_one_by_one() -> None:
    """Arguments are compared position by position; ANY matches anything."""
    script = Script().query(sql.GET_PAYMENT, ("pay_2", ANY))
    with pytest.raises(ScriptMismatch, match=re.escape("args[0] is 'pay_1', not 'pay_2'")):
        script.run(two_reads())


def test_an_effect_past_the_end_of_the_script_is_a_mismatch() -> None:
    """The flow may not do more than the script says."""
    with pytest.raises(ScriptMismatch, match="the script has ended but the flow yielded CacheGet"):
        Script().query(sql.GET_PAYMENT).run(two_reads())


def test_a_flow_that_stops_early_is_a_mismatch_listing_what_is_left() -> None:
    """The flow may not do less than the script says, whether it returns or raises."""
    script = Script().query(sql.GET_PAYMENT).cache_get().cache_put("k")
    with pytest.raises(ScriptMismatch, match="returned after 2 effects") as failed:
        script.run(two_reads())
    assert "still expects:\n  #3 CachePut(key='k')" in str(failed.value)
    raising = Script().query(sql.GET_PAYMENT, raises=ConnectionError("down")).cache_get()
    with pytest.raises(ScriptMismatch, match="the flow raised ConnectionError") as failed:
        raising.run(two_reads())
    assert isinstance(failed.value.__cause__, ConnectionError)


def test_a_mismatch_is_not_handled_by_the_flow() -> None:
    """A deviation inside work guarded by ``except Exception`` (idempotency) stops the flow
    where it happened: the flow does not go on to release its key."""
    script = (
        Script()
        .query(sql.IDEMPOTENCY_CLAIM, returns={"key": "k"})
        .query(sql.INSERT_PAYMENT_WITH_ATTEMPT)
    )
    with pytest.raises(ScriptMismatch, match=re.escape("sql is sql.INSERT_PAYMENT")):
        script.run(request(flow_context(), "POST", "/v1/payments", payment_body(), key="k"))
    assert len(script.seen) == 2


def test_gateway_requests_match_on_method_path_and_kind() -> None:
    """A request is named by gateway, method and path (its query string only when given)."""

    def charge() -> Flow[object]:
        status = HttpRequest(GatewayName.PAYTM, "POST", "/v3/order/status?mid=M", kind="status")
        return (yield status)

    reply = TransportError("timeout", ambiguous=True)
    assert Script().http("POST", "/v3/order/status", reply, kind="status").run(charge()) is reply
    with pytest.raises(ScriptMismatch, match="kind is 'status', not 'auth'"):
        Script().http("POST", "/v3/order/status", reply, kind="auth").run(charge())
    with pytest.raises(ScriptMismatch, match="path is '/v3/order/status\\?mid=M'"):
        Script().http("POST", "/v3/order/status?mid=X", reply).run(charge())
    assert describe(HttpRequest(GatewayName.JUSPAY, "GET", "/orders/a", kind="status")) == (
        "HttpRequest(juspay GET /orders/a, kind=status)"
    )


async def test_both_loops_drive_a_flow_to_the_same_result() -> None:
    """run_sync (legacy) and run_async (engine, Sanic) give a flow the same answers."""
    row = payment_row()

    def script() -> Script:
        return Script().query(sql.GET_PAYMENT, returns=row).cache_get(returns=b"1|{}")

    assert script().run(two_reads()) == await script().run_async(two_reads()) == (row, b"1|{}")


@pytest.mark.parametrize(("row", "healthy"), [({"ok": 1}, True), (None, False)])
def test_health_flow_pings_the_database(row: dict[str, int] | None, healthy: bool) -> None:
    """GET /health's database half is one PING."""
    assert Script().query(sql.PING, (), returns=row).run(health_flow()) is healthy


def test_context_ids_and_clocks_default_to_the_real_ones() -> None:
    """Without injection, ids are random hex (secrets) and the clocks are the system's."""
    ctx = Context(SETTINGS)
    first, second = new_id(ctx, "pay"), new_id(ctx, "pay")
    assert re.fullmatch(r"pay_[0-9a-f]{24}", first)
    assert first != second
    assert re.fullmatch(r"att[0-9a-f]{18}", new_attempt_id(ctx))
    assert isinstance(ctx.clock, SystemClock)


def test_injected_ids_and_clock_are_deterministic() -> None:
    """SequentialIds count in the requested width; ManualClock moves only when told; the
    merchant cache runs on the context's clock."""
    clock = ManualClock(wall=100.0, mono=5.0)
    ctx = Context(SETTINGS, clock=clock, ids=SequentialIds(10))
    assert new_id(ctx, "re") == "re_" + "0" * 22 + "0a"
    assert new_attempt_id(ctx) == "att" + "0" * 16 + "0b"
    clock.advance(1.5)
    assert (clock.time(), clock.monotonic()) == (101.5, 6.5)
    flow_ctx = flow_context(clock)
    assert flow_ctx.merchants.get("id:mer_1") is not None
    clock.advance(31)
    assert flow_ctx.merchants.get("id:mer_1") is None


def test_insert_arguments_follow_the_ids_handed_out() -> None:
    """The first id a fresh flow context hands out is the payment's (a sanity check of the
    shared test data)."""
    ctx = flow_context()
    assert insert_args()[0] == new_id(ctx, "pay")
