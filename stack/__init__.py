"""The lifecycle of a run's real processes.

``services.Stack`` (configured by a frozen ``services.StackConfig``) brings up
PostgreSQL and Redis (``infra``: given URLs or embedded servers), the gateway
simulator and the target services (``targets``), each supervised by
``processes.Supervisor``; ``provision`` creates a target's schema and
merchants; ``resources`` samples CPU and memory of every process;
``environment`` records the machine for environment.json.
"""
