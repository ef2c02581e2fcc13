"""The payment service on Sanic and Tortoise ORM: the stack the team moved its Vyked service to.

**One core, three drivers.** Every decision of every endpoint (validation,
authentication, idempotency, the payment state machine, refund bounds,
gateway protocols, response bodies) is in ``payments/``: a flow is a
generator that yields effects (``payments.effects``) and the service
executes them. The engine sends each ``Query`` to asyncpg as written, the
legacy service to psycopg; this service hands it to ``driver``, which maps
each *named statement* of ``payments/sql.py`` to Tortoise models and
querysets (``filter(id=..., status=...).update(...)`` and its row count for
every compare-and-set, ``in_transaction()`` where one SQL statement did two
writes). The flows cannot tell the three drivers apart, so there is no
second copy of any business rule here, and the three services answer the
same bytes for the same state. The alternative, porting the flows into
ORM-style handlers, would have made the comparison one of two programs
instead of two stacks, and every rule would have had to be kept twice.

Modules:

- ``models``: Tortoise models on the project's own schema (``Meta.table``,
  never ``generate_schemas``: the SQL migrations own the schema);
- ``driver``: the statement -> ORM mapping, and ``RAW_SQL``, the only places
  that send SQL Tortoise did not build, each with its reason;
- ``ports``: effects -> I/O (the driver, redis.asyncio, aiohttp's client);
- ``app``: the application factory, listeners, ``app.ctx``, Sanic's server;
- ``handlers`` / ``middleware``: routes, request ids, figures, error bodies;
- ``watchdog``: restarts a worker that died, as gunicorn does for the others.

``python -m sanic_service serve --host H --port P --workers N`` runs it with
settings from the ``PAYBENCH_*`` environment, like the other two services.
"""
