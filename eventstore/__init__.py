"""orderlog's event store: an append-only, hash-chained log of events in streams.

Generic on purpose: it stores typed envelopes of JSON data and knows nothing of orders.
Every name is loaded on first use (PEP 562), so `import eventstore.errors` (the error root the
domain needs) loads that module alone, and nothing here loads sqlite3 until a store is opened.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import (
        ConcurrencyConflict,
        CorruptLog,
        DatabaseNotFound,
        DiskFull,
        ForeignDatabase,
        InvalidAppend,
        OrderlogError,
        ReadOnlyLog,
        SchemaTooNew,
        StorageIOError,
        StoreFileError,
        WalMissing,
    )
    from .keys import ChainKey, InvalidKey, WrongKey
    from .memory import InMemoryEventStore, MemoryDatabase
    from .opening import open_log
    from .postgres import PostgresEventStore  # noqa: F401  (not in __all__: see _HOMES)
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
    from .sqlite_errors import StorageErrors
    from .store import EventStore, PreparedAppend
    from .upcasting import Upcasters

_HOMES = {
    "errors": (
        "ConcurrencyConflict",
        "CorruptLog",
        "DatabaseNotFound",
        "DiskFull",
        "ForeignDatabase",
        "InvalidAppend",
        "OrderlogError",
        "ReadOnlyLog",
        "SchemaTooNew",
        "StorageIOError",
        "StoreFileError",
        "WalMissing",
    ),
    "keys": ("ChainKey", "InvalidKey", "WrongKey"),
    "memory": ("InMemoryEventStore", "MemoryDatabase"),
    "opening": ("open_log",),
    # Not in __all__: it needs the `postgres` extra (psycopg), which a star import must not.
    "postgres": ("PostgresEventStore",),
    "records": (
        "ANY_VERSION",
        "NO_STREAM",
        "AppendResult",
        "ExpectedVersion",
        "HeadDigest",
        "NewEvent",
        "Problem",
        "RecordedEvent",
        "StreamAppend",
        "StreamState",
        "VerifyReport",
    ),
    "rows": ("StoredRow",),
    "sqlite": ("SQLiteEventStore",),
    "sqlite_errors": ("StorageErrors",),
    "store": ("EventStore", "PreparedAppend"),
    "upcasting": ("Upcasters",),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'eventstore' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])


__all__ = [
    "ANY_VERSION",
    "NO_STREAM",
    "AppendResult",
    "ChainKey",
    "ConcurrencyConflict",
    "CorruptLog",
    "DatabaseNotFound",
    "DiskFull",
    "EventStore",
    "ExpectedVersion",
    "ForeignDatabase",
    "HeadDigest",
    "InMemoryEventStore",
    "InvalidAppend",
    "InvalidKey",
    "MemoryDatabase",
    "NewEvent",
    "OrderlogError",
    "PreparedAppend",
    "Problem",
    "ReadOnlyLog",
    "RecordedEvent",
    "SQLiteEventStore",
    "SchemaTooNew",
    "StorageErrors",
    "StorageIOError",
    "StoreFileError",
    "StoredRow",
    "StreamAppend",
    "StreamState",
    "Upcasters",
    "VerifyReport",
    "WalMissing",
    "WrongKey",
    "open_log",
]
