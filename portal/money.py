"""Money is an integer count of minor units plus an ISO 4217 code; never a float.

Rounding rule (used wherever a fraction of a minor unit appears, e.g. VAT): round half
away from zero, on exact integer arithmetic.
"""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 minor-unit exponents of the currencies the portal invoices in.
CURRENCIES: dict[str, int] = {"EUR": 2, "RON": 2, "UAH": 2, "BGN": 2, "HUF": 2, "USD": 2}


def exponent(currency: str) -> int:
    return CURRENCIES[currency]


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def round_half_away(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, exactly."""
    sign = -1 if (numerator < 0) != (denominator < 0) else 1
    q, r = divmod(abs(numerator), abs(denominator))
    if 2 * r >= abs(denominator):
        q += 1
    return sign * q


def percent_of(amount_minor: int, rate_bp: int) -> int:
    """rate_bp basis points of an amount (1900 bp = 19 %), rounded half away from zero."""
    return round_half_away(amount_minor * rate_bp, 10_000)
