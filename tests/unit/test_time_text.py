"""One parser for time text (`eventstore.codec.parse_iso_time`): the wire, the CLI and the store
read times with it, each keeping its own words for a refusal."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import pytest

from eventstore import CorruptLog, InvalidAppend
from eventstore.codec import NaiveTime, format_time, human_time, parse_iso_time, parse_time_or_day
from eventstore.rows import StoredRow, check_import, row_hash, to_recorded
from lifecycle import InvalidCommand, parse_command
from projections.cli import SINCE, Time
from tests.unit.builders import place_order

INSTANT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["2026-03-02T09:00:00Z", "2026-03-02T09:00:00+00:00", "2026-03-02T14:30:00+05:30"]
)
def test_every_offset_names_the_same_instant_in_utc(text: str) -> None:
    moment = parse_iso_time(text)
    assert moment == INSTANT
    assert moment.tzinfo is UTC


def test_a_time_without_an_offset_is_naive_and_a_value_error() -> None:
    with pytest.raises(NaiveTime):
        parse_iso_time("2026-03-02T09:00:00")
    assert issubclass(NaiveTime, ValueError)


@pytest.mark.parametrize("text", ["next tuesday", "2026-13-45T00:00:00Z", ""])
def test_text_that_is_no_time_is_a_value_error_but_not_naive(text: str) -> None:
    with pytest.raises(ValueError, match=r"isoformat|must be in") as raised:
        parse_iso_time(text)
    assert not isinstance(raised.value, NaiveTime)


@pytest.mark.parametrize(
    ("at", "words"),
    [
        ("2026-03-02T09:00:00", "has no UTC offset; give times like 2026-03-02T09:00:00Z"),
        ("next tuesday", "'next tuesday' is not an ISO-8601 time"),
    ],
)
def test_the_wire_refuses_in_its_own_words(at: str, words: str) -> None:
    with pytest.raises(InvalidCommand) as raised:
        parse_command({**place_order(), "at": at})
    assert raised.value.field == "at"
    assert words in str(raised.value)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-03-02T09:00:00", "has no UTC offset; add Z or +00:00"),
        ("soon", "'soon' is not an ISO-8601 time like 2026-03-02T09:00:00Z"),
    ],
)
def test_the_cli_refuses_in_its_own_words(value: str, words: str) -> None:
    with pytest.raises(click.BadParameter) as raised:
        Time().convert(value, None, None)
    assert words in str(raised.value)


def test_the_cli_reads_a_time_as_the_wire_does() -> None:
    assert Time().convert("2026-03-02T14:30:00+05:30", None, None) == INSTANT
    command = parse_command({**place_order(), "at": "2026-03-02T14:30:00+05:30"})
    assert command.at == INSTANT


def test_the_store_reads_its_own_time_text_back_as_the_same_instant() -> None:
    moment = datetime(2026, 3, 2, 14, 30, 0, 123456, tzinfo=UTC)
    assert parse_iso_time(format_time(moment)) == moment


def _row(occurred_at: str) -> StoredRow:
    """A stored row at position 1 whose hash matches its content (as an export would hold)."""
    row = StoredRow(1, "order-o1", 1, "Happened", 1, "{}", "{}", occurred_at, occurred_at, "")
    return row._replace(hash=row_hash(row, "0" * 64))


def test_the_store_refuses_to_import_a_row_with_a_naive_time() -> None:
    check_import(_row("2026-03-02T09:00:00.000000+00:00"), 1, "0" * 64)
    with pytest.raises(InvalidAppend, match="occurred_at '2026-03-02T09:00:00' is not a time"):
        check_import(_row("2026-03-02T09:00:00"), 1, "0" * 64)


def test_a_stored_row_with_a_naive_time_is_unreadable_not_a_naive_event() -> None:
    assert to_recorded(_row("2026-03-02T09:00:00+00:00")).occurred_at == INSTANT
    with pytest.raises(CorruptLog, match="NaiveTime"):
        to_recorded(_row("2026-03-02T09:00:00"))


@pytest.mark.parametrize(
    ("text", "day_ends", "expected"),
    [
        ("2026-03-10", True, datetime(2026, 3, 10, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2026-03-10", False, datetime(2026, 3, 10, tzinfo=UTC)),
        ("2026-03-02 09:00 UTC", True, INSTANT),
        ("2026-03-02T14:30:00+05:30", False, INSTANT),
    ],
)
def test_a_person_may_type_a_time_a_day_or_what_the_tool_prints(
    text: str, day_ends: bool, expected: datetime
) -> None:
    assert parse_time_or_day(text, day_ends=day_ends) == expected


def test_every_cli_time_option_reads_a_day_by_the_same_rule() -> None:
    assert Time().convert("2026-03-10", None, None).hour == 23
    assert SINCE.convert("2026-03-10", None, None).hour == 0
    with pytest.raises(NaiveTime):
        parse_time_or_day("2026-03-02 09:00")


def test_messages_show_times_as_people_read_them() -> None:
    assert human_time(INSTANT) == "2026-03-02 09:00 UTC"
    assert human_time(datetime(2026, 3, 2, 14, 30, 15, tzinfo=UTC)) == "2026-03-02 14:30:15 UTC"
