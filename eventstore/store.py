"""The event store core: every rule of the log, written once, over a few backend primitives.

A backend (SQLite, in memory, PostgreSQL next) supplies only primitives: a write transaction
under the log's write lock, a read snapshot, the translation of its own errors, and plain reads
and inserts of rows and ledger entries. Validating and sealing appends, expected versions, the
command ledger, imports, reading in batches, upcasting and verification live here.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .codec import GENESIS_HASH, check_json_object, format_time
from .errors import ConcurrencyConflict, CorruptLog, InvalidAppend, StoreFileError
from .keys import ChainKey, MacCheck, as_key, check_writer_key
from .ledger import LedgerCheck, LedgerEntry, note_command
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
from .rows import (
    COMMAND_ID,
    OUTCOME,
    PreparedEvent,
    StoredRow,
    check_expected_form,
    check_identifier,
    check_import,
    prepare_appends,
    seal,
    sealed_event,
    stamp,
    to_recorded,
)
from .upcasting import Upcasters
from .verify import ChainWalk, check_digest, earliest, first_stream_break

DEFAULT_BATCH_SIZE = 1000
IMPORT_BATCH = 1000
"""Imported events are handed to inline listeners in batches of this many."""

MAX_POSITION = 2**63 - 1
"""Positions and versions are 64-bit integers in every backend; larger bounds are clamped."""

RowObserver = Callable[[list[StoredRow]], None]
"""Sees each batch of rows `verify` found intact, in position order."""


@dataclass(frozen=True, slots=True)
class PreparedAppend:
    """One command's appends, validated and encoded (`EventStore.prepare_append`), waiting
    for `append_batch` to give them their places in the log."""

    command_id: str | None
    outcome: dict[str, object] | None
    appends: list[tuple[StreamAppend, list[PreparedEvent]]]


InlineListener = Callable[[Any, Sequence[RecordedEvent]], None]
"""Called inside the append's transaction with the backend's handle (`_write` yields it) and the
events just written; if it raises, nothing is written."""


class EventStore(abc.ABC):
    """An append-only, hash-chained log of events in streams, with optimistic concurrency."""

    def __init__(
        self,
        upcasters: Upcasters | None = None,
        clock: Callable[[], datetime] | None = None,
        *,
        key: ChainKey | bytes | None = None,
    ) -> None:
        self.upcasters = upcasters or Upcasters()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._listeners: list[InlineListener] = []
        self.key = as_key(key)
        """The shop's chain key (see `keys`): appends get MACs and `verify` checks them."""
        self._key_checked = False

    # -- the primitives a backend supplies --------------------------------------------------------

    @abc.abstractmethod
    def _write(self) -> AbstractContextManager[Any]:
        """A transaction holding the log's write lock: reads inside see every commit and this
        transaction's own rows; it commits when the block ends and rolls back if it raises.
        Yields the handle inline listeners get. A lock not had in time raises the backend's
        busy error (which `_guard` turns into `ConcurrencyConflict`)."""

    @abc.abstractmethod
    def _snapshot(self) -> AbstractContextManager[None]:
        """A read snapshot: every read inside sees one state of the log. Nestable; inside a
        write transaction it is that transaction."""

    @abc.abstractmethod
    def _guard(self) -> AbstractContextManager[None]:
        """Turn the backend's own errors raised in the block into the store's typed errors
        (busy into `ConcurrencyConflict`, a full disk into `DiskFull`...): the one place."""

    @abc.abstractmethod
    def _head(self) -> HeadDigest | None:
        """The row with the highest position, as (position, hash); None for an empty log."""

    @abc.abstractmethod
    def _stream_version(self, stream_id: str) -> int:
        """The highest version of a stream (0 when it has no events)."""

    @abc.abstractmethod
    def _rows(self, first: int, last: int, limit: int) -> list[StoredRow]:
        """At most `limit` rows with `first <= position <= last`, in position order."""

    @abc.abstractmethod
    def _stream_rows(self, stream_id: str, from_version: int) -> list[StoredRow]:
        """Rows of one stream from a version on, in version order."""

    @abc.abstractmethod
    def _stream_ids(self) -> Iterator[str]:
        """Every stream id, sorted."""

    @abc.abstractmethod
    def _stream_index(self, last: int) -> Iterator[tuple[str, int, int]]:
        """(stream id, version, position) of every row up to `last`, by stream then version."""

    @abc.abstractmethod
    def _insert(self, rows: Sequence[StoredRow]) -> None:
        """Insert sealed rows (inside `_write`)."""

    @abc.abstractmethod
    def _ledger_get(self, command_id: str) -> tuple[int, int] | None:
        """The (first, last) positions recorded for a command id, or None."""

    @abc.abstractmethod
    def _ledger_put(self, command_id: str, first: int, last: int, recorded_at: str) -> None:
        """Record a command's positions (inside `_write`)."""

    @abc.abstractmethod
    def _ledger_entries(self) -> Iterator[tuple[Any, Any, Any]]:
        """Every ledger entry as stored, (command id, first, last), ordered by first position."""

    def _schema_problem(self) -> Problem | None:
        """What is wrong with the database's own structure (tables, triggers), if it has one."""
        return None

    def _label(self) -> str:
        """How messages name this log (a file's path)."""
        return "this log"

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
        Raises `ConcurrencyConflict` if the stream is not at `expected_version` (or the log stayed
        busy), `InvalidAppend` if an event cannot be stored, a `StoreFileError` if the file
        cannot be written.
        """
        return self.append_streams(
            [StreamAppend(stream_id, events, expected_version)],
            command_id=command_id,
            outcome=outcome,
        )

    def append_streams(
        self,
        appends: Sequence[StreamAppend],
        *,
        command_id: str | None = None,
        outcome: dict[str, object] | None = None,
    ) -> AppendResult:
        """Append to several streams in one transaction (same rules as `append`)."""
        return self.append_batch([self.prepare_append(appends, command_id, outcome)])[0]

    def prepare_append(
        self,
        appends: Sequence[StreamAppend],
        command_id: str | None = None,
        outcome: dict[str, object] | None = None,
    ) -> PreparedAppend:
        """Validate and encode one command's appends for `append_batch`, before any write;
        raises `InvalidAppend` for what cannot be stored (so a caller can refuse that command
        alone and still write the others)."""
        if command_id is not None:
            check_identifier(command_id, "command id")
        if outcome is not None:
            check_json_object(outcome, "outcome")
        return PreparedAppend(
            command_id, outcome, prepare_appends(stamp(appends, command_id, outcome))
        )

    def append_batch(self, batch: Sequence[PreparedAppend]) -> list[AppendResult]:
        """Append several commands' appends in one transaction (group commit), each checked
        against the log as the earlier ones in the batch left it; one result per entry.

        An entry whose command id was recorded before writes nothing and gets the first result
        (`duplicate`). Any conflict rolls the whole batch back (`ConcurrencyConflict`): its
        entries were decided against one another, so none of them is written alone."""
        if not batch:
            return []
        results: list[AppendResult] = []
        written: list[RecordedEvent] = []
        with self._guard(), self._write() as handle:
            head = self._head() or HeadDigest(0, GENESIS_HASH)
            self._check_key(head.position)
            sign = None if self.key is None else self.key.sign
            position, previous = head.position, head.hash
            moment = self._clock()
            recorded_at, recorded_text = moment.astimezone(UTC), format_time(moment)
            # Under the write lock a stream written in this batch is at the version the batch
            # left it at: read each stream's version once, not once per command.
            versions: dict[str, int] = {}
            for entry in batch:
                if entry.command_id is not None:
                    prior = self._recorded(entry.command_id)
                    if prior is not None:
                        results.append(prior)
                        continue
                rows: list[StoredRow] = []
                recorded: list[RecordedEvent] = []
                for append, events in entry.appends:
                    version = versions.get(append.stream_id)
                    if version is None:
                        version = self._stream_version(append.stream_id)
                    check_expected(append.stream_id, append.expected_version, version)
                    for event in events:
                        position += 1
                        version += 1
                        row = seal(
                            event,
                            previous_hash=previous,
                            position=position,
                            stream_id=append.stream_id,
                            stream_version=version,
                            recorded_at=recorded_text,
                            sign=sign,
                        )
                        rows.append(row)
                        recorded.append(sealed_event(event, row, recorded_at))
                        previous = row.hash
                    versions[append.stream_id] = version
                self._insert(rows)
                if entry.command_id is not None:
                    self._ledger_put(
                        entry.command_id, rows[0].position, rows[-1].position, recorded_text
                    )
                results.append(AppendResult(tuple(recorded), entry.outcome))
                written.extend(recorded)
            if written:
                told = tuple(written)
                for listener in self._listeners:
                    listener(handle, told)
        return results

    def import_rows(
        self, rows: Iterable[StoredRow], check: Callable[[RecordedEvent], None] | None = None
    ) -> int:
        """Append rows exported from a log (`read_rows`) exactly as they were, all or nothing.

        Each row must continue this log: the next position, the next version of its stream,
        and a hash that recomputes from its text and the previous hash. `check` then sees each
        row as an event and may refuse it by raising. Raises `InvalidAppend` naming the first
        row that does not continue the log; nothing is written then. Returns the rows added."""
        count = 0
        with self._guard(), self._write() as handle:
            head = self._head() or HeadDigest(0, GENESIS_HASH)
            self._check_key(head.position)
            position, previous = head.position, head.hash
            versions: dict[str, int] = {}
            commands: dict[str, tuple[int, int, str]] = {}
            batch: list[RecordedEvent] = []
            for row in rows:
                check_import(row, position + 1, previous)
                if row.stream_id not in versions:
                    versions[row.stream_id] = self._stream_version(row.stream_id)
                if row.stream_version != versions[row.stream_id] + 1:
                    raise InvalidAppend(
                        f"row {row.position}: version {row.stream_version} of {row.stream_id} "
                        f"does not follow version {versions[row.stream_id]}"
                    )
                row = self._keyed(row)
                event = to_recorded(row, self.upcasters)
                if check is not None:
                    check(event)
                note_command(commands, event)
                self._insert((row,))
                versions[row.stream_id] = row.stream_version
                position, previous = row.position, row.hash
                count += 1
                batch.append(event)
                if len(batch) >= IMPORT_BATCH:
                    self._tell_listeners(handle, batch)
                    batch = []
            self._tell_listeners(handle, batch)
            for command_id, (first, last, recorded_at) in commands.items():
                check_identifier(command_id, f"row {first}: command id")
                if self._ledger_get(command_id) is not None:
                    raise InvalidAppend(f"command {command_id} is in this log already")
                self._ledger_put(command_id, first, last, recorded_at)
        return count

    def _check_key(self, head: int) -> None:
        """Once per store, before its first write: refuse a keyed log without its key, or with
        another key (`WrongKey`), so a misconfigured writer cannot break the keyed chain."""
        if self._key_checked:
            return
        rows = self._rows(head, head, 1) if head else []
        check_writer_key(self.key, rows[0] if rows else None, self._label())
        self._key_checked = True

    def _keyed(self, row: StoredRow) -> StoredRow:
        """An imported row as this store keeps it: with a key, its MAC must be this key's (or
        it gets one: importing with the key vouches for it); without, it stays as exported."""
        if self.key is None:
            return row
        if row.mac is None:
            return row._replace(mac=self.key.sign(row.hash))
        if self.key.check(row.hash, row.mac) is not None:
            raise InvalidAppend(
                f"row {row.position} ({row.type} in {row.stream_id}): its MAC is not the shop's "
                "key's: it was forged, or exported from a log keyed with another key"
            )
        return row

    def _tell_listeners(self, handle: Any, events: list[RecordedEvent]) -> None:
        if events:
            for listener in self._listeners:
                listener(handle, events)

    def subscribe_inline(self, listener: InlineListener) -> None:
        """Run `listener` inside every append's transaction; if it raises, nothing is written."""
        self._listeners.append(listener)

    # -- reading -------------------------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Inside this block every read sees one consistent state of the log (nestable)."""
        with self._guard(), self._snapshot():
            yield

    def head(self) -> HeadDigest:
        """The last position and its hash (position 0 and the genesis hash for an empty log)."""
        with self._guard():
            head = self._head()
        return HeadDigest(0, GENESIS_HASH) if head is None else head

    def stream_version(self, stream_id: str) -> int:
        """The version of a stream: how many events it holds (0 when it has none)."""
        check_identifier(stream_id, "stream id")
        with self._guard():
            return self._stream_version(stream_id)

    def stream_ids(self) -> Iterator[str]:
        """Every stream id in the log, in sorted order."""
        with self._guard():
            yield from self._stream_ids()

    def recorded(self, command_id: str) -> AppendResult | None:
        """The result first recorded for `command_id`, or None if it was never recorded.

        Raises `CorruptLog` if the ledger entry does not match the events it points at."""
        check_identifier(command_id, "command id")
        with self._guard():
            # No snapshot needed: a ledger entry commits together with the rows it points at.
            return self._recorded(command_id)

    def _recorded(self, command_id: str) -> AppendResult | None:
        span = self._ledger_get(command_id)
        if span is None:
            return None
        first, last = span
        count = last - first + 1
        rows = self._rows(first, last, count) if 1 <= first <= last <= MAX_POSITION else []
        events = tuple(to_recorded(row, self.upcasters) for row in rows)
        if len(events) != count or any(e.metadata.get(COMMAND_ID) != command_id for e in events):
            raise CorruptLog(
                f"the ledger entry for command {command_id} does not match the events it points "
                "at: the file was altered; run `orderlog verify`"
            )
        return AppendResult(events, events[0].metadata.get(OUTCOME), True)

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """Every event of one stream from `from_version` on, upcast to the current schemas."""
        check_identifier(stream_id, "stream id")
        with self._guard():
            rows = self._stream_rows(stream_id, _clamp(from_version))
            return [to_recorded(row, self.upcasters) for row in rows]

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
        for rows in self.read_row_batches(
            from_position, to_position=to_position, batch_size=batch_size
        ):
            yield from rows

    def read_row_batches(
        self,
        from_position: int = 1,
        *,
        to_position: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[list[StoredRow]]:
        """Like `read_rows`, a batch (a list of at most `batch_size` rows) at a time: for
        readers that work through a whole log and handle rows in bulk."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        with self._guard():
            last = self.head().position if to_position is None else _clamp(to_position)
            first = max(_clamp(from_position), 1)
            while first <= last:
                rows = self._rows(first, last, batch_size)
                if not rows:
                    return
                yield rows
                first = rows[-1].position + 1

    # -- auditing ------------------------------------------------------------------------------

    def verify(
        self, digest: HeadDigest | None = None, observe: RowObserver | None = None
    ) -> VerifyReport:
        """Walk the whole log, inside one snapshot, and report the first break: in positions,
        column types, hashes, stream versions or the command ledger, or in the database's own
        structure. With `digest` (kept earlier from `head()`), also check that the log still
        extends it; with the store's `key`, that every event carries the shop's MAC (see
        `keys.MacCheck`). Damage is always reported as a `Problem`, never raised.

        `observe` is handed each batch of rows whose chain checked out, in position order, in
        the same pass and snapshot (for checks above the store: paths, read models); it is not
        called past the first break in the chain."""
        with self._guard(), self._snapshot():
            schema = self._schema_problem()
            walk = ChainWalk()
            try:
                with self._guard():
                    report = self._verify(walk, digest, observe)
            except StoreFileError as error:
                # The damage stops the backend reading at all (a torn page, a table gone).
                problem = schema or Problem(walk.checked + 1, "unreadable", error.message)
                return VerifyReport(walk.checked, walk.report().head, problem)
            # A log that is intact but no longer protected (a trigger dropped) is a problem too;
            # damage to the log itself, found above, says more and comes first.
            if report.problem is None and schema is not None:
                return VerifyReport(report.checked, report.head, schema)
            return report

    def _verify(
        self, walk: ChainWalk, digest: HeadDigest | None, observe: RowObserver | None
    ) -> VerifyReport:
        head = self._head()
        last = 0 if head is None else head.position
        ledger = LedgerCheck(self._ledger_entries())
        macs = None if self.key is None else MacCheck(self.key)
        for rows in self.read_row_batches(1, to_position=last):
            before = walk.checked
            for row in rows:
                walk.step(row)
                ledger.step(row)
                if macs is not None:
                    macs.step(row)
            if observe is not None and walk.checked > before:
                observe(rows if walk.problem is None else rows[: walk.checked - before])
        report = walk.report()
        for problem in (
            self._outside_chain(),
            first_stream_break(self._stream_index(last), self._whole_stream),
            ledger.finish(),
            None if macs is None else macs.finish(last),
        ):
            report = earliest(report, problem)
        if digest is not None:
            report = check_digest(report, digest, self._hash_at(digest.position, last))
        return report

    def _whole_stream(self, stream_id: str) -> list[StoredRow]:
        return self._stream_rows(stream_id, -MAX_POSITION)

    def _hash_at(self, position: int, last: int) -> str | None:
        if not 1 <= position <= last:
            return None
        rows = self._rows(position, position, 1)
        return rows[0].hash if rows else None

    def _outside_chain(self) -> Problem | None:
        rows = self._rows(-MAX_POSITION, 0, 1)
        if not rows:
            return None
        row = rows[0]
        return Problem(
            row.position,
            "outside_chain",
            f"event {row.position} ({row.type} in {row.stream_id}) sits before position 1, "
            "outside the chain: it was inserted by hand",
        )

    def wait_for_appends(self, timeout: float) -> bool:
        """Block until another writer may have appended, or `timeout` seconds pass; True when
        the backend was told of an append. A backend that cannot be told (SQLite, memory)
        sleeps: its followers poll."""
        time.sleep(timeout)
        return False

    def close(self) -> None:  # noqa: B027 - backends without resources need not override
        """Release the backend's connections."""


def _clamp(position: int) -> int:
    return max(-MAX_POSITION, min(position, MAX_POSITION))


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


__all__ = [
    "EventStore",
    "InlineListener",
    "LedgerEntry",
    "PreparedAppend",
    "RowObserver",
    "check_expected",
]
