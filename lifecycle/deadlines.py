"""Deadlines in days or business days (Monday to Friday, minus a policy's holidays)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

SATURDAY = 5


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of a moment: windows and deadlines are counted in UTC days."""
    return moment.astimezone(UTC).date()


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
