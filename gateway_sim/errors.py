"""Errors of the gateway simulator (their root and the shared configuration error are in
:mod:`payments.errors`).

::

    PaybenchError
    └── SimError
        ├── ConfigError       a profile or override that makes no sense (admin API: 400);
        │                     also a payments.errors.ConfigError
        └── MerchantError     a merchant registration that is incomplete (admin API: 400)
"""

from __future__ import annotations

from payments import errors


class SimError(errors.PaybenchError):
    code = "sim_error"


class ConfigError(SimError, errors.ConfigError):
    code = "invalid_config"


class MerchantError(SimError):
    code = "invalid_merchant"
