"""Canonical text, times and hashes: how an event becomes the text that is stored and chained.

Every backend stores the same text and computes the same hash, so a log exported from one backend
verifies on another. No floats: money is integer minor units and a float's text is not canonical.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from .errors import InvalidAppend

GENESIS_HASH = "0" * 64
"""The 'previous hash' of the first event in a log."""


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: one text per value, so its hash is stable."""
    return _canonical(value)


_canonical = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode
_chained = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""Encoders built once (`json.dumps` with options builds one per call): the texts are the same."""


def check_json_object(value: Any, what: str) -> bool:
    """Refuse anything that is not a JSON object of str, int, bool, None, lists and objects.

    Returns whether the value is plain JSON (only the built-in types a JSON parser returns, no
    tuples or subclasses), so it reads back equal to itself. Raises `InvalidAppend` naming the
    path of the first bad value, or saying it is nested too deeply.
    """
    if not isinstance(value, dict):
        raise InvalidAppend(f"{what} must be a JSON object, not {type(value).__name__}")
    try:
        # The usual case, plain JSON, is confirmed without naming paths; anything else is
        # walked again to name the first bad value (or to find it merely not plain).
        return _plain(value) or _check_json_value(value, what)
    except RecursionError:
        raise InvalidAppend(f"{what} is nested too deeply to store") from None


def check_text(value: str, what: str) -> None:
    """Refuse text UTF-8 cannot carry (a lone surrogate: valid in JSON, not in the file)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidAppend(f"{what} holds text that is not valid Unicode: {value!r}") from None


_PLAIN_SCALARS = (str, int, bool, type(None))


def _plain(value: Any) -> bool:
    """Whether `value` is plain JSON of the built-in types, with text UTF-8 can carry."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or _encodes(key)):
                return False
            # Scalars are checked here, without a call each: most values are scalars.
            kind = type(item)
            if kind is str:
                if not (item.isascii() or _encodes(item)):
                    return False
            elif not (kind is int or kind is bool or item is None or _plain(item)):
                return False
        return True
    if kind is str:
        return value.isascii() or _encodes(value)
    if kind is int or kind is bool or value is None:
        return True
    if kind is list:
        return all(map(_plain, value))
    return False


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_json_value(value: Any, path: str) -> bool:
    if isinstance(value, str):
        check_text(value, path)
        return type(value) is str
    if value is None or isinstance(value, bool | int):
        return type(value) in _PLAIN_SCALARS
    plain = True
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidAppend(f"{path} has a non-text key {key!r}")
            check_text(key, path)
            plain = _check_json_value(item, f"{path}.{key}") and plain and type(key) is str
        return plain and type(value) is dict
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            plain = _check_json_value(item, f"{path}[{index}]") and plain
        return plain and type(value) is list
    if isinstance(value, float):
        raise InvalidAppend(f"{path} is a float ({value!r}); store money as integer minor units")
    raise InvalidAppend(f"{path} is a {type(value).__name__}, which JSON cannot hold")


def format_time(moment: datetime) -> str:
    """A timezone-aware time as UTC ISO-8601 with microseconds (fixed width, so text sorts)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidAppend(f"time {moment.isoformat()} has no timezone; give it in UTC")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class NaiveTime(ValueError):
    """ISO-8601 text that names no UTC offset, so no instant."""


def parse_iso_time(text: str) -> datetime:
    """ISO-8601 text with a UTC offset (`2026-03-02T09:00:00Z`, `+05:30`...) as an aware UTC
    time: the one parser of time text for the wire, the CLI and the store.

    Pure and dependency-free on purpose, so every layer can use it; the inverse of
    `format_time`. Raises `NaiveTime` for a time without an offset and `ValueError` for text
    that is no ISO-8601 time."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is UTC:  # the store's own text, and every `Z`: nothing to convert
        return moment
    if moment.utcoffset() is None:
        raise NaiveTime(f"{text!r} has no UTC offset")
    return moment.astimezone(UTC)


DAY_LENGTH = len("2026-03-10")


def parse_time_or_day(text: str, *, day_ends: bool = True) -> datetime:
    """What a person may type for a moment (every `orderlog` time option): an ISO-8601 time
    with a UTC offset, the form the tool prints (`2026-03-04 09:00 UTC`), or a day alone
    (`2026-03-10`), a UTC day: its last microsecond (`day_ends`, the rule for `--as-of` and
    `--until`), or its first (for `--since`). Raises like `parse_iso_time`."""
    text = text.strip()
    if text.endswith(" UTC"):
        text = text.removesuffix(" UTC") + "+00:00"
    if len(text) == DAY_LENGTH:
        start = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        return start + timedelta(days=1, microseconds=-1) if day_ends else start
    return parse_iso_time(text)


def human_time(moment: datetime) -> str:
    """A time for a person's eyes in a message: UTC to the minute (`2026-03-04 09:00 UTC`),
    or to the second when it has seconds (`2026-03-04 09:00:30 UTC`)."""
    moment = moment.astimezone(UTC)
    shown = "%Y-%m-%d %H:%M:%S" if moment.second or moment.microsecond else "%Y-%m-%d %H:%M"
    return moment.strftime(shown) + " UTC"


def chain_hash(
    previous_hash: str,
    position: int,
    stream_id: str,
    stream_version: int,
    event_type: str,
    schema_version: int,
    data_text: str,
    metadata_text: str,
    occurred_at_text: str,
    recorded_at_text: str,
) -> str:
    """The hash of one event: SHA-256 over the previous hash and the event's stored text.

    The stored text is hashed as it is (not re-encoded), so any edit of any column shows.
    """
    body = _chained(
        [
            position,
            stream_id,
            stream_version,
            event_type,
            schema_version,
            data_text,
            metadata_text,
            occurred_at_text,
            recorded_at_text,
        ]
    )
    return hashlib.sha256(previous_hash.encode("ascii") + body.encode("utf-8")).hexdigest()
