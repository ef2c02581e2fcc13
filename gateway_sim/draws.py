"""Random outcomes that depend on what a call *is*, not on when it arrives.

Shadow traffic sends the same logical request to two services, each with its
own gateway merchants and ids, and each service calls the simulator. If the
simulator drew its faults, declines, pending choices and latencies from one
stream in arrival order, the same logical payment would meet a decline on one
side and a 5xx on the other, and the shadow diff would report gateway luck as
a behaviour difference. So every random decision is drawn from its own
generator, seeded by a hash of ``(seed, purpose, call key)``.

The call key must be the same for the same logical request on both sides, so
it holds nothing a side makes up itself:

* not the merchant id (each side has its own gateway merchants, see
  ``stack/merchants.py``), nor the order id the services send (it is their
  attempt id, minted per side), nor ``udf1`` / ``mercUnqRef`` (their payment
  id), nor refund ids;
* but what the caller asked for, which the shadow proxy keeps equal: gateway,
  amount, currency and customer id of an order, and the order's *rank* among
  the orders this merchant placed with that same content (the first such
  order, the second, ...). A follow-up call (transaction, status read, refund,
  refund status) extends its order's key with its own kind and rank, e.g. the
  2nd status read of the order, or the 1st refund of 50.00 on it.

Two different payments with identical content are told apart only by their
rank: if one side reorders such twins, their outcomes swap. Calls that cannot
be identified (bad credentials, malformed bodies) draw their latency from the
arrival-order stream instead; they have no random outcome.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Hashable

CallKey = tuple[Hashable, ...]


class Draws:
    """Per-call generators plus the counters that give equal content a rank."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._ranks: dict[tuple[Hashable, ...], int] = {}
        # orders refused before creation (429, stall): a later status read of
        # their id must draw from the same key on every side.
        self._refused: dict[tuple[str, str, str], CallKey] = {}

    def clear(self) -> None:
        self._ranks.clear()
        self._refused.clear()

    def rank(self, scope: tuple[Hashable, ...]) -> int:
        """0 for the first call in ``scope``, then 1, 2, ..."""
        n = self._ranks.get(scope, 0)
        self._ranks[scope] = n + 1
        return n

    def order_key(
        self, gateway: str, merchant_id: str, amount: int, currency: str, customer_id: str
    ) -> CallKey:
        """The key of a new order; the merchant only scopes the rank."""
        content = (gateway, amount, currency, customer_id)
        return ("order", *content, self.rank((merchant_id, *content)))

    def refused(self, gateway: str, merchant_id: str, order_id: str, key: CallKey) -> None:
        self._refused[(gateway, merchant_id, order_id)] = key

    def missing_order_key(self, gateway: str, merchant_id: str, order_id: str) -> CallKey:
        """The key of a read of an order that does not exist.

        An order refused at creation keeps its creation key, so both sides draw
        alike; an id never seen at all has only the id to go by.
        """
        base = self._refused.get((gateway, merchant_id, order_id), ("unknown", gateway, order_id))
        return (*base, "missing", self.rank((gateway, merchant_id, order_id, "missing")))

    def rng(self, key: CallKey, purpose: str) -> random.Random:
        """A generator for one decision (``purpose``) about one call."""
        return CallRandom(repr((self.seed, purpose, key)).encode())


class CallRandom(random.Random):
    """Uniform floats from BLAKE2b(material, n): a generator for a few draws.

    ``random.Random(seed)`` would do as well, but seeding a Mersenne Twister
    for every decision of every call costs several microseconds; a call needs
    one to three floats. Only ``random()`` is overridden, so every other method
    (``lognormvariate``, ``choice``, ...) is derived from it by ``random.Random``.
    """

    def __init__(self, material: bytes) -> None:
        self._material = material
        self._n = 0
        self.gauss_next = None  # what random.Random.__init__ sets besides the seed

    def seed(self, a: object = None, version: int = 2) -> None:
        raise TypeError("a CallRandom is fixed by its material")

    def random(self) -> float:
        self._n += 1
        digest = hashlib.blake2b(
            self._material, digest_size=8, salt=self._n.to_bytes(16, "little")
        ).digest()
        return (int.from_bytes(digest, "big") >> 11) * 2.0**-53
