"""The shapes that go into and come out of the event log.

`NewEvent` is what a caller hands to `append`; `RecordedEvent` is the envelope the store gives back,
with the position, stream version, recorded time and hash that only the store can assign.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSONObject = dict[str, Any]


class StreamState(enum.Enum):
    """Expected-version markers that are not a number."""

    NO_STREAM = "no_stream"
    ANY = "any"


NO_STREAM = StreamState.NO_STREAM
"""Append only if the stream has no events yet."""

ANY_VERSION = StreamState.ANY
"""Append whatever the stream's version is (no optimistic check)."""

ExpectedVersion = int | StreamState
"""`NO_STREAM`, `ANY_VERSION`, or the exact version the stream must be at (0 = no events)."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append: its type, schema version, JSON data, metadata and when it happened."""

    type: str
    data: JSONObject
    occurred_at: datetime
    schema_version: int = 1
    metadata: JSONObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamAppend:
    """Events for one stream, with the version the stream must be at before they are written."""

    stream_id: str
    events: Sequence[NewEvent]
    expected_version: ExpectedVersion = ANY_VERSION


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as the log holds it: the caller's event plus the store's envelope."""

    position: int
    stream_id: str
    stream_version: int
    type: str
    schema_version: int
    data: JSONObject
    metadata: JSONObject
    occurred_at: datetime
    recorded_at: datetime
    hash: str


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append wrote, the outcome payload stored with it, and whether it was a replay.

    `duplicate` is true when the command id had been recorded before: the events and outcome are
    the ones recorded the first time and nothing new was written.
    """

    events: tuple[RecordedEvent, ...]
    outcome: JSONObject | None = None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class HeadDigest:
    """The head of the log (last position and its hash): an auditor keeps it to check later that
    the log they are shown still extends it. Its text form is `position:hash`."""

    position: int
    hash: str

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> HeadDigest:
        """Read `position:hash` back; raises `ValueError` naming what is wrong."""
        position, sep, digest = text.strip().partition(":")
        if not sep or not position.isdigit() or len(digest) != 64:
            raise ValueError(f"a head digest looks like '1234:<64 hex digits>', not {text!r}")
        try:
            int(digest, 16)
        except ValueError:
            raise ValueError(f"the hash part of {text!r} is not hexadecimal") from None
        return cls(int(position), digest.lower())


@dataclass(frozen=True, slots=True)
class Problem:
    """The first place where the log is not what it should be."""

    position: int
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of walking the log: how far it got and the first problem, if any."""

    checked: int
    head: HeadDigest
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None
