"""Money: integer amounts in a currency's minor unit, split so the parts always add up.

There are no floats here. Splitting uses the largest-remainder method with ties going to the
earlier part, so the same inputs always give the same cents in the same places.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_AMOUNT = 10**12
"""Amounts above this (ten billion dollars in cents) are refused as absurd."""

MAX_LINE_VALUE = 10**12
"""The most one order line may be worth (quantity times unit price)."""

MAX_ORDER_TOTAL = 10**12
"""The most an order's goods and shipping fee may come to, before its discount. Refunds never
exceed what was paid, so every sum a log or a report adds up (millions of orders at this
maximum) stays far inside SQLite's 64-bit integers (2**63 - 1, about 9.2 * 10**18)."""

_MINOR_DIGITS = {"BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3, "JPY": 0, "KRW": 0, "VND": 0}


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` into parts proportional to `weights`, by largest remainder.

    The parts add up to `total` exactly. With all weights zero the split is even. Raises
    `ValueError` for a negative total or weight, or no weights.
    """
    if not weights:
        raise ValueError("cannot allocate over no parts")
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("allocate takes a non-negative total and weights")
    if sum(weights) == 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    parts = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    short = total - sum(parts)
    # Largest remainder first; on a tie the earlier part gets the cent, so the result is fixed.
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:short]:
        parts[index] += 1
    return parts


def unit_amounts(paid: int, quantity: int) -> list[int]:
    """What each unit of a line cost, when `paid` covers `quantity` units (differ by <= 1)."""
    return allocate(paid, [1] * quantity)


def percent_of(amount: int, percent: int) -> int:
    """`percent`% of `amount`, rounded down (a fee never rounds against the customer)."""
    return amount * percent // 100


def minor_digits(currency: str) -> int:
    """How many digits the currency's minor unit has (2 unless listed otherwise)."""
    return _MINOR_DIGITS.get(currency, 2)


def format_money(amount: int, currency: str) -> str:
    """`1999, "USD"` -> `"USD 19.99"`; `-699` -> `"USD -6.99"`."""
    digits = minor_digits(currency)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**digits)
    if digits == 0:
        return f"{currency} {sign}{whole:,}"
    return f"{currency} {sign}{whole:,}.{minor:0{digits}d}"
