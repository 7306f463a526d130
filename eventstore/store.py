"""The event store interface every backend implements, and the behaviour they share.

A backend supplies a handful of primitives (write a sealed batch under a lock, read rows by
position or stream, look up a command id); appending, reading in batches, upcasting and
verification are written once here on top of them.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Sequence

from .errors import ConcurrencyConflict
from .records import (
    ANY_VERSION,
    NO_STREAM,
    AppendResult,
    ExpectedVersion,
    HeadDigest,
    NewEvent,
    Problem,
    RecordedEvent,
    StreamAppend,
    VerifyReport,
)
from .rows import StoredRow, check_expected_form, check_identifier, to_recorded
from .upcasting import Upcasters
from .verify import check_digest, earliest, walk_chain

DEFAULT_BATCH_SIZE = 1000


class EventStore(abc.ABC):
    """An append-only, hash-chained log of events in streams, with optimistic concurrency."""

    def __init__(self, upcasters: Upcasters | None = None) -> None:
        self.upcasters = upcasters or Upcasters()

    # -- writing -------------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = ANY_VERSION,
        *,
        command_id: str | None = None,
        outcome: dict[str, object] | None = None,
    ) -> AppendResult:
        """Append events to one stream, all or nothing.

        With a `command_id` that was recorded before, returns the first result and writes nothing.
        Raises `ConcurrencyConflict` if the stream is not at `expected_version`, `InvalidAppend`
        if an event cannot be stored.
        """
        return self.append_streams(
            [StreamAppend(stream_id, events, expected_version)],
            command_id=command_id,
            outcome=outcome,
        )

    @abc.abstractmethod
    def append_streams(
        self,
        appends: Sequence[StreamAppend],
        *,
        command_id: str | None = None,
        outcome: dict[str, object] | None = None,
    ) -> AppendResult:
        """Append to several streams in one transaction (same rules as `append`)."""

    @abc.abstractmethod
    def import_rows(
        self, rows: Iterable[StoredRow], check: Callable[[RecordedEvent], None] | None = None
    ) -> int:
        """Append rows exported from a log (`read_rows`) exactly as they were, all or nothing.

        Each row must continue this log: the next position, the next version of its stream,
        and a hash that recomputes from its text and the previous hash. `check` then sees each
        row as an event and may refuse it by raising. Raises `InvalidAppend` naming the first
        row that does not continue the log; nothing is written then. Returns the rows added."""

    @abc.abstractmethod
    def stream_ids(self) -> Iterator[str]:
        """Every stream id in the log, in sorted order."""

    @abc.abstractmethod
    def recorded(self, command_id: str) -> AppendResult | None:
        """The result first recorded for `command_id`, or None if it was never recorded."""

    # -- reading -------------------------------------------------------------------------------

    @abc.abstractmethod
    def head(self) -> HeadDigest:
        """The last position and its hash (position 0 and the genesis hash for an empty log)."""

    @abc.abstractmethod
    def stream_version(self, stream_id: str) -> int:
        """The version of a stream: how many events it holds (0 when it has none)."""

    @abc.abstractmethod
    def _stream_rows(self, stream_id: str, from_version: int) -> list[StoredRow]:
        """Rows of one stream from a version on, in version order."""

    @abc.abstractmethod
    def _rows_between(self, first: int, last: int, limit: int) -> list[StoredRow]:
        """At most `limit` rows with `first <= position <= last`, in position order."""

    @abc.abstractmethod
    def _hash_at(self, position: int) -> str | None:
        """The stored hash at a position, or None if there is no such row."""

    @abc.abstractmethod
    def _first_stream_break(self, last: int) -> Problem | None:
        """The first event up to `last` whose stream version does not follow its predecessor."""

    @abc.abstractmethod
    def _outside_chain(self) -> Problem | None:
        """A row at a position the chain does not reach (below 1), which reads could still see."""

    @abc.abstractmethod
    def _ledger_problem(self) -> Problem | None:
        """The first command-ledger entry that does not match its events' metadata, or event
        naming a command the ledger does not lead to."""

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """Every event of one stream from `from_version` on, upcast to the current schemas."""
        check_identifier(stream_id, "stream id")
        return [
            to_recorded(row, self.upcasters) for row in self._stream_rows(stream_id, from_version)
        ]

    def read_all(
        self,
        from_position: int = 1,
        *,
        to_position: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[RecordedEvent]:
        """The whole log (or a slice) in position order, fetched in bounded batches.

        Memory stays flat however long the log is. Without `to_position` it reads up to the head
        as it was when iteration started.
        """
        for row in self.read_rows(from_position, to_position=to_position, batch_size=batch_size):
            yield to_recorded(row, self.upcasters)

    def read_rows(
        self,
        from_position: int = 1,
        *,
        to_position: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[StoredRow]:
        """Like `read_all` but the stored text as is: for export, verification and copying."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        last = self.head().position if to_position is None else to_position
        first = max(from_position, 1)
        while first <= last:
            rows = self._rows_between(first, last, batch_size)
            if not rows:
                return
            yield from rows
            first = rows[-1].position + 1

    # -- auditing ------------------------------------------------------------------------------

    def verify(self, digest: HeadDigest | None = None) -> VerifyReport:
        """Walk the whole log and report the first break in positions, hashes or stream versions.

        With `digest` (kept earlier from `head()`), also check that the log still extends it.
        """
        last = self.head().position
        report = walk_chain(self.read_rows(1, to_position=last))
        for problem in (
            self._outside_chain(),
            self._first_stream_break(last),
            self._ledger_problem(),
        ):
            report = earliest(report, problem)
        if digest is not None:
            report = check_digest(report, digest, self._hash_at(digest.position))
        return report

    def close(self) -> None:  # noqa: B027 - backends without resources need not override
        """Release the backend's connections."""


def check_expected(stream_id: str, expected: ExpectedVersion, actual: int) -> None:
    """Raise `ConcurrencyConflict` unless a stream at `actual` satisfies `expected`."""
    if expected is ANY_VERSION:
        return
    if expected is NO_STREAM:
        if actual != 0:
            raise ConcurrencyConflict(
                f"stream {stream_id} already exists (version {actual}); expected no stream",
                stream_id=stream_id,
            )
        return
    check_expected_form(stream_id, expected)
    if actual != expected:
        raise ConcurrencyConflict(
            f"stream {stream_id} is at version {actual}, not the expected {expected}: "
            "someone else wrote first; reload and retry",
            stream_id=stream_id,
        )
