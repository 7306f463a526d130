"""orderlog's event store: an append-only, hash-chained log of events in streams.

Generic on purpose: it stores typed envelopes of JSON data and knows nothing of orders.
The SQLite backend is imported on first use, so the domain can use the store's records and
errors without loading sqlite3.
"""

from typing import TYPE_CHECKING, Any

from .errors import (
    ConcurrencyConflict,
    CorruptLog,
    DatabaseNotFound,
    ForeignDatabase,
    InvalidAppend,
    OrderlogError,
    SchemaTooNew,
    StoreFileError,
)
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
    StreamState,
    VerifyReport,
)
from .rows import StoredRow
from .store import EventStore
from .upcasting import Upcasters

if TYPE_CHECKING:
    from .sqlite import SQLiteEventStore


def __getattr__(name: str) -> Any:
    if name == "SQLiteEventStore":
        from .sqlite import SQLiteEventStore

        return SQLiteEventStore
    raise AttributeError(f"module 'eventstore' has no attribute {name!r}")


__all__ = [
    "ANY_VERSION",
    "NO_STREAM",
    "AppendResult",
    "ConcurrencyConflict",
    "CorruptLog",
    "DatabaseNotFound",
    "EventStore",
    "ExpectedVersion",
    "ForeignDatabase",
    "HeadDigest",
    "InvalidAppend",
    "NewEvent",
    "OrderlogError",
    "Problem",
    "RecordedEvent",
    "SQLiteEventStore",
    "SchemaTooNew",
    "StoreFileError",
    "StoredRow",
    "StreamAppend",
    "StreamState",
    "Upcasters",
    "VerifyReport",
]
