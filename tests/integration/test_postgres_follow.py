"""Followers of a PostgreSQL log: `project --follow` wakes on LISTEN/NOTIFY at once, and falls
back to polling when it cannot listen; its read models (a local SQLite file) and checkpoints
match a replay."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from eventstore.postgres import PostgresEventStore
from projections.app import Orderlog
from projections.framework import fetch_dicts
from projections.replay import follow_into
from tests.integration.workloads import journey
from tests.pg import DSN, fresh_schema, needs_postgres, with_schema

pytestmark = needs_postgres


def _follow_until(dsn: str, into: Path, position: int, interval: float, seen: list[Any]) -> None:
    """Follow the log into `into` until the read models reach `position` (or 60 s pass)."""
    store = PostgresEventStore(dsn, read_only=True)
    deadline = time.monotonic() + 60
    try:
        for applied, checkpoint in follow_into(store, into, follow=True, interval=interval):
            seen.append((time.monotonic(), applied, checkpoint))
            if checkpoint >= position or time.monotonic() > deadline:
                return
    finally:
        store.close()


@pytest.mark.parametrize("listening", [True, False])
def test_a_follower_applies_new_commits_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listening: bool
) -> None:
    if not listening:  # the server cannot be listened to: it polls every interval instead
        monkeypatch.setattr(PostgresEventStore, "listen", lambda self: False)
    interval = 30.0 if listening else 0.05  # a notification must wake it well before 30 s
    with Orderlog(tmp_path / "count.db") as counting:  # how many events the journey writes
        for command in journey("o1"):
            counting.handle(command)
        total = counting.store.head().position
    with fresh_schema() as schema:
        dsn = with_schema(DSN, schema)
        with Orderlog(dsn) as log:
            log.handle(journey("o1")[0])
            head = log.store.head().position
            seen: list[Any] = []
            into = tmp_path / "read.db"
            follower = threading.Thread(
                target=_follow_until, args=(dsn, into, total, interval, seen)
            )
            follower.start()
            while not seen:
                time.sleep(0.01)
            assert seen[0][2] == head
            written = time.monotonic()
            for command in journey("o1")[1:]:
                assert log.handle(command).events  # the last is a decline, written too
            final = log.store.head().position
            follower.join(timeout=20)
            assert not follower.is_alive(), "the follower was not woken by the commits"
            assert seen[-1][2] == final == total
            assert seen[-1][0] - written < 10
            expected = fetch_dicts(log.read_models(), "SELECT * FROM orders")
        conn = sqlite3.connect(into)
        try:
            assert fetch_dicts(conn, "SELECT * FROM orders") == expected
        finally:
            conn.close()


def test_a_follower_keeps_checkpoints_beside_its_read_models(tmp_path: Path) -> None:
    from projections.app import READ_MODELS
    from projections.framework import lowest_checkpoint

    with fresh_schema() as schema:
        dsn = with_schema(DSN, schema)
        with Orderlog(dsn) as log:
            for command in journey("o1"):
                log.handle(command)
            head = log.store.head().position
        store = PostgresEventStore(dsn, read_only=True)
        try:
            into = tmp_path / "read.db"
            assert list(follow_into(store, into, follow=False, interval=1)) == [(head, head)]
            assert list(follow_into(store, into, follow=False, interval=1)) == [(0, head)]
        finally:
            store.close()
        conn = sqlite3.connect(into)
        try:
            assert lowest_checkpoint(conn, READ_MODELS) == head
        finally:
            conn.close()
