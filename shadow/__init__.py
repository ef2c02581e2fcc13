"""Shadow traffic for payment services: mirror, replay, diff, audit, report.

The same requests go to a *primary* (the legacy service), optionally a
*secondary* (a second primary instance, to measure noise) and a *candidate*
(the engine). Each side keeps its own state: its own schema, its own simulator
merchants and API keys, its own idempotency keys. Ids minted by one side are
learned and mapped so follow-up requests reach the right object on every side.
Responses are normalised and diffed field by field; differences that also show
up between primary and secondary are noise (Diffy's thresholds). Gateway side
effects are audited from the simulator's ledger so no order is charged twice.

Modules: ``capture`` (JSONL exchange files), ``mapping`` (id maps, keys),
``mirror`` (sending one exchange to every side), ``proxy`` and ``replay``
(the two drivers), ``normalize`` + ``diff`` + ``analysis`` (comparison),
``audit`` (ledger), ``report`` (HTML/Markdown/JSON), ``cli``.
"""
