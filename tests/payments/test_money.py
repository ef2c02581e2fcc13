"""Money in minor units."""

from __future__ import annotations

import pytest

from payments.money import format_major, parse_major


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(10050, "INR", "100.50"), (5, "USD", "0.05"), (0, "EUR", "0.00"), (1234, "JPY", "1234"),
     (1001, "KWD", "1.001"), (-250, "INR", "-2.50")],
)
def test_format_major(minor: int, currency: str, text: str) -> None:
    """Minor units render as exact decimal strings with the currency's exponent."""
    assert format_major(minor, currency) == text


@pytest.mark.parametrize(("text", "minor"), [("100.50", 10050), ("100.5", 10050), ("7", 700)])
def test_parse_major_round_trips(text: str, minor: int) -> None:
    """Decimal strings parse back to the same minor units, without floats."""
    assert parse_major(text, "INR") == minor


@pytest.mark.parametrize("text", ["1.005", "abc", "NaN", "Infinity", ""])
def test_parse_major_rejects_inexact(text: str) -> None:
    """Amounts with too many decimals or that are not numbers are refused."""
    with pytest.raises(ValueError, match=r"decimal|amount|places"):
        parse_major(text, "INR")


def test_unknown_currency() -> None:
    """An unknown currency is an error, not a guess of two decimals."""
    with pytest.raises(ValueError, match="unknown currency"):
        format_major(100, "XYZ")


def test_format_refuses_floats_and_bools() -> None:
    """Only ints are money; a float or bool amount is a programming error."""
    with pytest.raises(TypeError):
        format_major(1.5, "INR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_major(True, "INR")
