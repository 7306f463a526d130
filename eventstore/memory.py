"""A plain in-memory event store on the store core: Python lists and dicts, no database.

For tests and tools that need a log but not a file. Stores made over one `MemoryDatabase` share
it, as connections share a file: one writer at a time (a lock, waited for up to the busy
timeout), and readers see only whole commits.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import Any

from .errors import ConcurrencyConflict
from .keys import ChainKey
from .records import HeadDigest
from .rows import StoredRow
from .store import EventStore
from .upcasting import Upcasters


class MemoryDatabase:
    """The rows and the ledger that several `InMemoryEventStore`s share.

    Rows are kept in position order; `committed` is how many of them readers may see, so a
    commit becomes visible at once (it is moved last, after the rows and the ledger entry)."""

    def __init__(self) -> None:
        self.rows: list[StoredRow] = []
        self.positions: list[int] = []
        self.streams: dict[str, list[int]] = {}  # stream id -> row indexes, in version order
        self.ledger: dict[str, tuple[int, int, str, int]] = {}  # id -> first, last, at, seen at
        self.committed = 0
        self.write_lock = threading.Lock()

    def reindex(self) -> None:
        """Rebuild the indexes after the rows were edited directly (tests that tamper do)."""
        self.rows.sort(key=lambda row: row.position)
        self.positions = [row.position for row in self.rows]
        self.streams = {}
        for index, row in enumerate(self.rows):
            self.streams.setdefault(row.stream_id, []).append(index)
        for indexes in self.streams.values():
            indexes.sort(key=lambda i: _version_order(self.rows[i]))
        self.committed = len(self.rows)
        self.ledger = {key: (*entry[:3], 0) for key, entry in self.ledger.items()}


def _version_order(row: StoredRow) -> tuple[bool, int, int]:
    """Sort by version; a version that is no integer (a tampered row) sorts last, as in SQL."""
    version = row.stream_version
    return type(version) is not int, version if type(version) is int else 0, row.position


class InMemoryEventStore(EventStore):
    """An event log in memory. Give several stores one `database` to share a log."""

    def __init__(
        self,
        database: MemoryDatabase | None = None,
        *,
        busy_timeout: float = 10.0,
        upcasters: Upcasters | None = None,
        clock: Callable[[], datetime] | None = None,
        key: ChainKey | bytes | None = None,
    ) -> None:
        super().__init__(upcasters, clock, key=key)
        self.database = database or MemoryDatabase()
        self.busy_timeout = busy_timeout
        self._limit: int | None = None  # rows visible to this store's snapshot or write
        self._depth = 0
        self._writing = False
        self._added: list[str] = []  # ledger entries of the write in progress

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[None]:
        if self._writing:
            yield None
            return
        db = self.database
        if not db.write_lock.acquire(timeout=self.busy_timeout):
            raise ConcurrencyConflict(
                f"the log was busy: another writer held it for more than {self.busy_timeout:g}s; "
                "nothing was written; retry"
            )
        start, streams_before = len(db.rows), len(db.streams)
        added: list[str] = []
        self._writing, self._added, saved_limit = True, added, self._limit
        self._limit = None
        try:
            yield None
        except BaseException:
            self._undo(start, streams_before, added)
            raise
        else:
            db.committed = len(db.rows)
        finally:
            self._writing, self._limit = False, saved_limit
            db.write_lock.release()

    def _undo(self, start: int, streams_before: int, added: list[str]) -> None:
        db = self.database
        for row in db.rows[start:]:
            indexes = db.streams[row.stream_id]
            indexes.pop()
            if not indexes:
                del db.streams[row.stream_id]
        del db.rows[start:]
        del db.positions[start:]
        for command_id in added:
            del db.ledger[command_id]

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        if self._writing or self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth, self._limit = 1, self.database.committed
        try:
            yield
        finally:
            self._depth, self._limit = 0, None

    def _guard(self) -> AbstractContextManager[None]:
        return nullcontext()  # nothing below Python to translate

    def _visible(self) -> int:
        """How many rows this store may see now: its snapshot's, its own write's, or the
        database's last commit."""
        if self._writing:
            return len(self.database.rows)
        return self.database.committed if self._limit is None else self._limit

    # -- reads -----------------------------------------------------------------------------------

    def _head(self) -> HeadDigest | None:
        visible = self._visible()
        if not visible:
            return None
        row = self.database.rows[visible - 1]
        return HeadDigest(row.position, row.hash)

    def _stream_version(self, stream_id: str) -> int:
        rows, visible = self.database.rows, self._visible()
        for index in reversed(self.database.streams.get(stream_id, ())):
            if index < visible:
                return rows[index].stream_version
        return 0

    def _rows(self, first: int, last: int, limit: int) -> list[StoredRow]:
        db, visible = self.database, self._visible()
        start = bisect.bisect_left(db.positions, first, 0, visible)
        end = min(bisect.bisect_right(db.positions, last, 0, visible), start + limit)
        return db.rows[start:end]

    def _stream_rows(self, stream_id: str, from_version: int) -> list[StoredRow]:
        rows, visible = self.database.rows, self._visible()
        return [
            rows[i]
            for i in list(self.database.streams.get(stream_id, ()))
            if i < visible and _version_order(rows[i]) >= (False, from_version, 0)
        ]

    def _stream_ids(self) -> Iterator[str]:
        visible = self._visible()
        for stream_id in sorted(self.database.streams):
            if any(i < visible for i in self.database.streams.get(stream_id, ())):
                yield stream_id

    def _stream_index(self, last: int) -> Iterator[tuple[str, int, int]]:
        for stream_id in self._stream_ids():
            for row in self._stream_rows(stream_id, -(2**63)):
                if row.position <= last:
                    yield row.stream_id, row.stream_version, row.position

    # -- writes ----------------------------------------------------------------------------------

    def _insert(self, rows: Sequence[StoredRow]) -> None:
        db = self.database
        for row in rows:
            if db.positions and row.position <= db.positions[-1]:
                raise AssertionError("rows are appended in position order under the lock")
            db.streams.setdefault(row.stream_id, []).append(len(db.rows))
            db.rows.append(row)
            db.positions.append(row.position)

    def _ledger_get(self, command_id: str) -> tuple[int, int] | None:
        entry = self.database.ledger.get(command_id)
        if entry is None or entry[3] > self._visible():
            return None
        return entry[0], entry[1]

    def _ledger_put(self, command_id: str, first: int, last: int, recorded_at: str) -> None:
        db = self.database
        if command_id in db.ledger:
            raise ConcurrencyConflict(f"command {command_id} was recorded by another writer")
        db.ledger[command_id] = (first, last, recorded_at, len(db.rows))
        self._added.append(command_id)

    def _ledger_entries(self) -> Iterator[tuple[Any, Any, Any]]:
        visible = self._visible()
        entries = [
            (command_id, entry[0], entry[1])
            for command_id, entry in list(self.database.ledger.items())
            if entry[3] <= visible
        ]
        entries.sort(key=lambda e: (e[1] if type(e[1]) is int else float("inf"), str(e[0])))
        yield from entries
