"""Which log a separate read database was built from, so that `project --into F` never mixes
two logs in one file: F remembers the hash of its log's first event, and is refused by any
other log (`ForeignDatabase`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from eventstore import EventStore, ForeignDatabase
from eventstore.codec import format_time, human_time, parse_iso_time

from .replay import open_read_db, read_db_errors

TABLE = "source_log"


def first_hash(store: EventStore) -> str | None:
    """The hash of the log's first event: it names the log (None while the log is empty)."""
    first = next(store.read_rows(1, to_position=1), None)
    return None if first is None else first.hash


def claim_source(
    path: Path, store: EventStore, *, rebuilt: bool = False, as_of: datetime | None = None
) -> None:
    """Check that the read database at `path` was built from `store`'s log, and record that
    log the first time (or, with `rebuilt`, for a file about to be rebuilt from scratch, as of
    `as_of` for a past view). A past view is never caught up (`project` refuses it): the
    events it passed over would never be applied."""
    identity = first_hash(store)
    conn = open_read_db(path)
    try:
        with read_db_errors(path):
            _ensure_table(conn)
            row = conn.execute(f"SELECT first_event_hash, as_of FROM {TABLE}").fetchone()
            if row is not None and not rebuilt:
                _check_claim(path, row, identity)
            if identity is not None and (row is None or rebuilt):
                moment = None if as_of is None else format_time(as_of)
                conn.execute(f"DELETE FROM {TABLE}")
                conn.execute(
                    f"INSERT INTO {TABLE} (first_event_hash, as_of) VALUES (?, ?)",
                    (identity, moment),
                )
    finally:
        conn.close()


def _ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (first_event_hash TEXT NOT NULL, as_of TEXT)")
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({TABLE})")}
    if "as_of" not in columns:  # a file from before past views were recorded
        conn.execute(f"ALTER TABLE {TABLE} ADD COLUMN as_of TEXT")


def _check_claim(path: Path, row: tuple[str, str | None], identity: str | None) -> None:
    if row[0] != identity:
        raise ForeignDatabase(
            f"{path} holds read models of another log (its first event is not this "
            "log's); give a new file, or rebuild it with `orderlog replay --into`"
        )
    if row[1] is not None:
        raise ForeignDatabase(
            f"{path} is a past view of the log (as of {human_time(parse_iso_time(row[1]))}) "
            "and cannot be caught up; give a new file, or rebuild it with `orderlog replay "
            "--into`"
        )


def recorded_source(conn: sqlite3.Connection) -> tuple[str | None, datetime | None]:
    """The log a read-model file was built from (its first event's hash; None if the file
    does not say) and, for a past view, the moment it shows."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if TABLE not in tables:
        return None, None
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({TABLE})")}
    moment = "as_of" if "as_of" in columns else "NULL"
    row = conn.execute(f"SELECT first_event_hash, {moment} FROM {TABLE}").fetchone()
    if row is None:
        return None, None
    return row[0], None if row[1] is None else parse_iso_time(row[1])


def settle(path: Path) -> None:
    """A finished rebuild as one self-contained file: out of WAL mode, so it is copied as one
    file and opens anywhere (sqlite-utils, Datasette, read-only media). Best effort: a file
    another process is reading stays in WAL mode, which is just as correct."""
    try:
        conn = sqlite3.connect(path, timeout=0)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
    except sqlite3.Error:
        return
