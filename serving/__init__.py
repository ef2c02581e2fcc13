"""The process shell every paybench service shares, around the pure ``payments`` core.

``python -m <service> serve`` (``command``), gunicorn hooks, the operations endpoints
(``operations``: /ping, /_stats, /health, /metrics and per-request figures), Prometheus
metrics, structured logs, Vyked's ``/_stats`` aggregator and the async services' gateway
HTTP client: what a service needs to run as a real process, none of it a payment decision.
"""
