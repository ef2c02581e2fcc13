"""Locust scenarios, one user class per module; each file also runs on its own::

    PAYBENCH_API_KEYS=key1,key2 locust -f loadtests/scenarios/checkout.py --host http://127.0.0.1:8000

Only the harness child process imports these modules (they import Locust, which patches
the standard library with gevent).
"""

from __future__ import annotations

import importlib
from typing import Any

USER_CLASSES = {
    "checkout": "CheckoutUser",
    "browse": "BrowseUser",
    "refunds": "RefundsUser",
    "retry_storm": "RetryStormUser",
    "mixed": "MixedUser",
    "ping": "PingUser",
}


def user_class(scenario: str) -> Any:
    """The Locust user class of a scenario (imports Locust)."""
    module = importlib.import_module(f"loadtests.scenarios.{scenario}")
    return getattr(module, USER_CLASSES[scenario])
