"""Drive a flow against a script of the effects it must yield, without any I/O.

In the style of h11's ``ConnectionPair``: a test states, in order, each
effect the flow has to yield and what the world answers::

    script = (
        Script()
        .query(sql.GET_PAYMENT, ("pay_1", "m_1"), returns=row)   # answer this row
        .http("POST", "/txns", TransportError("timeout", True))  # the gateway times out
        .query(sql.SETTLE_ATTEMPT, returns=settled)
        .cache_put("pay:m_1:pay_1", version=3)
    )
    response = script.run(flow)

``run`` drives the flow with ``payments.effects.run_sync`` (``run_async``
with ``payments.effects.run_async``), the services' own loops, and the
script as the ports. An effect other than the one expected, one more than
the script holds, or one fewer, stops the flow with ``ScriptMismatch``
naming the expected and the actual effect and listing those before it.
Only the fields a step names are compared (an argument may be
``unittest.mock.ANY``). ``raises=`` makes the database fail, which the loop
throws into the flow as a service's driver would; every effect the flow
yielded is kept in ``seen`` (``yielded(kind)``: those of one kind) for closer checks.

``SequentialIds`` and ``ManualClock`` make a ``Context``'s ids and clocks
deterministic.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from payments import sql
from payments.effects import CacheGet, CachePut, Effect, Flow, Query, run_async, run_sync
from payments.gateways.base import GatewayReply, HttpRequest

T = TypeVar("T")
E = TypeVar("E", Query, CacheGet, CachePut, HttpRequest)

_STATEMENT_NAMES = {
    value: f"sql.{name}"
    for name, value in vars(sql).items()
    if name.isupper() and not name.startswith("_") and isinstance(value, str)
}


class ScriptMismatch(BaseException):
    """The flow deviated from its script.

    A ``BaseException`` on purpose: the driver loop throws a port's
    ``Exception`` into the flow (which may handle it, as ``idempotent``
    does), whereas a deviation must stop the flow where it happened.
    """


def statement_name(statement: str) -> str:
    """``sql.GET_PAYMENT`` for a statement of ``payments.sql``, else its start."""
    return _STATEMENT_NAMES.get(statement) or repr(" ".join(statement.split())[:60])


def describe(effect: Effect) -> str:
    """One line naming an effect and what identifies it."""
    if isinstance(effect, Query):
        fetch = "" if effect.fetch == "one" else f", fetch={effect.fetch!r}"
        return f"Query({statement_name(effect.sql)}, args={effect.args!r}{fetch})"
    if isinstance(effect, CacheGet):
        return f"CacheGet({effect.key!r})"
    if isinstance(effect, CachePut):
        return f"CachePut({effect.key!r}, version={effect.version}, ttl_s={effect.ttl_s})"
    return (
        f"HttpRequest({effect.gateway.value} {effect.method} {effect.path}, kind={effect.kind})"
    )


@dataclass(frozen=True, slots=True)
class Step:
    """One expected effect (its type and the fields the test named) and its answer."""

    kind: type[Query] | type[CacheGet] | type[CachePut] | type[HttpRequest]
    fields: Mapping[str, Any]
    answer: Any = None
    raises: Exception | None = None

    def describe(self) -> str:
        if self.kind is HttpRequest:
            named = " ".join(str(self.fields[k]) for k in ("gateway", "method", "path")
                             if k in self.fields)  # fmt: skip
            kind = f", kind={self.fields['kind']}" if "kind" in self.fields else ""
            return f"HttpRequest({named}{kind})"
        shown = [statement_name(v) if k == "sql" else f"{k}={v!r}" for k, v in self.fields.items()]
        return f"{self.kind.__name__}({', '.join(shown)})"

    def mismatches(self, effect: Effect) -> list[str]:
        """What differs between ``effect`` and this step (empty: it matches)."""
        if not isinstance(effect, self.kind):
            return [f"a {type(effect).__name__} instead of a {self.kind.__name__}"]
        wrong = []
        for name, wanted in self.fields.items():
            actual = getattr(effect, name)
            if name == "path" and "?" not in wanted:
                actual = actual.partition("?")[0]  # the query string only when named
            if actual == wanted:
                continue
            if name == "sql":
                wrong.append(f"sql is {statement_name(actual)}")
            elif name == "args" and len(actual) == len(wanted):
                wrong += [f"args[{i}] is {a!r}, not {w!r}"
                          for i, (a, w) in enumerate(zip(actual, wanted, strict=True))
                          if a != w]  # fmt: skip
            else:
                wrong.append(f"{name} is {actual!r}, not {wanted!r}")
        return wrong


@dataclass(slots=True)
class Script:
    """The effects a flow must yield, in order, and the answers it gets."""

    steps: deque[Step] = field(default_factory=deque)
    seen: list[Effect] = field(default_factory=list)  # every effect the flow yielded

    # -- building ----------------------------------------------------------------

    def query(
        self,
        statement: str,
        args: tuple[Any, ...] | None = None,
        *,
        fetch: str | None = None,
        returns: Any = None,
        raises: Exception | None = None,
    ) -> Script:
        """Expect ``Query(statement)`` (with ``args``/``fetch`` when given); answer ``returns``."""
        fields: dict[str, Any] = {"sql": statement}
        if args is not None:
            fields["args"] = args
        if fetch is not None:
            fields["fetch"] = fetch
        return self._add(Step(Query, fields, returns, raises))

    def cache_get(self, key: str | None = None, *, returns: bytes | None = None) -> Script:
        """Expect a cache read (of ``key`` when given); answer ``returns`` (None: a miss)."""
        fields = {} if key is None else {"key": key}
        return self._add(Step(CacheGet, fields, returns))

    def cache_put(
        self, key: str | None = None, *, version: int | None = None, ttl_s: int | None = None
    ) -> Script:
        """Expect a cache write (of ``key``, ``version`` and ``ttl_s`` when given)."""
        given = {"key": key, "version": version, "ttl_s": ttl_s}
        return self._add(Step(CachePut, {k: v for k, v in given.items() if v is not None}))

    def http(
        self,
        method: str,
        path: str,
        reply: GatewayReply,
        *,
        kind: str | None = None,
        gateway: str | None = None,
    ) -> Script:
        """Expect a gateway request (``path`` without its query string unless it has one)."""
        fields: dict[str, Any] = {"method": method, "path": path}
        if gateway is not None:
            fields["gateway"] = gateway
        if kind is not None:
            fields["kind"] = kind
        return self._add(Step(HttpRequest, fields, reply))

    def _add(self, step: Step) -> Script:
        self.steps.append(step)
        return self

    def yielded(self, kind: type[E]) -> list[E]:
        """The effects of one kind the flow yielded, in order (to look closer at them)."""
        return [effect for effect in self.seen if isinstance(effect, kind)]

    # -- running -----------------------------------------------------------------

    def run(self, flow: Flow[T]) -> T:
        """Drive ``flow`` with the sync loop; its result once every step was used."""
        try:
            result = run_sync(flow, _SyncPorts(self))
        except Exception as exc:
            self._check_done(f"the flow raised {exc!r}", exc)
            raise
        self._check_done("the flow returned")
        return result

    async def run_async(self, flow: Flow[T]) -> T:
        """Drive ``flow`` with the async loop; its result once every step was used."""
        try:
            result = await run_async(flow, _AsyncPorts(self))
        except Exception as exc:
            self._check_done(f"the flow raised {exc!r}", exc)
            raise
        self._check_done("the flow returned")
        return result

    def answer(self, effect: Effect) -> Any:
        """The scripted answer to ``effect``, or ``ScriptMismatch`` if it is not the next step."""
        self.seen.append(effect)
        number = len(self.seen)
        if not self.steps:
            raise ScriptMismatch(
                f"effect #{number}: the script has ended but the flow yielded "
                f"{describe(effect)}{self._history()}"
            )
        step = self.steps.popleft()
        wrong = step.mismatches(effect)
        if wrong:
            raise ScriptMismatch(
                f"effect #{number}: expected {step.describe()}\n"
                f"  the flow yielded {describe(effect)}\n  ({'; '.join(wrong)}){self._history()}"
            )
        if step.raises is not None:
            raise step.raises
        return step.answer

    def _check_done(self, ending: str, cause: BaseException | None = None) -> None:
        if self.steps:
            left = "\n".join(f"  #{len(self.seen) + i} {s.describe()}"
                             for i, s in enumerate(self.steps, 1))  # fmt: skip
            raise ScriptMismatch(
                f"{ending} after {len(self.seen)} effects; the script still expects:\n"
                f"{left}{self._history()}"
            ) from cause

    def _history(self) -> str:
        if not self.seen:
            return ""
        lines = "\n".join(f"  #{i} {describe(e)}" for i, e in enumerate(self.seen, 1))
        return f"\neffects the flow yielded:\n{lines}"


class _SyncPorts:
    """``payments.effects.SyncPorts`` answered by a script."""

    def __init__(self, script: Script) -> None:
        self._script = script

    def query(self, q: Query) -> Any:
        return self._script.answer(q)

    def cache_get(self, key: str) -> bytes | None:
        value: bytes | None = self._script.answer(CacheGet(key))
        return value

    def cache_put(self, effect: CachePut) -> None:
        self._script.answer(effect)

    def http(self, request: HttpRequest) -> GatewayReply:
        reply: GatewayReply = self._script.answer(request)
        return reply


class _AsyncPorts:
    """``payments.effects.AsyncPorts`` answered by a script."""

    def __init__(self, script: Script) -> None:
        self._script = script

    async def query(self, q: Query) -> Any:
        return self._script.answer(q)

    async def cache_get(self, key: str) -> bytes | None:
        value: bytes | None = self._script.answer(CacheGet(key))
        return value

    async def cache_put(self, effect: CachePut) -> None:
        self._script.answer(effect)

    async def http(self, request: HttpRequest) -> GatewayReply:
        reply: GatewayReply = self._script.answer(request)
        return reply


class SequentialIds:
    """An id source (``Context.ids``) counting 1, 2, 3, ... in the requested width."""

    def __init__(self, start: int = 1) -> None:
        self.next = start

    def __call__(self, nbytes: int) -> str:
        value, self.next = self.next, self.next + 1
        return f"{value:0{2 * nbytes}x}"


@dataclass(slots=True)
class ManualClock:
    """A ``Context.clock`` that moves only when told to."""

    wall: float = 1_700_000_000.0
    mono: float = 1_000.0

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds
