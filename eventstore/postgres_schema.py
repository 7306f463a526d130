"""The PostgreSQL schema of a log: creating it, recognising it, and migrating older ones forward.

A log lives in one PostgreSQL schema (namespace). Its table `orderlog_schema` carries the same
application id as an orderlog SQLite file's header, and the schema version, so another
application's schema is refused, a newer release migrates an old log forward and an older
release refuses a newer log instead of damaging it. Triggers (enabled ALWAYS, so they fire even
under `session_replication_role = replica`) refuse UPDATE, DELETE and TRUNCATE on events and
the command ledger.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import psycopg

from .errors import CorruptLog, DatabaseNotFound, ForeignDatabase, SchemaTooNew, StoreFileError
from .schema import APPLICATION_ID

MARKER = "orderlog_schema"
"""The table holding the application id and the schema version."""

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

Connection = psycopg.Connection[Any]


def check_schema_name(schema: str) -> str:
    """A plain lower-case SQL identifier (so it needs no quoting anywhere), or `StoreFileError`."""
    if not isinstance(schema, str) or not _NAME.fullmatch(schema):
        raise StoreFileError(
            f"{schema!r} is not a schema name orderlog uses: give lower-case letters, digits and "
            "underscores, starting with a letter or underscore (at most 63)"
        )
    return schema


def lock_key(schema: str) -> tuple[int, int]:
    """The advisory lock that serialises the log's writers (and its migrations): the application
    id and a 32-bit digest of the schema name, so logs in other schemas do not wait on it."""
    digest = hashlib.blake2b(schema.encode(), digest_size=4).digest()
    return APPLICATION_ID, int.from_bytes(digest, "big", signed=True)


_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION orderlog_append_only() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  RAISE EXCEPTION 'orderlog: % is append-only; rows cannot be %', TG_TABLE_NAME,
    CASE TG_OP WHEN 'UPDATE' THEN 'changed' ELSE 'deleted' END;
END
$body$
"""

_POSITIONS_FUNCTION = """
CREATE FUNCTION orderlog_positions() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  IF NEW.position < 1 THEN
    RAISE EXCEPTION 'orderlog: event positions start at 1';
  END IF;
  RETURN NEW;
END
$body$
"""

_TRIGGERS = {
    # name: (table, timing and level, function)
    "events_no_update": ("events", "BEFORE UPDATE", "FOR EACH ROW", "orderlog_append_only"),
    "events_no_delete": ("events", "BEFORE DELETE", "FOR EACH ROW", "orderlog_append_only"),
    "events_no_truncate": (
        "events",
        "BEFORE TRUNCATE",
        "FOR EACH STATEMENT",
        "orderlog_append_only",
    ),
    "events_positions": ("events", "BEFORE INSERT", "FOR EACH ROW", "orderlog_positions"),
    "commands_no_update": ("commands", "BEFORE UPDATE", "FOR EACH ROW", "orderlog_append_only"),
    "commands_no_delete": ("commands", "BEFORE DELETE", "FOR EACH ROW", "orderlog_append_only"),
    "commands_no_truncate": (
        "commands",
        "BEFORE TRUNCATE",
        "FOR EACH STATEMENT",
        "orderlog_append_only",
    ),
}


def _create_v1(conn: Connection) -> None:
    """The events table, the command ledger, and the triggers that make both append-only."""
    conn.execute(
        """CREATE TABLE events (
            position bigint PRIMARY KEY,
            stream_id text NOT NULL,
            stream_version bigint NOT NULL,
            type text NOT NULL,
            schema_version bigint NOT NULL,
            data text NOT NULL,
            metadata text NOT NULL,
            occurred_at text NOT NULL,
            recorded_at text NOT NULL,
            hash text NOT NULL,
            CONSTRAINT events_stream UNIQUE (stream_id, stream_version)
        )"""
    )
    # The ledger only finds a command's events; what they say lives in their metadata.
    conn.execute(
        """CREATE TABLE commands (
            command_id text PRIMARY KEY,
            first_position bigint NOT NULL,
            last_position bigint NOT NULL,
            recorded_at text NOT NULL
        )"""
    )
    conn.execute(_APPEND_ONLY_FUNCTION)
    conn.execute(_POSITIONS_FUNCTION)
    for name, (table, timing, level, function) in _TRIGGERS.items():
        conn.execute(
            f"CREATE TRIGGER {name} {timing} ON {table} {level} EXECUTE FUNCTION {function}()"
        )
        conn.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}")


def _add_mac_v2(conn: Connection) -> None:
    """Each event may carry the shop's MAC (the keyed chain, see `keys`); older rows have none,
    and the append-only triggers keep anyone from adding one later."""
    conn.execute("ALTER TABLE events ADD COLUMN mac text")


MIGRATIONS: list[Callable[[Connection], None]] = [_create_v1, _add_mac_v2]
"""MIGRATIONS[n] takes a log from schema version n to n + 1. Append; never edit."""

SCHEMA_VERSION = len(MIGRATIONS)


def read_marker(conn: Connection, schema: str, name: str) -> int | None:
    """The log's schema version: None when the schema does not exist, 0 when it is empty (ours
    to set up). Raises `ForeignDatabase` if it holds another application's tables, and
    `SchemaTooNew` if a newer orderlog wrote it."""
    row = conn.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    if row is None:
        return None
    relations = {
        r[0]
        for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s AND relkind IN "
            "('r', 'v', 'm', 'p', 'f', 'S')",
            (row[0],),
        )
    }
    if not relations:
        return 0
    if MARKER not in relations:
        raise ForeignDatabase(
            f"the schema {schema} of {name} holds another application's tables, not an orderlog "
            "log; choose another schema (?schema=NAME in the DSN)"
        )
    marker = conn.execute(
        f"SELECT application_id, schema_version FROM {schema}.{MARKER}"
    ).fetchall()
    if len(marker) != 1 or marker[0][0] != APPLICATION_ID:
        raise ForeignDatabase(
            f"the schema {schema} of {name} is marked as another application's, not an orderlog "
            "log; choose another schema (?schema=NAME in the DSN)"
        )
    version = int(marker[0][1])
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the log in schema {schema} of {name} has schema version {version}, newer than this "
            f"orderlog understands ({SCHEMA_VERSION}); upgrade orderlog to use it"
        )
    if version < 1:
        raise CorruptLog(
            f"the log in schema {schema} of {name} says it has schema version {version}, which "
            "its tables contradict (the marker was edited); restore it from a backup"
        )
    return version


def migrate(conn: Connection, schema: str, name: str, *, create: bool) -> int:
    """Create the schema if it is missing (unless not `create`) and bring the log to
    `SCHEMA_VERSION` in one transaction under the log's advisory lock, so two processes opening a
    new log at once are safe: the second finds the work done. Returns the schema version.

    Runs on a connection in autocommit mode whose search_path is `schema`."""
    version = read_marker(conn, schema, name)
    if version == SCHEMA_VERSION:
        return version
    if version is None and not create:
        raise DatabaseNotFound(f"no orderlog log in schema {schema} of {name}")
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", lock_key(schema))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        version = read_marker(conn, schema, name) or 0
        if version:
            problem = schema_problem(conn, schema, version)
            if problem is not None:
                raise CorruptLog(
                    f"the log in schema {schema} of {name} is not what its schema version "
                    f"{version} says ({problem}): restore it from a backup"
                )
        for step in MIGRATIONS[version:]:
            step(conn)
        if version == 0:
            conn.execute(
                f"CREATE TABLE {MARKER} (application_id integer NOT NULL, "
                "schema_version integer NOT NULL)"
            )
            conn.execute(f"INSERT INTO {MARKER} VALUES (%s, %s)", (APPLICATION_ID, SCHEMA_VERSION))
        else:
            conn.execute(f"UPDATE {MARKER} SET schema_version = %s", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


# -- what the schema should be, for verify ---------------------------------------------------------

_EXPECTED_TABLES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "events": (
        ("position", "bigint", True),
        ("stream_id", "text", True),
        ("stream_version", "bigint", True),
        ("type", "text", True),
        ("schema_version", "bigint", True),
        ("data", "text", True),
        ("metadata", "text", True),
        ("occurred_at", "text", True),
        ("recorded_at", "text", True),
        ("hash", "text", True),
        ("mac", "text", False),
    ),
    "commands": (
        ("command_id", "text", True),
        ("first_position", "bigint", True),
        ("last_position", "bigint", True),
        ("recorded_at", "text", True),
    ),
    MARKER: (("application_id", "integer", True), ("schema_version", "integer", True)),
}
_EXPECTED_INDEXES = {
    "events": ((False, True, ("stream_id", "stream_version")), (True, True, ("position",))),
    "commands": ((True, True, ("command_id",)),),
    MARKER: (),
}
_TRIGGER_TYPE = {
    ("BEFORE UPDATE", "FOR EACH ROW"): 1 | 2 | 16,
    ("BEFORE DELETE", "FOR EACH ROW"): 1 | 2 | 8,
    ("BEFORE TRUNCATE", "FOR EACH STATEMENT"): 2 | 32,
    ("BEFORE INSERT", "FOR EACH ROW"): 1 | 2 | 4,
}
_EXPECTED_FUNCTIONS = {
    "orderlog_append_only": _APPEND_ONLY_FUNCTION,
    "orderlog_positions": _POSITIONS_FUNCTION,
}


def _body(source: str) -> str:
    return source.split("$body$")[1]


MAC_SINCE = 2
"""The schema version that added the `mac` column to events."""


def _expected_tables(version: int) -> dict[str, tuple[tuple[str, str, bool], ...]]:
    if version >= MAC_SINCE:
        return _EXPECTED_TABLES
    return {**_EXPECTED_TABLES, "events": _EXPECTED_TABLES["events"][:-1]}


def schema_problem(conn: Connection, schema: str, version: int = SCHEMA_VERSION) -> str | None:
    """How the log's schema differs from the one orderlog creates at `version`, if it does: a
    table missing, altered or replaced by a view, a trigger or rule added, dropped or disabled,
    a trigger function rewritten."""
    kinds = dict(
        conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s)",
            (schema, list(_EXPECTED_TABLES)),
        ).fetchall()
    )
    for table in _EXPECTED_TABLES:
        kind = kinds.get(table)
        if kind is None:
            return f"the table {table} is missing"
        if kind != "r":
            label = {"v": "view", "m": "materialized view", "p": "partitioned table"}
            return f"{table} is a {label.get(kind, 'relation of another kind')}, not a table"
    for table, columns in _expected_tables(version).items():
        problem = _table_problem(conn, schema, table, columns)
        if problem is not None:
            return problem
    return _trigger_problem(conn, schema) or _rule_problem(conn, schema)


def _table_problem(
    conn: Connection, schema: str, table: str, columns: tuple[tuple[str, str, bool], ...]
) -> str | None:
    oid = f"{schema}.{table}"
    have = tuple(
        conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (oid,),
        ).fetchall()
    )
    indexes = tuple(
        sorted(
            (primary, unique, tuple(keys))
            for primary, unique, keys in conn.execute(
                "SELECT i.indisprimary, i.indisunique, array(SELECT a.attname FROM "
                "unnest(i.indkey) WITH ORDINALITY k(attnum, n) JOIN pg_attribute a ON "
                "a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.n) "
                "FROM pg_index i WHERE i.indrelid = %s::regclass",
                (oid,),
            )
        )
    )
    if have != columns or indexes != _EXPECTED_INDEXES[table]:
        return f"the table {table} was altered"
    return None


def _trigger_problem(conn: Connection, schema: str) -> str | None:
    found = {
        name: (table, enabled, kind, function)
        for name, table, enabled, kind, function in conn.execute(
            "SELECT t.tgname, c.relname, t.tgenabled, t.tgtype, p.proname FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_proc p ON p.oid = t.tgfoid WHERE n.nspname = %s AND NOT t.tgisinternal",
            (schema,),
        )
    }
    for name, (table, timing, level, function) in _TRIGGERS.items():
        have = found.get(name)
        if have is None:
            return f"the trigger {name} is missing"
        if have[1] in ("D", "R"):
            return f"the trigger {name} is disabled"
        if have != (table, "A", _TRIGGER_TYPE[timing, level], function):
            return f"the trigger {name} was altered"
    for name, (table, *_) in found.items():
        if name not in _TRIGGERS:
            return f"the trigger {name} on {table} is not orderlog's"
    sources = dict(
        conn.execute(
            "SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n "
            "ON n.oid = p.pronamespace WHERE n.nspname = %s AND p.proname = ANY(%s)",
            (schema, list(_EXPECTED_FUNCTIONS)),
        ).fetchall()
    )
    for function, source in _EXPECTED_FUNCTIONS.items():
        if sources.get(function) != _body(source):
            return f"the trigger function {function} was altered"
    return None


def _rule_problem(conn: Connection, schema: str) -> str | None:
    row = conn.execute(
        "SELECT r.rulename, c.relname FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r' "
        "ORDER BY 1 LIMIT 1",
        (schema,),
    ).fetchone()
    return None if row is None else f"the rule {row[0]} on {row[1]} is not orderlog's"


__all__ = ["MAC_SINCE", "MIGRATIONS", "SCHEMA_VERSION", "check_schema_name", "lock_key", "migrate"]
