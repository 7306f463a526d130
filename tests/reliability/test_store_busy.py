"""Busy logs: "database is locked" never reaches a caller. Simultaneous first opens of a new file
wait their turn; reads and opens blocked past the busy timeout are `ConcurrencyConflict`; an
audit running beside a live writer sees one consistent state."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from eventstore import (
    ConcurrencyConflict,
    EventStore,
    NewEvent,
    OrderlogError,
    SQLiteEventStore,
)
from tests.support import T0, stress_scale


def _first_open(path: str, start: float, n: int) -> str:
    """Open a file that does not exist yet at the same moment as others, and append once."""
    time.sleep(max(0.0, start - time.time()))
    try:
        store = SQLiteEventStore(path)
        try:
            store.append(f"order-{n}", [NewEvent("Happened", {"n": n}, T0)], command_id=f"c{n}")
        finally:
            store.close()
    except OrderlogError as error:
        return error.code
    return "ok"


def _check(path: Path, expected: int) -> None:
    store = SQLiteEventStore(path, read_only=True)
    try:
        assert store.head().position == expected
        assert store.verify().ok
    finally:
        store.close()


def race_in_processes(
    first_open: Callable[[str, float, int], str],
    new_log: Callable[[int], str],
    numbers: Sequence[int],
    *,
    lead: float,
    timeout: float,
    check: Callable[[str], None],
) -> None:
    """Each round of the stress budget, six processes (all up before the race) call
    `first_open(path, start, n)` for each of `numbers` on the round's `new_log(round)` at one
    moment, `lead` seconds on; every one says "ok", and `check(path)` passes after."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(6) as pool:
        pool.map(time.sleep, [0] * 6)  # every worker is up before the race
        for round_ in range(stress_scale()):
            path = new_log(round_)
            start = time.time() + lead
            jobs = [pool.apply_async(first_open, (path, start, n)) for n in numbers]
            assert [job.get(timeout=timeout) for job in jobs] == ["ok"] * len(numbers)
            check(path)


def race_in_threads(first_open: Callable[[str, float, int], str], path: str, lead: float) -> None:
    """Eight threads call `first_open(path, start, n)` at one moment, `lead` seconds on: every
    one says "ok"."""
    start = time.time() + lead
    outcomes: list[str] = []
    threads = [
        threading.Thread(target=lambda n=n: outcomes.append(first_open(path, start, n)))
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["ok"] * 8


def test_processes_opening_a_new_file_at_once_all_get_in(tmp_path: Path) -> None:
    race_in_processes(
        _first_open,
        lambda round_: str(tmp_path / f"new-{round_}.db"),
        range(6),
        lead=0.3,
        timeout=60,
        check=lambda path: _check(Path(path), 6),
    )


def test_threads_opening_a_new_file_at_once_all_get_in(tmp_path: Path) -> None:
    path = str(tmp_path / "new.db")
    race_in_threads(_first_open, path, lead=0.2)
    _check(Path(path), 8)


@contextmanager
def exclusive_lock(connect: Callable[[], sqlite3.Connection]) -> Iterator[None]:
    """Another program holding the log exclusively: no reader gets in while it does."""
    conn = connect()
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("SELECT count(*) FROM events").fetchone()
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def _reads(store: EventStore) -> dict[str, Callable[[], Any]]:
    return {
        "head": store.head,
        "read_all": lambda: list(store.read_all()),
        "read_stream": lambda: store.read_stream("order-1"),
        "stream_version": lambda: store.stream_version("order-1"),
        "stream_ids": lambda: list(store.stream_ids()),
        "recorded": lambda: store.recorded("c1"),
        "verify": store.verify,
        "append": lambda: store.append("order-1", [NewEvent("Happened", {}, T0)]),
    }


def test_every_call_on_a_log_held_past_the_timeout_is_a_conflict() -> None:
    # SQLite's memdb has no WAL, so a writer's exclusive lock keeps readers out too: the read
    # path meets "database is locked" there, and must turn it into a conflict.
    path = f"file:/orderlog-busy-{time.monotonic_ns()}?vfs=memdb"
    keeper = SQLiteEventStore(path)
    keeper.append("order-1", [NewEvent("Happened", {}, T0)], command_id="c1")
    store = SQLiteEventStore(path, busy_timeout=0.05)
    try:
        with exclusive_lock(lambda: sqlite3.connect(path, uri=True, isolation_level=None)):
            for name, call in _reads(store).items():
                with pytest.raises(ConcurrencyConflict, match="busy"):
                    call()
                assert name
        assert store.head().position == 1  # and all is well once the lock is let go
        assert store.verify().ok
    finally:
        store.close()
        keeper.close()


def test_opening_a_file_held_exclusively_past_the_timeout_is_a_conflict(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    SQLiteEventStore(path).close()
    for read_only in (False, True):
        with (
            exclusive_lock(lambda: sqlite3.connect(path, isolation_level=None)),
            pytest.raises(ConcurrencyConflict, match="busy"),
        ):
            SQLiteEventStore(path, busy_timeout=0.05, read_only=read_only)
        SQLiteEventStore(path, busy_timeout=0.05, read_only=read_only).close()


def test_verify_beside_a_live_writer_always_sees_an_intact_prefix(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    SQLiteEventStore(path).close()
    done = threading.Event()
    appended = [0]

    def write() -> None:
        writer = SQLiteEventStore(path)
        try:
            for n in range(150 * stress_scale()):
                writer.append(
                    f"order-{n % 5}",
                    [NewEvent("Happened", {"n": n}, T0)] * (1 + n % 3),
                    command_id=f"c{n}",
                    outcome={"n": n},
                )
                appended[0] += 1
        finally:
            writer.close()
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    auditor = SQLiteEventStore(path, read_only=True)
    audits = 0
    try:
        while not done.is_set() or audits < 3:
            report = auditor.verify()
            assert report.ok, report.problem
            audits += 1
    finally:
        thread.join()
        auditor.close()
    assert audits >= 3
    assert appended[0] == 150 * stress_scale()
