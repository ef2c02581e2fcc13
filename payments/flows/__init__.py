"""The payment flows: every decision of every endpoint, as generators of effects.

``payments`` (create, confirm, read, sync), ``refunds``, ``webhooks`` and
``reconcile``. A flow never performs I/O; it yields ``payments.effects``
objects and the service's driver executes them.
"""
