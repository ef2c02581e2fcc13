"""Juspay- and Paytm-like gateway simulators in one aiohttp process.

Latency and fault models, deterministic amount hooks, webhooks back to the
merchant, and an audit ledger of every accepted charge and refund. Run with
``python -m gateway_sim``; see ``gateway_sim/README.md``.
"""
