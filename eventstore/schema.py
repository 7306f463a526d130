"""The SQLite file's schema: creating it, recognising it, and migrating older files forward.

The file header carries an application id (so another program's SQLite file is refused) and a
schema version in `user_version` (so a newer release can migrate an old file and an older release
refuses a newer file instead of damaging it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlite_utils

from .errors import ForeignDatabase, SchemaTooNew

APPLICATION_ID = 0x4F52444C  # "ORDL"
"""Written into the SQLite header of every orderlog file."""

EVENTS = "events"
COMMANDS = "commands"

_APPEND_ONLY = """
CREATE TRIGGER IF NOT EXISTS {table}_no_{name} BEFORE {verb} ON {table}
BEGIN SELECT RAISE(ABORT, 'orderlog: {table} is append-only; rows cannot be {done}'); END
"""


_POSITIONS = """
CREATE TRIGGER IF NOT EXISTS events_positions BEFORE INSERT ON events
WHEN NEW.position < 1
BEGIN SELECT RAISE(ABORT, 'orderlog: event positions start at 1'); END
"""


def _create_v1(db: sqlite_utils.Database) -> None:
    """The events table, the command ledger, and the triggers that make both append-only."""
    db.table(EVENTS).create(
        {
            "position": int,
            "stream_id": str,
            "stream_version": int,
            "type": str,
            "schema_version": int,
            "data": str,
            "metadata": str,
            "occurred_at": str,
            "recorded_at": str,
            "hash": str,
        },
        pk="position",
        not_null={
            "stream_id",
            "stream_version",
            "type",
            "schema_version",
            "data",
            "metadata",
            "occurred_at",
            "recorded_at",
            "hash",
        },
        strict=True,
    )
    # UNIQUE(stream, version) turns a lost race into an IntegrityError, and serves stream reads.
    db.table(EVENTS).create_index(
        ["stream_id", "stream_version"], unique=True, index_name="events_stream"
    )
    # The ledger only finds a command's events; what they say (their `command_id` and the
    # stored outcome) lives in their metadata, inside the hash chain.
    db.table(COMMANDS).create(
        {"command_id": str, "first_position": int, "last_position": int, "recorded_at": str},
        pk="command_id",
        not_null={"first_position", "last_position", "recorded_at"},
        strict=True,
    )
    # One statement at a time: executescript() would commit the open transaction first.
    for table in (EVENTS, COMMANDS):
        for verb, done in (("UPDATE", "changed"), ("DELETE", "deleted")):
            sql = _APPEND_ONLY.format(table=table, name=verb.lower(), verb=verb, done=done)
            db.conn.execute(sql)
    db.conn.execute(_POSITIONS)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_create_v1]
"""MIGRATIONS[n] takes a file from schema version n to n + 1. Append; never edit."""

SCHEMA_VERSION = len(MIGRATIONS)


def read_header(conn: sqlite3.Connection, name: str) -> tuple[int, int]:
    """The file's (application id, schema version); raises `ForeignDatabase` if not SQLite."""
    try:
        application_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        table_count = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise ForeignDatabase(f"{name} is not an orderlog database ({error})") from error
    if application_id == 0 and table_count == 0:
        return APPLICATION_ID, 0  # a new, empty file: ours to set up
    if application_id != APPLICATION_ID:
        raise ForeignDatabase(
            f"{name} is a SQLite database of another application, not an orderlog log; "
            "pass the path of an orderlog file"
        )
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"{name} has schema version {version}, newer than this orderlog understands "
            f"({SCHEMA_VERSION}); upgrade orderlog to read it"
        )
    return application_id, version


def migrate(conn: sqlite3.Connection, name: str) -> None:
    """Bring the file to `SCHEMA_VERSION`, one migration at a time, under the write lock.

    Two processes opening a new file at once is safe: the second finds the work done.
    """
    _, version = read_header(conn, name)
    if version == SCHEMA_VERSION:
        return
    db = sqlite_utils.Database(conn, execute_plugins=False)
    conn.execute("BEGIN IMMEDIATE")
    try:
        _, version = read_header(conn, name)
        for step in MIGRATIONS[version:]:
            step(db)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
