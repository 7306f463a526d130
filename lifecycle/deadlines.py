"""Deadlines in days or business days (Monday to Friday, minus a policy's holidays), counted in
calendar days of a time zone (the policy's; UTC unless it names one)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta, tzinfo

SATURDAY = 5


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of a moment."""
    return moment.astimezone(UTC).date()


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The calendar day of a moment in a time zone: a shop's windows count in its own days."""
    return moment.astimezone(zone).date()


def time_zone(name: str) -> tzinfo:
    """The zone named by an IANA key (`America/New_York`); "UTC" needs no zone database.

    Raises `ValueError` for a name the zone database does not know."""
    if name == "UTC":
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise ValueError(f"{name!r} is not a time zone name like America/New_York") from error


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
