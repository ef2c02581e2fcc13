"""Errors of the gateway simulator.

::

    SimError
    ├── ConfigError       a profile or override that makes no sense (admin API: 400)
    └── MerchantError     a merchant registration that is incomplete (admin API: 400)
"""

from __future__ import annotations


class SimError(Exception):
    code = "sim_error"


class ConfigError(SimError):
    code = "invalid_config"


class MerchantError(SimError):
    code = "invalid_merchant"
