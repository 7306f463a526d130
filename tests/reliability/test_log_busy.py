"""Busy logs through `Orderlog` and the tool: the read-model tables, in-place `replay` and every
read are under the same rule as the store. Processes and threads opening one new log at once all
get in; a lock held past the busy timeout is `concurrency_conflict`, never "database is locked"."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eventstore import ConcurrencyConflict, OrderlogError, SQLiteEventStore
from projections.app import Orderlog
from projections.cli import main
from projections.replay import replay_into
from tests.integration.workloads import place
from tests.reliability.test_store_busy import exclusive_lock, race_in_processes, race_in_threads


def _first_open(path: str, start: float, n: int) -> str:
    """Open a log that does not exist yet at the same moment as others, and place one order."""
    time.sleep(max(0.0, start - time.time()))
    try:
        with Orderlog(path) as log:
            outcome = log.handle({**place(f"o{n}"), "command_id": f"c{n}"})
            return "ok" if outcome.ok else str(outcome.error)
    except OrderlogError as error:
        return error.code
    except Exception as error:  # the test names what leaked
        return f"{type(error).__name__}: {error}"


def _check(path: str, orders: int) -> None:
    with Orderlog(path, read_only=True) as log:
        assert len(log.orders()) == orders
    store = SQLiteEventStore(path, read_only=True)
    try:
        assert store.verify().ok
    finally:
        store.close()


def test_processes_opening_one_new_log_at_once_all_get_in(tmp_path: Path) -> None:
    race_in_processes(
        _first_open,
        lambda round_: str(tmp_path / f"new-{round_}.db"),
        range(6),
        lead=0.5,
        timeout=120,
        check=lambda path: _check(path, 6),
    )


def test_threads_opening_one_new_log_at_once_all_get_in(tmp_path: Path) -> None:
    path = str(tmp_path / "new.db")
    race_in_threads(_first_open, path, lead=0.3)
    _check(path, 8)


def _bare_log(path: Path) -> None:
    """A log written without read models (by the store alone): no read-model tables."""
    with Orderlog(path) as log:
        log.handle(place("o1"))
    conn = sqlite3.connect(path, isolation_level=None)
    for (table,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('events', 'commands')"
    ).fetchall():
        conn.execute(f"DROP TABLE {table}")
    conn.close()


def _hold(path: Path) -> Any:
    """Another writer holding the log's write lock."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_a_log_without_read_model_tables_gets_them_or_a_conflict(tmp_path: Path) -> None:
    path = tmp_path / "bare.db"
    _bare_log(path)
    holder = _hold(path)
    try:
        with pytest.raises(ConcurrencyConflict, match="busy"):
            Orderlog(path, busy_timeout=0.1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Orderlog(path) as log:
        assert [row["order_id"] for row in log.orders()] == ["o1"]


def test_processes_opening_a_log_without_read_model_tables_at_once_all_get_in(
    tmp_path: Path,
) -> None:
    def new_bare_log(round_: int) -> str:
        path = tmp_path / f"bare-{round_}.db"
        _bare_log(path)
        return str(path)

    race_in_processes(
        _first_open,
        new_bare_log,
        range(2, 8),
        lead=0.5,
        timeout=120,
        check=lambda path: _check(path, 7),
    )


def test_an_in_place_replay_of_a_held_log_is_a_conflict(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with Orderlog(path) as log:
        log.handle(place("o1"))
    log = Orderlog(path, busy_timeout=0.1)
    holder = _hold(path)
    try:
        with pytest.raises(ConcurrencyConflict, match="busy"):
            replay_into(log, None, quiet=True)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert replay_into(log, None, quiet=True)["events"] == 2
    log.close()


@pytest.mark.slow  # the tool waits out its own busy timeout, 10 s
def test_the_tool_says_concurrency_conflict_for_a_held_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "log.db"
    with Orderlog(path) as log:
        log.handle(place("o1"))
    holder = _hold(path)
    try:
        code = main(["replay", "--db", str(path), "--json"])
        err = capsys.readouterr().err
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 2
    assert "[concurrency_conflict]" in err
    assert "locked" not in err


READS: dict[str, Callable[[Orderlog], Any]] = {
    "status": lambda log: log.status("o1"),
    "history": lambda log: log.history("o1"),
    "explain": lambda log: log.explain("o1"),
    "refunds": lambda log: log.refunds(),
    "orders": lambda log: log.orders(),
    "returns": lambda log: log.returns(),
    "declines": lambda log: log.declines(),
    "catch_up": lambda log: log.catch_up(),
    "handle": lambda log: log.handle(place("o2")),
}


@pytest.mark.parametrize("read_only", [False, True])
def test_every_read_of_a_log_held_past_the_timeout_is_a_conflict(read_only: bool) -> None:
    # SQLite's memdb has no WAL: a writer's exclusive lock keeps readers out, as a file's
    # checkpoint or recovery can.
    path = f"file:/orderlog-logbusy-{time.monotonic_ns()}?vfs=memdb"
    keeper = Orderlog(path)
    keeper.handle(place("o1"))
    log = Orderlog(path, busy_timeout=0.05, read_only=read_only)
    try:
        with exclusive_lock(lambda: sqlite3.connect(path, uri=True, isolation_level=None)):
            for name, read in READS.items():
                if name == "handle":
                    if not read_only:
                        outcome = read(log)
                        assert outcome.error["code"] == "concurrency_conflict", outcome
                    continue
                with pytest.raises(ConcurrencyConflict, match="busy"):
                    read(log)
        assert log.status("o1").order_id == "o1"
    finally:
        log.close()
        keeper.close()
