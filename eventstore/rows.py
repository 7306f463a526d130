"""Stored rows: the exact text a backend keeps for each event, and how rows are made and read.

Sealing (position, version, recorded time, hash) happens here once for every backend, so the bytes
that are hashed are the same whether the log lives in SQLite or PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

from .codec import (
    canonical_json,
    chain_hash,
    check_json_object,
    check_text,
    format_time,
    parse_iso_time,
)
from .errors import CorruptLog, InvalidAppend
from .records import NewEvent, RecordedEvent, StreamAppend, StreamState
from .upcasting import Upcasters

MAX_ID_LENGTH = 200
"""Stream ids, event types and command ids longer than this are refused."""


class StoredRow(NamedTuple):
    """One event as stored: every column as the backend keeps it."""

    position: int
    stream_id: str
    stream_version: int
    type: str
    schema_version: int
    data: str
    metadata: str
    occurred_at: str
    recorded_at: str
    hash: str
    mac: str | None = None
    """The shop's HMAC of `hash` (see `keys`), outside the chain; None in an unkeyed log."""


_ROW_TYPES = (int, str, int, str, int, str, str, str, str, str)
"""The type of each `StoredRow` column, in order (integers start at 1)."""


class PreparedEvent(NamedTuple):
    """An event validated and encoded, waiting for the store to give it a place in the log.

    It keeps the decoded values too (None where they would not read back equal to themselves),
    so the store can hand back what it wrote without parsing its own JSON again."""

    type: str
    schema_version: int
    data: str
    metadata: str
    occurred_at: str
    data_value: dict[str, Any] | None
    metadata_value: dict[str, Any] | None
    occurred: datetime


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""C0 controls, DEL and C1 controls: never part of an identifier (a NUL cuts SQL text short)."""


def check_identifier(value: object, what: str) -> str:
    """A non-empty text of at most `MAX_ID_LENGTH` characters without control characters, or
    `InvalidAppend`."""
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise InvalidAppend(f"{what} must be text of 1 to {MAX_ID_LENGTH} characters: {value!r}")
    if _CONTROL.search(value):
        raise InvalidAppend(f"{what} must not hold control characters: {value!r}")
    check_text(value, what)
    return value


def prepare(event: NewEvent) -> PreparedEvent:
    """Validate one event and encode its data, metadata and time; raises `InvalidAppend`."""
    check_identifier(event.type, "event type")
    if type(event.schema_version) is not int or event.schema_version < 1:
        raise InvalidAppend(f"{event.type}: schema version must be a positive integer")
    plain_data = check_json_object(event.data, f"{event.type}.data")
    plain_metadata = check_json_object(event.metadata, f"{event.type}.metadata")
    occurred_at = format_time(event.occurred_at)
    try:
        data, metadata = canonical_json(event.data), canonical_json(event.metadata)
    except RecursionError:
        raise InvalidAppend(f"{event.type}: data nested too deeply to store") from None
    return PreparedEvent(
        event.type,
        event.schema_version,
        data,
        metadata,
        occurred_at,
        event.data if plain_data else None,
        event.metadata if plain_metadata else None,
        event.occurred_at.astimezone(UTC),
    )


COMMAND_ID = "command_id"
OUTCOME = "outcome"
"""Metadata keys the store fills in for an append with a command id: every event gets the id,
the first gets the outcome. Inside the hash chain, they make the ledger checkable."""
RESERVED = frozenset({COMMAND_ID, OUTCOME})


def check_expected_form(stream_id: str, expected: object) -> None:
    """An expected version is `NO_STREAM`, `ANY_VERSION` or a whole number >= 0."""
    if isinstance(expected, StreamState):
        return
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
        raise InvalidAppend(
            f"expected version for {stream_id} must be NO_STREAM, ANY_VERSION or >= 0"
        )


def stamp(
    appends: Sequence[StreamAppend], command_id: str | None, outcome: dict[str, object] | None
) -> list[StreamAppend]:
    """The appends with the command id (and, on the first event, the outcome) in metadata.

    Callers may not set those keys themselves: raises `InvalidAppend`."""
    for append in appends:
        for event in append.events:
            if isinstance(event.metadata, dict) and not RESERVED.isdisjoint(event.metadata):
                raise InvalidAppend(
                    f"{event.type}: metadata keys {', '.join(sorted(RESERVED))} are the store's; "
                    "pass command_id and outcome to append instead"
                )
        check_expected_form(append.stream_id, append.expected_version)
    if command_id is None:
        return list(appends)
    stamped = []
    first = True
    for append in appends:
        events = []
        for event in append.events:
            metadata: dict[str, object] = {**event.metadata, COMMAND_ID: command_id}
            if first and outcome is not None:
                metadata[OUTCOME] = outcome
            first = False
            events.append(replace(event, metadata=metadata))
        stamped.append(replace(append, events=events))
    return stamped


def prepare_appends(
    appends: Sequence[StreamAppend],
) -> list[tuple[StreamAppend, list[PreparedEvent]]]:
    """Validate a whole batch before any write; raises `InvalidAppend` on the first bad part."""
    if not appends:
        raise InvalidAppend("nothing to append: give at least one stream with events")
    seen: set[str] = set()
    prepared = []
    for append in appends:
        check_identifier(append.stream_id, "stream id")
        if append.stream_id in seen:
            raise InvalidAppend(f"stream {append.stream_id!r} appears twice in one append")
        seen.add(append.stream_id)
        if not append.events:
            raise InvalidAppend(f"no events to append to stream {append.stream_id!r}")
        prepared.append((append, [prepare(event) for event in append.events]))
    return prepared


def seal(
    event: PreparedEvent,
    *,
    previous_hash: str,
    position: int,
    stream_id: str,
    stream_version: int,
    recorded_at: str,
    sign: Callable[[str], str] | None = None,
) -> StoredRow:
    """Give a prepared event its place in the log (`recorded_at` as `format_time` wrote it),
    chain it to the previous event, and (with `sign`, the shop's key) give it its MAC."""
    digest = chain_hash(
        previous_hash,
        position,
        stream_id,
        stream_version,
        event.type,
        event.schema_version,
        event.data,
        event.metadata,
        event.occurred_at,
        recorded_at,
    )
    return StoredRow(
        position,
        stream_id,
        stream_version,
        event.type,
        event.schema_version,
        event.data,
        event.metadata,
        event.occurred_at,
        recorded_at,
        digest,
        None if sign is None else sign(digest),
    )


def sealed_event(event: PreparedEvent, row: StoredRow, recorded_at: datetime) -> RecordedEvent:
    """The envelope of a row just sealed from `event`, built from the values already at hand
    (JSON is parsed again only for values that would not read back equal to themselves)."""
    data = event.data_value if event.data_value is not None else json.loads(event.data)
    metadata = (
        event.metadata_value if event.metadata_value is not None else json.loads(event.metadata)
    )
    return RecordedEvent(
        position=row.position,
        stream_id=row.stream_id,
        stream_version=row.stream_version,
        type=row.type,
        schema_version=row.schema_version,
        data=data,
        metadata=metadata,
        occurred_at=event.occurred,
        recorded_at=recorded_at,
        hash=row.hash,
    )


def row_hash(row: StoredRow, previous_hash: str) -> str:
    """Recompute a stored row's hash from its columns, as `verify` does."""
    return chain_hash(
        previous_hash,
        row.position,
        row.stream_id,
        row.stream_version,
        row.type,
        row.schema_version,
        row.data,
        row.metadata,
        row.occurred_at,
        row.recorded_at,
    )


def wrong_type(row: StoredRow) -> str | None:
    """The first chained column of `row` whose value is not of its type (integers start at
    1); the MAC, outside the chain, is checked by `keys.MacCheck`."""
    if tuple(map(type, row[:10])) == _ROW_TYPES and min(row[0], row[2], row[4]) >= 1:
        return None  # the usual case, checked at C speed
    for field, kind, value in zip(StoredRow._fields, _ROW_TYPES, row[:10], strict=True):
        if type(value) is not kind or (type(value) is int and value < 1):
            return f"{field} must be of type {kind.__name__}"
    return None


def check_import(row: StoredRow, position: int, previous_hash: str) -> None:
    """Check that an exported row is the next one of a log whose head hash is `previous_hash`."""
    problem = wrong_type(row)
    if problem is not None:
        raise InvalidAppend(f"row {row.position!r}: {problem}")
    if row.mac is not None and type(row.mac) is not str:
        raise InvalidAppend(f"row {row.position}: mac must be text or absent")
    if row.position != position:
        raise InvalidAppend(f"row {row.position}: expected position {position} next")
    check_identifier(row.stream_id, f"row {row.position}: stream id")
    check_identifier(row.type, f"row {row.position}: event type")
    for text, what in ((row.data, "data"), (row.metadata, "metadata")):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            value = None
        if not isinstance(value, dict):
            raise InvalidAppend(f"row {row.position}: {what} is not a JSON object")
    for text, what in ((row.occurred_at, "occurred_at"), (row.recorded_at, "recorded_at")):
        try:
            parse_iso_time(text)
        except ValueError:
            raise InvalidAppend(f"row {row.position}: {what} {text!r} is not a time") from None
    if row_hash(row, previous_hash) != row.hash:
        raise InvalidAppend(
            f"row {row.position} ({row.type} in {row.stream_id}): its hash does not match its "
            "content and the previous event; the export was altered or is from another log"
        )


def to_recorded(row: StoredRow, upcasters: Upcasters | None = None) -> RecordedEvent:
    """Decode a stored row, bringing its data up to the current schema with `upcasters`.

    Raises `CorruptLog` for a row whose text does not decode (it was altered outside orderlog).
    """
    try:
        data = json.loads(row.data)
        metadata = json.loads(row.metadata)
        occurred_at, recorded_at = parse_iso_time(row.occurred_at), parse_iso_time(row.recorded_at)
    except (TypeError, ValueError, RecursionError) as error:
        raise unreadable(row, f"{type(error).__name__}: {error}") from None
    if not isinstance(data, dict) or not isinstance(metadata, dict):
        raise unreadable(row, "its data or metadata is not a JSON object")
    schema_version = row.schema_version
    if upcasters:
        schema_version, data = upcasters.upcast(row.type, schema_version, data)
    return RecordedEvent(
        position=row.position,
        stream_id=row.stream_id,
        stream_version=row.stream_version,
        type=row.type,
        schema_version=schema_version,
        data=data,
        metadata=metadata,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        hash=row.hash,
    )


def unreadable(row: StoredRow, why: str) -> CorruptLog:
    """The error for a stored row that does not decode: it was altered outside orderlog."""
    return CorruptLog(
        f"event {row.position!r} cannot be read ({why}): the file was altered outside "
        "orderlog; run `orderlog verify`"
    )
