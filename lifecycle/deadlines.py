"""Deadlines in days or business days (Monday to Friday, minus a policy's holidays)."""

from __future__ import annotations

from datetime import date, timedelta

SATURDAY = 5


def is_business_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < SATURDAY and day not in holidays


def add_days(start: date, days: int, business: bool, holidays: frozenset[date]) -> date:
    """The date `days` (business) days after `start`; the start day itself does not count."""
    if not business:
        return start + timedelta(days=days)
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_business_day(day, holidays):
            counted += 1
    return day
