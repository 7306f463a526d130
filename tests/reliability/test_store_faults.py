"""Faults at the store: a full disk, read-only media, a missing folder, a damaged file, an edited
header, a deleted write-ahead log. Each is a typed `StoreFileError` with one line naming the
cause and what to do, never a raw `sqlite3` exception, and nothing committed is lost."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eventstore import (
    CorruptLog,
    DatabaseNotFound,
    DiskFull,
    NewEvent,
    OrderlogError,
    ReadOnlyLog,
    SQLiteEventStore,
    StoreFileError,
    WalMissing,
)
from eventstore.schema import SCHEMA_VERSION
from tests.reliability.mounts import read_only_view
from tests.support import T0


def happened(n: int = 0, size: int = 0) -> list[NewEvent]:
    return [NewEvent("Happened", {"n": n, "pad": "x" * size}, T0)]


def make_log(path: Path, count: int, size: int = 0) -> None:
    store = SQLiteEventStore(path)
    for n in range(count):
        store.append(f"order-{n % 7}", happened(n, size), command_id=f"c{n}")
    store.close()


def one_line(error: OrderlogError) -> None:
    """A message a person can act on: one line, naming something to do."""
    assert "\n" not in error.message
    assert error.code != "orderlog_error"


def what_happens(action: Callable[[], Any]) -> str:
    """The code of the typed error `action` raises, or "ok"; a raw exception fails the test."""
    try:
        action()
    except OrderlogError as error:
        one_line(error)
        return error.code
    return "ok"


# -- a full disk ---------------------------------------------------------------------------------


def test_a_full_disk_is_disk_full_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    store = SQLiteEventStore(path)
    try:
        for n in range(10):
            store.append("order-1", happened(n, 5000), command_id=f"c{n}")
        pages = store.connection.execute("PRAGMA page_count").fetchone()[0]
        store.connection.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full now
        with pytest.raises(DiskFull, match="free some space") as raised:
            store.append("order-1", happened(10, 5000), command_id="c10")
        assert raised.value.code == "disk_full"
        one_line(raised.value)
        assert store.head().position == 10
        assert store.recorded("c10") is None
        store.connection.execute("PRAGMA max_page_count = 1000000")  # space freed
        store.append("order-1", happened(10, 5000), command_id="c10")
    finally:
        store.close()
    reopened = SQLiteEventStore(path, read_only=True)
    try:
        assert reopened.head().position == 11
        assert reopened.verify().ok
    finally:
        reopened.close()


# -- read-only media -----------------------------------------------------------------------------


def test_a_lone_copy_on_read_only_media_opens_for_reading_and_leaves_no_side_files(
    tmp_path: Path,
) -> None:
    source = tmp_path / "copy"
    source.mkdir()
    make_log(source / "log.db", 40)
    assert sorted(os.listdir(source)) == ["log.db"]
    with read_only_view(source, tmp_path / "media") as media:
        store = SQLiteEventStore(media / "log.db", read_only=True)
        try:
            assert store.head().position == 40
            assert len(list(store.read_all(batch_size=7))) == 40
            assert store.recorded("c3") is not None
            assert store.verify().ok
        finally:
            store.close()
        assert sorted(os.listdir(media)) == ["log.db"]


def test_writing_to_read_only_media_is_log_read_only(tmp_path: Path) -> None:
    source = tmp_path / "copy"
    source.mkdir()
    make_log(source / "log.db", 3)
    with read_only_view(source, tmp_path / "media") as media:
        with pytest.raises(ReadOnlyLog, match="read-only") as raised:
            SQLiteEventStore(media / "log.db")
        assert raised.value.code == "log_read_only"
        one_line(raised.value)
        with pytest.raises(ReadOnlyLog):
            SQLiteEventStore(media / "new.db")
        assert sorted(os.listdir(media)) == ["log.db"]


def test_a_copy_with_its_write_ahead_log_on_read_only_media_reads_every_commit(
    tmp_path: Path,
) -> None:
    source = tmp_path / "copy"
    source.mkdir()
    live = SQLiteEventStore(tmp_path / "live.db")
    try:
        for n in range(5):
            live.append("order-1", happened(n))
        for suffix in ("", "-wal", "-shm"):  # copied while the log was open: commits in -wal
            shutil.copy(tmp_path / f"live.db{suffix}", source / f"log.db{suffix}")
    finally:
        live.close()
    with read_only_view(source, tmp_path / "media") as media:
        assert _count(media / "log.db") == 5  # SQLite reads -wal and -shm in place, read-only
        assert sorted(os.listdir(media)) == ["log.db", "log.db-shm", "log.db-wal"]


def _count(path: Path) -> int:
    store = SQLiteEventStore(path, read_only=True)
    try:
        return len(list(store.read_all()))
    finally:
        store.close()


# -- missing, damaged, edited --------------------------------------------------------------------


def test_a_missing_folder_is_named_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "log.db"
    with pytest.raises(DatabaseNotFound, match="no-such-folder does not exist") as raised:
        SQLiteEventStore(path)
    one_line(raised.value)
    assert not path.parent.exists()


@pytest.mark.parametrize("keep", [0.5, 0.2])
def test_a_truncated_file_is_a_corrupt_log_not_a_foreign_one(tmp_path: Path, keep: float) -> None:
    path = tmp_path / "log.db"
    make_log(path, 300, size=200)
    with path.open("r+b") as file:
        file.truncate(int(path.stat().st_size * keep))
    outcomes = {
        what_happens(lambda: _verify(path, read_only=True)),
        what_happens(lambda: _count(path)),
    }
    assert "corrupt_log" in outcomes or "verify_problem" in outcomes, outcomes
    assert outcomes <= {"corrupt_log", "verify_problem"}


def _verify(path: Path, *, read_only: bool) -> None:
    store = SQLiteEventStore(path, read_only=read_only)
    try:
        report = store.verify()
    finally:
        store.close()
    if not report.ok:
        raise _Problem(report.problem.message if report.problem else "")


class _Problem(OrderlogError):
    code = "verify_problem"


@pytest.mark.parametrize(
    ("offset", "length"),
    [(16, 84), (0, 100), (4096, 8000), (20000, 3000)],
    ids=["header-after-magic", "whole-header", "pages", "later-pages"],
)
def test_a_garbled_file_is_a_corrupt_log_or_a_named_problem(
    tmp_path: Path, offset: int, length: int
) -> None:
    path = tmp_path / "log.db"
    make_log(path, 300, size=200)
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(bytes((n * 37 + 11) % 256 for n in range(length)))
    outcomes = {
        what_happens(lambda: _verify(path, read_only=True)),
        what_happens(lambda: _count(path)),
        what_happens(lambda: SQLiteEventStore(path).close()),
    }
    assert "foreign_database" not in outcomes
    assert outcomes - {"ok"} <= {"corrupt_log", "verify_problem"}, outcomes
    assert outcomes != {"ok"}


def test_a_schema_version_edited_down_to_zero_is_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    make_log(path, 3)
    _raw(path, "PRAGMA user_version = 0")
    before = path.read_bytes()
    for read_only in (False, True):
        with pytest.raises(CorruptLog, match=f"PRAGMA user_version = {SCHEMA_VERSION}") as raised:
            SQLiteEventStore(path, read_only=read_only)
        one_line(raised.value)
    assert path.read_bytes() == before
    _raw(path, f"PRAGMA user_version = {SCHEMA_VERSION}")
    assert _count(path) == 3


def test_a_schema_version_edited_down_by_one_is_not_migrated_over(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    make_log(path, 3)
    _raw(path, f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    with pytest.raises(CorruptLog, match="the header was edited"):
        SQLiteEventStore(path)
    assert _count(path) == 3  # reading still works


def _raw(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


# -- a deleted write-ahead log -------------------------------------------------------------------


def test_a_write_ahead_log_deleted_under_a_live_writer_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    live = SQLiteEventStore(path)
    try:
        for n in range(5):
            live.append("order-1", happened(n))
        Path(f"{path}-wal").unlink()
        live.append("order-1", happened(5))
        with pytest.raises(WalMissing, match="write-ahead log was deleted") as raised:
            SQLiteEventStore(path)  # opening now would start a second, empty -wal
        assert raised.value.code == "wal_missing"
        one_line(raised.value)
        with pytest.raises(WalMissing):
            SQLiteEventStore(path, read_only=True)
    finally:
        live.close()  # the live connection copies its commits into the file as it closes
    assert _count(path) == 6


_CRASH = """
import os, sys
from datetime import UTC, datetime
from eventstore import NewEvent, SQLiteEventStore
store = SQLiteEventStore(sys.argv[1])
for n in range(8):
    store.append("order-1", [NewEvent("Happened", {"n": n}, datetime.now(UTC))])
os._exit(0)  # dies without closing: the commits are still only in -wal
"""


def test_a_write_ahead_log_deleted_after_a_crash_is_refused_until_it_is_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.db"
    subprocess.run([sys.executable, "-c", _CRASH, str(path)], check=True)
    wal = Path(f"{path}-wal")
    kept = tmp_path / "kept-wal"
    shutil.move(wal, kept)  # an operator "cleans up" the -wal
    with pytest.raises(WalMissing, match=r"put .* back"):
        SQLiteEventStore(path)
    shutil.move(kept, wal)
    assert _count(path) == 8


# -- after close ---------------------------------------------------------------------------------


def test_a_closed_store_raises_a_store_error_not_a_sqlite_one(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "log.db")
    store.close()
    for call in (
        store.head,
        lambda: store.append("order-1", happened()),
        lambda: list(store.read_all()),
        store.verify,
        lambda: store.recorded("c1"),
    ):
        with pytest.raises(StoreFileError, match="was closed"):
            call()
