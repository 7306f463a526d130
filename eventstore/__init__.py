"""orderlog's event store: an append-only, hash-chained log of events in streams.

Generic on purpose: it stores typed envelopes of JSON data and knows nothing of orders.
"""

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
from .sqlite import SQLiteEventStore
from .store import EventStore
from .upcasting import Upcasters

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
