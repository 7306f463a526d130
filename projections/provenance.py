"""Which log a separate read database was built from, so that `project --into F` never mixes
two logs in one file: F remembers the hash of its log's first event, and is refused by any
other log (`ForeignDatabase`)."""

from __future__ import annotations

from pathlib import Path

from eventstore import EventStore, ForeignDatabase

from .replay import open_read_db, read_db_errors

TABLE = "source_log"


def first_hash(store: EventStore) -> str | None:
    """The hash of the log's first event: it names the log (None while the log is empty)."""
    first = next(store.read_rows(1, to_position=1), None)
    return None if first is None else first.hash


def claim_source(path: Path, store: EventStore, *, rebuilt: bool = False) -> None:
    """Check that the read database at `path` was built from `store`'s log, and record that
    log the first time (or, with `rebuilt`, for a file about to be rebuilt from scratch)."""
    identity = first_hash(store)
    conn = open_read_db(path)
    try:
        with read_db_errors(path):
            conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (first_event_hash TEXT NOT NULL)")
            row = conn.execute(f"SELECT first_event_hash FROM {TABLE}").fetchone()
            if row is not None and row[0] != identity and not rebuilt:
                raise ForeignDatabase(
                    f"{path} holds read models of another log (its first event is not this "
                    "log's); give a new file, or rebuild it with `orderlog replay --into`"
                )
            if identity is not None and (row is None or rebuilt):
                conn.execute(f"DELETE FROM {TABLE}")
                conn.execute(f"INSERT INTO {TABLE} (first_event_hash) VALUES (?)", (identity,))
    finally:
        conn.close()
