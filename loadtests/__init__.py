"""Load generation for paybench: Locust scenarios, the open-model user, trials, sweeps and the CLI.

Nothing in this package imports Locust at module level outside ``scenarios/`` and
``locustfiles/``: Locust monkey-patches the standard library with gevent on import, so it
only ever runs in a child process started by :mod:`loadtests.locust_process`.
"""
