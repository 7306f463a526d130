"""Deadlines in calendar days and in business days (Monday to Friday, minus holidays)."""

from __future__ import annotations

from datetime import date

import pytest

from lifecycle.deadlines import add_days, is_business_day
from tests.unit.builders import make_policy

# March 2026: Monday the 2nd, Friday the 6th, weekend 7-8, Monday the 9th, weekend 14-15.
MONDAY = date(2026, 3, 2)
THURSDAY = date(2026, 3, 5)
FRIDAY = date(2026, 3, 6)
SATURDAY = date(2026, 3, 7)
SUNDAY = date(2026, 3, 8)
NEXT_MONDAY = date(2026, 3, 9)
NO_HOLIDAYS: frozenset[date] = frozenset()


def test_weekdays_are_business_days_and_weekends_are_not() -> None:
    assert all(is_business_day(date(2026, 3, day), NO_HOLIDAYS) for day in range(2, 7))
    assert not is_business_day(SATURDAY, NO_HOLIDAYS)
    assert not is_business_day(SUNDAY, NO_HOLIDAYS)


def test_a_holiday_is_not_a_business_day() -> None:
    assert not is_business_day(FRIDAY, frozenset({FRIDAY}))


def test_calendar_days_count_weekends() -> None:
    assert add_days(FRIDAY, 3, False, NO_HOLIDAYS) == date(2026, 3, 9)
    assert add_days(MONDAY, 30, False, NO_HOLIDAYS) == date(2026, 4, 1)


def test_calendar_days_ignore_holidays() -> None:
    assert add_days(THURSDAY, 1, False, frozenset({FRIDAY})) == FRIDAY


def test_five_business_days_from_a_monday_is_the_next_monday() -> None:
    assert add_days(MONDAY, 5, True, NO_HOLIDAYS) == NEXT_MONDAY


def test_one_business_day_after_a_friday_is_monday() -> None:
    assert add_days(FRIDAY, 1, True, NO_HOLIDAYS) == NEXT_MONDAY


@pytest.mark.parametrize("start", [SATURDAY, SUNDAY], ids=["saturday", "sunday"])
def test_counting_from_a_weekend_starts_on_monday(start: date) -> None:
    # The start day never counts; the first business day after a weekend day is Monday.
    assert add_days(start, 1, True, NO_HOLIDAYS) == NEXT_MONDAY


def test_two_business_days_from_thursday_skip_the_weekend() -> None:
    assert add_days(THURSDAY, 2, True, NO_HOLIDAYS) == NEXT_MONDAY


def test_a_holiday_pushes_the_deadline_a_day_further() -> None:
    # Thursday + 1 business day is Friday; with Friday a holiday it is Monday.
    assert add_days(THURSDAY, 1, True, frozenset({FRIDAY})) == NEXT_MONDAY


def test_ten_business_days_span_two_weekends_and_the_holidays_in_them() -> None:
    # Mon 2 March + 10 business days: 3,4,5,6, 9,10,11,12,13, 16 -> Monday 16 March.
    assert add_days(MONDAY, 10, True, NO_HOLIDAYS) == date(2026, 3, 16)
    # With Tuesday 10 March a holiday the tenth business day is Tuesday 17 March.
    assert add_days(MONDAY, 10, True, frozenset({date(2026, 3, 10)})) == date(2026, 3, 17)


def test_a_holiday_on_a_weekend_changes_nothing() -> None:
    assert add_days(FRIDAY, 1, True, frozenset({SATURDAY})) == NEXT_MONDAY


def test_zero_days_is_the_start_day() -> None:
    assert add_days(MONDAY, 0, True, NO_HOLIDAYS) == MONDAY
    assert add_days(MONDAY, 0, False, NO_HOLIDAYS) == MONDAY


def test_a_policys_refund_rule_counts_business_days_with_its_holidays() -> None:
    policy = make_policy(
        """
        [refund]
        deadline_days = 2
        business_days = true
        holidays = [2026-03-06]
        clause = "shop/refund"
        """
    )
    # Thursday + 2 business days, Friday a holiday: Monday 9th, Tuesday 10th.
    assert policy.refund_due_by(THURSDAY) == date(2026, 3, 10)


def test_a_policy_without_a_refund_rule_has_no_deadline() -> None:
    assert make_policy().refund_due_by(MONDAY) is None
