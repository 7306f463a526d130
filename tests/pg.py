"""The PostgreSQL the tests use: `ORDERLOG_TEST_POSTGRES` names it (CI sets it); without it every
PostgreSQL test is skipped, saying so. Each test gets a schema of its own and drops it after."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

DSN_VARIABLE = "ORDERLOG_TEST_POSTGRES"
DSN = os.environ.get(DSN_VARIABLE, "")

needs_postgres = pytest.mark.skipif(
    not DSN,
    reason=f"{DSN_VARIABLE} is not set: the PostgreSQL tests need a server, e.g. "
    f"{DSN_VARIABLE}=postgresql://postgres@127.0.0.1:5432/test",
)
"""Mark a test (or a module, as `pytestmark`) that needs the PostgreSQL server."""


def with_schema(dsn: str, schema: str) -> str:
    """The DSN of the log in `schema` (orderlog reads `?schema=` itself)."""
    return f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@contextmanager
def fresh_schema(prefix: str = "t") -> Iterator[str]:
    """A schema name nobody uses yet (created by whoever opens a log in it); dropped after."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        drop_schema(schema)
