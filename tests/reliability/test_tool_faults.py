"""Faults met through `Orderlog.handle` and the `orderlog` tool: a disk that fills up mid-run,
read-only media, a damaged file, an edited header, a deleted write-ahead log. Each is one line
naming the cause, with its code and exit 2 (or a verify problem, exit 1), never `internal_error`
or a raw sqlite3 exception; nothing committed is lost."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eventstore import DiskFull, SQLiteEventStore
from projections.app import Orderlog
from tests.integration.clitools import assert_one_line_error, write_jsonl
from tests.integration.workloads import cancelled, journey, place
from tests.reliability.mounts import read_only_view, tiny_disk


def script(orders: int) -> list[dict[str, Any]]:
    found = []
    for n in range(orders):
        steps = journey(f"o{n}") if n % 3 else cancelled(f"o{n}")
        found += [{**step, "command_id": f"o{n}-{i}"} for i, step in enumerate(steps)]
    return found


def verified(path: Path) -> int:
    store = SQLiteEventStore(path, read_only=True)
    try:
        report = store.verify()
        assert report.ok, report.problem
        return report.checked
    finally:
        store.close()


# -- a full disk ---------------------------------------------------------------------------------


def test_a_disk_filling_up_during_apply_stops_it_with_disk_full_and_loses_nothing(
    orderlog: Any, tmp_path: Path
) -> None:
    commands = script(150)
    with tiny_disk(tmp_path / "disk", "320k") as disk:
        db = disk / "shop.db"
        source = write_jsonl(tmp_path / "in.jsonl", commands)
        run = orderlog("apply", str(source), "--db", str(db))
        created, error = run.err.splitlines()
        assert created.startswith("orderlog: created a new log")
        assert error.endswith("[disk_full]")
        assert run.code == 2
        assert "free some space" in run.err
        reported = [json.loads(line) for line in run.out.splitlines()]
        assert 0 < len(reported) < len(commands)
        store = SQLiteEventStore(db, read_only=True)
        try:
            for result in reported:
                if result["events"]:
                    assert store.recorded(commands[result["line"] - 1]["command_id"]) is not None
        finally:
            store.close()
        verified(db)
        rescued = tmp_path / "rescued"
        rescued.mkdir()
        for name in os.listdir(disk):  # moved to a disk with room, it goes on where it stopped
            shutil.copy(disk / name, rescued / name)
    again = orderlog("apply", str(source), "--db", str(rescued / "shop.db"))
    assert again.code in (0, 1), again.err
    assert verified(rescued / "shop.db") > len(reported)
    assert orderlog("verify", "--db", str(rescued / "shop.db")).code == 0


def test_a_full_disk_through_handle_is_disk_full_and_the_retry_is_safe(tmp_path: Path) -> None:
    with Orderlog(tmp_path / "shop.db") as log:
        for n in range(5):
            log.handle(place(f"o{n}"))
        pages = log.conn.execute("PRAGMA page_count").fetchone()[0]
        log.conn.execute(f"PRAGMA max_page_count = {pages}")
        command = {**place("big"), "command_id": "c-big"}
        command["lines"] = [
            {"line_id": f"l{n}", "sku": f"SKU-{n}-" + "x" * 80, "quantity": 1, "unit_price": 100}
            for n in range(60)
        ]
        with pytest.raises(DiskFull, match="free some space"):
            log.handle(command)
        assert log.store.recorded("c-big") is None
        log.conn.execute("PRAGMA max_page_count = 1000000")
        assert log.handle(command).ok
        assert log.handle(command).duplicate
        assert len(log.orders()) == 6


# -- read-only media ------------------------------------------------------------------------------


def test_read_only_media_refuse_apply_and_answer_every_read(orderlog: Any, tmp_path: Path) -> None:
    source = tmp_path / "copy"
    source.mkdir()
    orderlog(
        "apply", str(write_jsonl(tmp_path / "in.jsonl", script(3))), "--db", str(source / "shop.db")
    )
    with read_only_view(source, tmp_path / "media") as media:
        db = str(media / "shop.db")
        run = orderlog("apply", str(tmp_path / "in.jsonl"), "--db", db)
        assert_one_line_error(run, "log_read_only")
        assert run.code == 2
        for args in (("status", "o1"), ("orders",), ("refunds",), ("verify",), ("history", "o1")):
            assert orderlog(*args, "--db", db).code == 0, args
        assert sorted(os.listdir(media)) == ["shop.db"]


# -- damaged, edited, a deleted write-ahead log ---------------------------------------------------


READS = (("status", "o1"), ("verify",), ("orders",), ("export",))


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_a_damaged_file_is_corrupt_log_or_a_verify_problem_for_every_command(
    orderlog: Any, tmp_path: Path, damage: str
) -> None:
    db = tmp_path / "shop.db"
    orderlog("apply", str(write_jsonl(tmp_path / "in.jsonl", script(40))), "--db", str(db))
    size = db.stat().st_size
    with db.open("r+b") as file:
        if damage == "truncated":
            file.truncate(size // 3)
        else:
            file.seek(size // 2)
            file.write(bytes((n * 37 + 11) % 256 for n in range(4096)))
    for args in (*READS, ("apply", str(tmp_path / "in.jsonl"))):
        run = orderlog(*args, "--db", str(db))
        if args == ("verify",):
            assert run.code in (1, 2)  # a problem found, or a file it cannot read at all
        if run.code == 2:
            assert_one_line_error(run, "corrupt_log")  # not foreign, never internal_error
        else:
            assert "Traceback" not in run.err


def test_an_edited_schema_version_is_named_with_its_fix_by_every_command(
    orderlog: Any, tmp_path: Path
) -> None:
    db = tmp_path / "shop.db"
    orderlog("apply", str(write_jsonl(tmp_path / "in.jsonl", script(3))), "--db", str(db))
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 0")
    conn.close()
    for args in (*READS, ("apply", str(tmp_path / "in.jsonl"))):
        run = orderlog(*args, "--db", str(db))
        assert_one_line_error(run, "corrupt_log")
        assert "PRAGMA user_version =" in run.err


_CRASH = """
import os, sys
from projections.app import Orderlog
from tests.integration.workloads import place
log = Orderlog(sys.argv[1])
for n in range(6):
    log.handle(place(f"o{n}"))
os._exit(0)  # dies without closing: the commits are only in -wal
"""


def test_a_deleted_write_ahead_log_is_refused_by_every_command_until_it_is_back(
    orderlog: Any, tmp_path: Path
) -> None:
    db = tmp_path / "shop.db"
    subprocess.run([sys.executable, "-c", _CRASH, str(db)], check=True, cwd=Path.cwd())
    kept = tmp_path / "kept-wal"
    shutil.move(f"{db}-wal", kept)
    for args in (*READS, ("apply", str(write_jsonl(tmp_path / "in.jsonl", [place("o9")])))):
        run = orderlog(*args, "--db", str(db))
        assert_one_line_error(run, "wal_missing")
        assert run.code == 2
    shutil.move(kept, f"{db}-wal")
    assert orderlog("verify", "--db", str(db)).code == 0
    assert len(orderlog("orders", "--db", str(db), "--json").json()) == 6
