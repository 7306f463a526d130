"""Open the log a target names: a `postgresql://` (or `postgres://`) DSN is a PostgreSQL log,
anything else a SQLite file. psycopg is imported only when a PostgreSQL log is opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .store import EventStore

SCHEMES = ("postgresql://", "postgres://")


def is_postgres_dsn(target: object) -> bool:
    """Whether `target` names a PostgreSQL log (a `postgresql://` or `postgres://` URL)."""
    return isinstance(target, str) and target.startswith(SCHEMES)


def open_log(target: str | Path, **options: Any) -> EventStore:
    """The store for `target`, opened with `options` (`create`, `busy_timeout`, `read_only`,
    `upcasters`, `clock`: those both backends take)."""
    if is_postgres_dsn(target):
        from .postgres import PostgresEventStore

        return PostgresEventStore(str(target), **options)
    from .sqlite import SQLiteEventStore

    return SQLiteEventStore(target, **options)


def describe_target(target: str | Path) -> str:
    """How messages name a target: a file's path, or a DSN without its password."""
    if is_postgres_dsn(target):
        from .postgres import display_name, split_dsn

        return display_name(*split_dsn(str(target)))
    return str(target)
