"""Read-model files (`replay --into`, `project --into`) are usable: every command that reads read
models takes one (`--read-models FILE`), alone or beside the log it came from, and the file is
one plain SQLite file with readable tables for sqlite-utils and Datasette."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from tests.integration.clitools import applied, assert_one_line_error
from tests.integration.workloads import journey, place
from tests.reliability.mounts import read_only_view

AS_OF = "2026-05-01T00:00:00Z"
READINGS = [
    ("status", "o1"),
    ("refunds", "--as-of", AS_OF),
    ("orders", "--as-of", AS_OF),
    ("returns", "--as-of", AS_OF),
    ("declines",),
]


@pytest.fixture
def log(orderlog: Any, db: Path, tmp_path: Path) -> Path:
    applied(orderlog, db, tmp_path, [*journey("o1"), place("o2", 3)])
    return db


@pytest.fixture
def built(orderlog: Any, log: Path, tmp_path: Path) -> Path:
    into = tmp_path / "read.db"
    assert orderlog("replay", "--db", str(log), "--into", str(into)).code == 0
    return into


def _json(orderlog: Any, *args: str) -> Any:
    run = orderlog(*args, "--json")
    assert run.code == 0, run.err
    return run.json()


@pytest.mark.parametrize("args", READINGS)
def test_a_read_model_file_alone_answers_as_the_log_does(
    orderlog: Any, log: Path, built: Path, args: tuple[str, ...]
) -> None:
    from_log = _json(orderlog, *args, "--db", str(log))
    alone = _json(orderlog, *args, "--read-models", str(built))
    beside = _json(orderlog, *args, "--db", str(log), "--read-models", str(built))
    if args[0] == "status":  # as of now: the moment differs by the time the commands took
        for data in (from_log, alone, beside):
            data.pop("as_of")
    assert alone == from_log
    assert beside == from_log


def test_a_file_from_project_is_read_the_same(orderlog: Any, log: Path, tmp_path: Path) -> None:
    into = tmp_path / "followed.db"
    assert orderlog("project", "--db", str(log), "--into", str(into)).code == 0
    args = ("orders", "--as-of", AS_OF)
    assert _json(orderlog, *args, "--read-models", str(into)) == _json(
        orderlog, *args, "--db", str(log)
    )


def test_a_past_view_file_answers_as_of_its_own_moment(
    orderlog: Any, log: Path, tmp_path: Path
) -> None:
    past = tmp_path / "past.db"
    args = ("replay", "--db", str(log), "--into", str(past), "--as-of", "2026-03-12")
    assert orderlog(*args).code == 0
    from_file = _json(orderlog, "status", "o1", "--read-models", str(past))
    assert from_file == _json(orderlog, "status", "o1", "--db", str(log), "--as-of", "2026-03-12")
    assert from_file["as_of"] == "2026-03-12T23:59:59.999999+00:00"
    refunds = _json(orderlog, "refunds", "--read-models", str(past))
    assert refunds["as_of"] == from_file["as_of"]
    # A past view passed over later events: catching it up would never apply them.
    run = orderlog("project", "--db", str(log), "--into", str(past))
    assert_one_line_error(run, "foreign_database")
    assert "past view" in run.err


def test_a_file_built_from_another_log_is_refused_beside_it(
    orderlog: Any, built: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    applied(orderlog, other, tmp_path, [place("x1")])
    run = orderlog("orders", "--db", str(other), "--read-models", str(built))
    assert_one_line_error(run, "foreign_database")
    assert "another log" in run.err


def test_what_is_not_a_read_model_file_is_one_clear_line(
    orderlog: Any, log: Path, tmp_path: Path
) -> None:
    run = orderlog("orders", "--read-models", str(log))
    assert_one_line_error(run, "foreign_database")
    assert "is an orderlog event log, not a read-model file: give it as --db" in run.err
    missing = orderlog("orders", "--read-models", str(tmp_path / "nope.db"))
    assert_one_line_error(missing, "database_not_found")
    assert "orderlog replay --into" in missing.err


def test_status_as_of_needs_the_log(orderlog: Any, built: Path) -> None:
    run = orderlog("status", "o1", "--read-models", str(built), "--as-of", "2026-03-10")
    assert_one_line_error(run, "usage_error")
    assert "give --db too" in run.err


def test_the_file_is_one_plain_sqlite_file_with_readable_tables(built: Path) -> None:
    assert sorted(path.name for path in built.parent.iterdir() if "read" in path.name) == [
        "read.db"
    ]
    tables = {table.name: table for table in sqlite_utils.Database(built).tables}
    assert set(tables) == {
        "orders",
        "returns",
        "declines",
        "declined_lines",
        "refunds",
        "reimbursements",
        "projection_checkpoints",
        "source_log",
    }
    assert {"order_id", "policy", "currency", "paid_total", "refunded_total", "placed_at"} <= set(
        tables["orders"].columns_dict
    )
    assert tables["orders"].count == 2


def test_a_read_model_file_on_read_only_media_opens_alone(
    orderlog: Any, log: Path, built: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "read.db").write_bytes(built.read_bytes())
    with read_only_view(folder, tmp_path / "ro") as media:
        data = _json(orderlog, "orders", "--as-of", AS_OF, "--read-models", str(media / "read.db"))
        assert sorted(path.name for path in media.iterdir()) == ["read.db"]
    assert [row["order_id"] for row in data] == ["o1", "o2"]


def test_a_file_behind_its_log_is_shown_with_a_note(
    orderlog: Any, log: Path, built: Path, tmp_path: Path
) -> None:
    assert orderlog("orders", "--db", str(log), "--read-models", str(built)).err == ""
    applied(orderlog, log, tmp_path, [place("o3", 4)])
    run = orderlog("orders", "--db", str(log), "--read-models", str(built), "--json")
    assert [row["order_id"] for row in run.json()] == ["o1", "o2"]  # the file, as it is
    assert run.err.startswith(f"orderlog: {built} stops at position ")
    assert run.err.count("\n") == 1
