"""The SQLite file's schema: creating it, recognising it, and migrating older files forward.

The file header carries an application id (so another program's SQLite file is refused) and a
schema version in `user_version` (so a newer release can migrate an old file and an older release
refuses a newer file instead of damaging it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import sqlite_utils

from .errors import CorruptLog, ForeignDatabase, SchemaTooNew

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


# REPLACE deletes the row it replaces without firing DELETE triggers (unless recursive_triggers
# is on), so refuse any insert whose key is taken before the conflict is resolved at all.
_NO_REPLACE = """
CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table}
WHEN {taken}
BEGIN SELECT RAISE(ABORT, 'orderlog: {table} is append-only; rows cannot be replaced'); END
"""

_TAKEN = {
    EVENTS: "EXISTS (SELECT 1 FROM events WHERE position = NEW.position) "
    "OR EXISTS (SELECT 1 FROM events "
    "WHERE stream_id = NEW.stream_id AND stream_version = NEW.stream_version)",
    COMMANDS: "EXISTS (SELECT 1 FROM commands WHERE command_id = NEW.command_id)",
}


def _refuse_replace_v2(db: sqlite_utils.Database) -> None:
    """INSERT OR REPLACE and REPLACE INTO are refused on events and the ledger."""
    for table, taken in _TAKEN.items():
        db.conn.execute(_NO_REPLACE.format(table=table, taken=taken))


def _add_mac_v3(db: sqlite_utils.Database) -> None:
    """Each event may carry the shop's MAC (the keyed chain, see `keys`); older rows have none,
    and the append-only triggers keep anyone from adding one later."""
    db.conn.execute(f"ALTER TABLE {EVENTS} ADD COLUMN mac TEXT")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _create_v1,
    _refuse_replace_v2,
    _add_mac_v3,
]
"""MIGRATIONS[n] takes a file from schema version n to n + 1. Append; never edit."""

SCHEMA_VERSION = len(MIGRATIONS)


SQLITE_MAGIC = b"SQLite format 3\x00"


def read_header(conn: sqlite3.Connection, name: str) -> tuple[int, int]:
    """The file's (application id, schema version). Raises `ForeignDatabase` if it is not an
    orderlog file, `CorruptLog` if it is a damaged one (or its header was edited), and
    `SchemaTooNew` if a newer orderlog wrote it."""
    try:
        # One snapshot: another process may create the schema between two separate reads.
        opened = not conn.in_transaction
        if opened:
            conn.execute("BEGIN")
        try:
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            table_count = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            if opened and conn.in_transaction:
                conn.execute("ROLLBACK")
    except sqlite3.DatabaseError as error:
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        if code not in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
            raise  # busy, I/O...: not a verdict on the file
        if _looks_like_sqlite(name):
            raise CorruptLog(
                f"{name} is a damaged SQLite file ({error}): if it is an orderlog log, restore "
                "it from a backup"
            ) from error
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
    if version == 0:
        raise _edited_version(conn, name, version)
    return application_id, version


def _looks_like_sqlite(name: str) -> bool:
    """Whether a file SQLite cannot read was a SQLite file, or an orderlog log even with its
    header garbled (our application id, or our triggers' text in the schema near the start)."""
    try:
        with open(name, "rb") as file:
            start = file.read(65536)
    except OSError:
        return False
    return (
        start.startswith(SQLITE_MAGIC)
        or start[68:72] == APPLICATION_ID.to_bytes(4, "big")
        or b"orderlog: events is append-only" in start
    )


def _edited_version(conn: sqlite3.Connection, name: str, version: int) -> CorruptLog:
    """The error for a file whose `user_version` does not match its tables."""
    actual = describe(conn)
    matches = [v for v in range(1, SCHEMA_VERSION + 1) if expected_schema(v) == actual]
    hint = (
        f"its tables are those of schema version {matches[-1]}: set it back with "
        f"`PRAGMA user_version = {matches[-1]}`, or restore the file from a backup"
        if matches
        else "restore the file from a backup"
    )
    return CorruptLog(
        f"{name} says it has schema version {version}, which its tables contradict (the header "
        f"was edited): {hint}"
    )


def migrate(conn: sqlite3.Connection, name: str) -> None:
    """Bring the file to `SCHEMA_VERSION`, one migration at a time, under the write lock.

    Two processes opening a new file at once is safe: the second finds the work done. Raises
    `CorruptLog` if the file's tables are not those its schema version says.
    """
    _, version = read_header(conn, name)
    if version == SCHEMA_VERSION:
        return
    db = sqlite_utils.Database(conn, execute_plugins=False)
    conn.execute("BEGIN IMMEDIATE")
    try:
        _, version = read_header(conn, name)
        if version and schema_problem(conn, version) is not None:
            raise _edited_version(conn, name, version)
        for step in MIGRATIONS[version:]:
            step(db)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


# -- what the schema should be, for verify ---------------------------------------------------------

Description = tuple[Any, ...]
_EXPECTED: dict[int, dict[str, Description]] = {}


def describe(conn: sqlite3.Connection) -> dict[str, Description]:
    """The log's own schema objects (tables, their columns and indexes, triggers, views) by name,
    in a form that compares equal between two files with the same schema."""
    found: dict[str, Description] = {}
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM main.sqlite_master "
        "WHERE type != 'index' AND (tbl_name IN (?, ?) OR name IN (?, ?))",
        (EVENTS, COMMANDS, EVENTS, COMMANDS),
    ).fetchall()
    for kind, name, table, sql in rows:
        if kind == "table":
            found[name] = ("table", *_table_shape(conn, name))
        elif kind == "trigger":
            found[name] = ("trigger", table, " ".join(str(sql).split()))
        else:
            found[name] = (kind, table)
    return found


def _table_shape(conn: sqlite3.Connection, table: str) -> Description:
    columns = tuple(
        conn.execute('SELECT name, type, "notnull", pk FROM pragma_table_xinfo(?)', (table,))
    )
    strict = conn.execute("SELECT strict FROM pragma_table_list(?)", (table,)).fetchone()
    indexes = []
    for index, unique, origin, partial in conn.execute(
        'SELECT name, "unique", origin, partial FROM pragma_index_list(?) ORDER BY name', (table,)
    ).fetchall():
        keys = tuple(
            row[0] for row in conn.execute("SELECT name FROM pragma_index_info(?)", (index,))
        )
        label = index if origin == "c" else origin  # autoindex names differ between files
        indexes.append((label, unique, partial, keys))
    return columns, strict, tuple(sorted(indexes, key=repr))


def expected_schema(version: int) -> dict[str, Description]:
    """What `describe` gives for a file created at `version` (built once per process)."""
    if version not in _EXPECTED:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        try:
            db = sqlite_utils.Database(conn, execute_plugins=False)
            for step in MIGRATIONS[:version]:
                step(db)
            _EXPECTED[version] = describe(conn)
        finally:
            conn.close()
    return _EXPECTED[version]


def schema_problem(conn: sqlite3.Connection, version: int) -> str | None:
    """How the file's schema differs from the one orderlog creates at `version`, if it does."""
    expected, actual = expected_schema(version), describe(conn)
    for name, want in expected.items():
        have = actual.get(name)
        if have is None:
            return f"the {want[0]} {name} is missing"
        if have[0] != want[0]:
            return f"{name} is a {have[0]}, not a {want[0]}"
        if have != want:
            return f"the {want[0]} {name} was altered"
    for name, have in actual.items():
        if name not in expected:
            return f"the {have[0]} {name} on {have[1]} is not orderlog's"
    return None
