"""SQLite's errors as the store's typed errors: the one place where "database is locked", a full
disk, a read-only file or a damaged page get a name, a code and a message saying what to do.

Importing it loads only `sqlite3` and the store's errors, so other SQLite users in orderlog (the
read models) share the same translation: `with StorageErrors(path, timeout): ...`.
"""

from __future__ import annotations

import sqlite3
from types import TracebackType

from .errors import (
    ConcurrencyConflict,
    CorruptLog,
    DiskFull,
    OrderlogError,
    ReadOnlyLog,
    StorageIOError,
    StoreFileError,
)

_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_IO = {sqlite3.SQLITE_IOERR, sqlite3.SQLITE_PERM, sqlite3.SQLITE_NOLFS, sqlite3.SQLITE_AUTH}


def translate(error: sqlite3.Error, name: str, busy_timeout: float) -> OrderlogError:
    """The typed error for a SQLite error raised while using the log (or read models) at `name`."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    text = str(error)
    if primary in _BUSY:
        return ConcurrencyConflict(
            f"the log was busy: another writer held it for more than {busy_timeout:g}s; "
            "nothing was written; retry"
        )
    if primary == sqlite3.SQLITE_FULL:
        return DiskFull(
            f"the disk holding {name} is full (or the file reached its size limit): nothing was "
            "written; free some space and retry"
        )
    if primary == sqlite3.SQLITE_READONLY:
        return ReadOnlyLog(
            f"{name} cannot be written: the file, its folder or its disk is read-only; open it "
            "read-only to read it, or copy it somewhere writable"
        )
    if primary in _DAMAGED:
        return CorruptLog(
            f"{name} is damaged ({text}): restore it from a backup; `orderlog verify` shows how "
            "far it still reads"
        )
    if primary == sqlite3.SQLITE_CANTOPEN:
        return StorageIOError(
            f"{name} cannot be opened ({text}): check that it is a file you may read and write "
            "and that its folder exists"
        )
    if primary in _IO:
        return StorageIOError(
            f"the disk reported an I/O error on {name} ({text}): check the disk and the file's "
            "permissions; nothing was written"
        )
    if primary == sqlite3.SQLITE_CONSTRAINT:
        # Under the write lock only a writer that bypasses orderlog can get here.
        return ConcurrencyConflict(
            f"another writer recorded the same stream version or command id ({text})"
        )
    if primary == sqlite3.SQLITE_ERROR:
        return CorruptLog(
            f"{name} does not have the tables orderlog expects ({text}): it was altered outside "
            "orderlog; run `orderlog verify`"
        )
    if isinstance(error, sqlite3.ProgrammingError) and "closed" in text:
        return StoreFileError(f"the log at {name} was closed; open it again")
    name_of_code = getattr(error, "sqlite_errorname", type(error).__name__)
    return StoreFileError(f"SQLite failed on {name} ({name_of_code}: {text})")


def is_busy(error: sqlite3.Error) -> bool:
    """Whether SQLite gave up waiting for a lock."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _BUSY


class StorageErrors:
    """A block inside which every `sqlite3` error becomes the store's typed error (`translate`),
    raised `from` the original. Reusable and cheap: no generator behind it."""

    __slots__ = ("busy_timeout", "name")

    def __init__(self, name: str, busy_timeout: float) -> None:
        self.name = name
        self.busy_timeout = busy_timeout

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if isinstance(error, sqlite3.Error):
            raise translate(error, self.name, self.busy_timeout) from error
