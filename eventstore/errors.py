"""The root of every error orderlog raises, and the errors of the event store.

The root lives here because the store is the bottom layer: `lifecycle` and `projections` build on
it, never the other way round. Every error carries a stable `code` (see SPEC.md) for scripts.
"""

from __future__ import annotations

from typing import ClassVar


class OrderlogError(Exception):
    """Base of all orderlog errors: a stable machine-readable `code` and a readable message."""

    code: ClassVar[str] = "orderlog_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, str]:
        """The error as SPEC.md's JSON shape: `{"code": ..., "message": ...}`."""
        return {"code": self.code, "message": self.message}


class ConcurrencyConflict(OrderlogError, RuntimeError):
    """Another writer changed the stream first (or held the log too long); nothing was written."""

    code = "concurrency_conflict"

    def __init__(self, message: str, *, stream_id: str | None = None) -> None:
        super().__init__(message)
        self.stream_id = stream_id


class InvalidAppend(OrderlogError, ValueError):
    """An append the store cannot record as given (empty, naive time, a float in the data...)."""

    code = "invalid_append"


class StoreFileError(OrderlogError, OSError):
    """The database file cannot be used as an orderlog event log."""

    code = "store_file_error"


class DatabaseNotFound(StoreFileError, FileNotFoundError):
    """The database file does not exist and the caller asked not to create it."""

    code = "database_not_found"


class ForeignDatabase(StoreFileError):
    """The file is not an orderlog database (another application's SQLite file, or not SQLite)."""

    code = "foreign_database"


class CorruptLog(StoreFileError):
    """The file is damaged or contradicts itself (truncated, garbled, a ledger entry that does
    not match its events, tables altered): it was changed outside orderlog. `orderlog verify`
    names the first problem."""

    code = "corrupt_log"

    @classmethod
    def at(cls, position: int, event_type: str, why: str) -> CorruptLog:
        """The error for a hash-valid event a reader cannot decode or fold: forged, or written
        outside orderlog. Names its position and the command that finds the first problem."""
        return cls(
            f"event {position} ({event_type}) cannot be read ({why}): the log was altered "
            "outside orderlog; run `orderlog verify`"
        )


class SchemaTooNew(StoreFileError):
    """The file was written by a newer orderlog; this release refuses to touch it."""

    code = "schema_too_new"


class DiskFull(StoreFileError):
    """The disk (or the file's size limit) is full: the append was rolled back, nothing lost."""

    code = "disk_full"


class ReadOnlyLog(StoreFileError):
    """The file, its folder or the medium is read-only, so the log cannot be written."""

    code = "log_read_only"


class StorageIOError(StoreFileError):
    """The operating system reported an I/O error reading or writing the file."""

    code = "storage_io_error"


class WalMissing(StoreFileError):
    """The file's write-ahead log (`-wal`) was deleted while it may still have held commits."""

    code = "wal_missing"
