"""A read-model file (built by `orderlog replay --into` or `project --into`) opened for reading:
on its own for the questions read models answer alone (`status`, `refunds`, `orders`, `returns`,
`declines --read-models FILE`), or beside its log (`--db`), which it must come from.

The file is read as it is, never caught up: it may be a past view (`replay --as-of`), and it may
sit on read-only media. A past view answers as of its own moment unless told another.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventstore import DatabaseNotFound, EventStore, ForeignDatabase
from eventstore.schema import APPLICATION_ID
from eventstore.sqlite import open_read_only, remove_empty_side_files

from .app import READ_MODELS
from .framework import CHECKPOINTS, READ_MODEL_ID, ClosedOnExit, lowest_checkpoint
from .listing import Filters, list_declines, list_orders, list_returns, with_totals
from .provenance import first_hash, recorded_source
from .refunds import refunds_report
from .replay import read_db_errors
from .status import StatusReport, status_report


def open_read_models(path: Path, log: EventStore | None = None) -> sqlite3.Connection:
    """A read-only connection to the read-model file at `path`; with `log`, only if the file
    was built from that log. Raises `DatabaseNotFound`, `ForeignDatabase` (an event log, a file
    of another application, or read models of another log) and the typed errors of SQLite."""
    if not path.is_file():
        raise DatabaseNotFound(
            f"no read-model file at {path}; build one with `orderlog replay --into {path}`"
        )
    errors = read_db_errors(path)
    with errors:
        conn = open_read_only(str(path), errors.busy_timeout)
    try:
        with errors:
            _check(conn, path, log)
    except BaseException:
        conn.close()
        raise
    return conn


def _check(conn: sqlite3.Connection, path: Path, log: EventStore | None) -> None:
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if application_id == APPLICATION_ID:
        raise ForeignDatabase(
            f"{path} is an orderlog event log, not a read-model file: give it as --db"
        )
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if application_id != READ_MODEL_ID or CHECKPOINTS not in tables:
        raise ForeignDatabase(
            f"{path} is not a read-model file of orderlog; build one with `orderlog replay "
            "--into FILE`"
        )
    if log is not None and recorded_source(conn)[0] != first_hash(log):
        raise ForeignDatabase(
            f"{path} holds read models of another log than {getattr(log, 'path', 'this one')} "
            "(its first event is not this log's); give the file built from this log"
        )


class ReadModelFile(ClosedOnExit):
    """The answers of a read-model file alone, as `Orderlog` gives them from a log."""

    def __init__(self, path: str | Path, log: EventStore | None = None) -> None:
        """Open the file (refused unless built from `log`, when given)."""
        self.path = Path(path)
        self._tidy = not (Path(f"{path}-wal").exists() or Path(f"{path}-shm").exists())
        self.conn = open_read_models(self.path, log)
        with read_db_errors(self.path):
            self.as_of = recorded_source(self.conn)[1]
            self.position = lowest_checkpoint(self.conn, READ_MODELS)

    def close(self) -> None:
        self.conn.close()
        if self._tidy:
            self._tidy = False
            remove_empty_side_files(str(self.path))

    def _moment(self, as_of: datetime | None) -> datetime:
        """The moment asked about: given, else the file's own (a past view), else now."""
        return as_of or self.as_of or datetime.now(UTC)

    def status(self, order_id: str) -> StatusReport:
        """The order's status as the file holds it; raises `UnknownOrder`."""
        with read_db_errors(self.path):
            return status_report(self.conn, order_id, self._moment(None))

    def refunds(self, as_of: datetime | None = None) -> dict[str, Any]:
        moment = self._moment(as_of)
        with read_db_errors(self.path):
            return with_totals(refunds_report(self.conn, moment), moment)

    def orders(
        self, filters: Filters | None = None, as_of: datetime | None = None
    ) -> list[dict[str, Any]]:
        with read_db_errors(self.path):
            return list_orders(self.conn, filters or Filters(), self._moment(as_of))

    def returns(
        self, filters: Filters | None = None, as_of: datetime | None = None
    ) -> list[dict[str, Any]]:
        with read_db_errors(self.path):
            return list_returns(self.conn, filters or Filters(), self._moment(as_of))

    def declines(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        with read_db_errors(self.path):
            return list_declines(self.conn, filters or Filters())
