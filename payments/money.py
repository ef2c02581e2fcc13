"""Money in integer minor units, currencies from an allow-list.

Amounts never pass through floats: 10050 INR minor units is "100.50" on the
wire of a gateway that wants a decimal string.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents of the currencies paybench knows about.
CURRENCY_EXPONENTS: dict[str, int] = {
    "INR": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "AED": 2,
    "JPY": 0,
    "KWD": 3,
}

DEFAULT_CURRENCIES: frozenset[str] = frozenset({"INR", "USD", "EUR", "GBP", "SGD", "AED"})

# Largest amount accepted in minor units: fits in PostgreSQL bigint with room
# for sums of refunds, and is far above any real card payment.
MAX_AMOUNT_MINOR = 10**12


def exponent(currency: str) -> int:
    """Return the number of minor-unit digits of ``currency``."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unknown currency {currency!r}") from None


def format_major(amount_minor: int, currency: str) -> str:
    """Render minor units as a decimal string in major units: 10050 INR -> "100.50"."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError("amount must be an int of minor units")
    exp = exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    value = abs(amount_minor)
    if exp == 0:
        return f"{sign}{value}"
    whole, frac = divmod(value, 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}"


def parse_major(text: str, currency: str) -> int:
    """Parse a decimal string in major units into minor units, exactly.

    Raises ``ValueError`` when the string is not a plain decimal or has more
    fractional digits than the currency allows.
    """
    exp = exponent(currency)
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"not a decimal amount: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {text!r}")
    scaled = value.scaleb(exp)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} has more than {exp} decimal places for {currency}")
    return int(scaled)
