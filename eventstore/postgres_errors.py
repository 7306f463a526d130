"""PostgreSQL's errors as the store's typed errors: the one place where a lock timeout, a
serialization failure, a lost connection or a full disk get a name, a code and a message saying
what to do. Importing it loads only psycopg and the store's errors.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pg

from .errors import (
    ConcurrencyConflict,
    CorruptLog,
    DatabaseNotFound,
    DiskFull,
    OrderlogError,
    ReadOnlyLog,
    StorageIOError,
    StoreFileError,
)

_BUSY = (pg.LockNotAvailable, pg.QueryCanceled)
"""A lock not had within `lock_timeout` (or a statement cancelled by `statement_timeout`)."""
_RACE = (pg.SerializationFailure, pg.DeadlockDetected)
_MISSING = (pg.UndefinedTable, pg.UndefinedColumn, pg.UndefinedFunction, pg.WrongObjectType)
_DAMAGED = (pg.DataCorrupted, pg.IndexCorrupted)


def translate(error: psycopg.Error, name: str, busy_timeout: float) -> OrderlogError:
    """The typed error for a psycopg error raised while using the log at `name` (the DSN
    without its password)."""
    text = " ".join(str(error).split())
    if isinstance(error, _BUSY):
        return ConcurrencyConflict(
            f"the log was busy: another writer held it for more than {busy_timeout:g}s; "
            "nothing was written; retry"
        )
    if isinstance(error, _RACE):
        return ConcurrencyConflict(
            f"another transaction on {name} got in the way ({text}); nothing was written; retry"
        )
    if isinstance(error, pg.UniqueViolation):
        # Under the write lock only a writer that bypasses orderlog can get here.
        return ConcurrencyConflict(
            f"another writer recorded the same position, stream version or command id ({text})"
        )
    if isinstance(error, pg.DiskFull | pg.OutOfMemory | pg.ProgramLimitExceeded):
        return DiskFull(
            f"the PostgreSQL server holding {name} is out of space ({text}): nothing was "
            "written; free some space and retry"
        )
    if isinstance(error, pg.ReadOnlySqlTransaction | pg.InsufficientPrivilege):
        return ReadOnlyLog(
            f"{name} cannot be written with this connection ({text}): the role lacks the "
            "privilege or the session is read-only; connect as a role that may append"
        )
    if isinstance(error, pg.InvalidCatalogName):
        return DatabaseNotFound(f"no PostgreSQL database for {name} ({text})")
    if isinstance(error, _DAMAGED):
        return CorruptLog(
            f"{name} is damaged ({text}): restore it from a backup; `orderlog verify` shows how "
            "far it still reads"
        )
    if isinstance(error, _MISSING):
        return CorruptLog(
            f"{name} does not have the tables orderlog expects ({text}): it was altered outside "
            "orderlog; run `orderlog verify`"
        )
    if isinstance(error, pg.RaiseException) and "orderlog:" in text:
        return CorruptLog(f"{name} refused a change to its log ({text})")
    if isinstance(error, psycopg.OperationalError):
        return StorageIOError(
            f"the PostgreSQL server for {name} cannot be reached or dropped the connection "
            f"({text}); check that it runs and that the DSN is right; a write in progress was "
            "rolled back"
        )
    if isinstance(error, psycopg.InterfaceError) and "closed" in text:
        return StoreFileError(f"the log at {name} was closed; open it again")
    state = getattr(error, "sqlstate", None) or type(error).__name__
    return StoreFileError(f"PostgreSQL failed on {name} ({state}: {text})")
