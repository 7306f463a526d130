"""The tool and the Python API on a PostgreSQL log: `--db postgresql://...`, `ORDERLOG_DB` and
`Orderlog(dsn)`; every command works as on SQLite, and a log moves SQLite -> PostgreSQL -> SQLite
losslessly with the same head digest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from projections.app import Orderlog
from tests.integration.workloads import place, step
from tests.pg import DSN, fresh_schema, needs_postgres, with_schema

pytestmark = needs_postgres

AS_OF = datetime(2026, 3, 5, tzinfo=UTC)


@pytest.fixture
def pg() -> Iterator[str]:
    """The DSN of a new, empty PostgreSQL log of this test's own."""
    with fresh_schema("cli") as schema:
        yield with_schema(DSN, schema)


@pytest.fixture
def demo_db(orderlog: Any, tmp_path: Path) -> Path:
    db = tmp_path / "demo.db"
    assert orderlog("demo", "--db", str(db), "--json").code == 0
    return db


def test_a_log_moves_sqlite_to_postgres_to_sqlite_losslessly(
    orderlog: Any, demo_db: Path, pg: str, tmp_path: Path
) -> None:
    first = orderlog("export", "--db", str(demo_db))
    assert first.code == 0
    exported = tmp_path / "first.jsonl"
    exported.write_text(first.out)
    assert orderlog("import", str(exported), "--db", pg, "--json").code == 0
    second = orderlog("export", "--db", pg)
    assert second.out == first.out
    back = tmp_path / "back.db"
    again = tmp_path / "second.jsonl"
    again.write_text(second.out)
    assert orderlog("import", str(again), "--db", str(back)).code == 0
    heads = []
    for db in (str(demo_db), pg, str(back)):
        report = orderlog("verify", "--db", db, "--json")
        assert report.code == 0, report.out
        assert report.json()["ok"]
        heads.append(report.json()["head"])
    assert len(set(heads)) == 1
    assert orderlog("export", "--db", str(back)).out == first.out


def test_every_reading_command_gives_what_it_gives_on_sqlite(
    orderlog: Any, demo_db: Path, pg: str, tmp_path: Path
) -> None:
    exported = tmp_path / "log.jsonl"
    exported.write_text(orderlog("export", "--db", str(demo_db)).out)
    assert orderlog("import", str(exported), "--db", pg).code == 0
    as_of = ("--as-of", "2026-04-11T10:00:00Z")
    for command in (
        ("status", "K-1001", *as_of, "--json"),
        ("history", "A-3001", "--json"),
        ("explain", "G-4003", "--json"),
        ("refunds", *as_of, "--json"),
        ("orders", *as_of, "--json"),
        ("returns", *as_of, "--json"),
        ("declines", "--json"),
        ("replay", "--as-of", "2026-03-15T00:00:00Z", "--json"),
        ("replay", "--to-position", "40", "--json"),
        ("export", "--order", "A-3001"),
    ):
        on_sqlite = orderlog(*command, "--db", str(demo_db))
        on_postgres = orderlog(*command, "--db", pg)
        assert on_sqlite.code == on_postgres.code == 0, (command, on_postgres.err)
        assert on_postgres.out == on_sqlite.out, command
    in_place = orderlog("replay", "--db", pg, "--json")
    assert in_place.code == 0
    assert in_place.json()["events"] == len(exported.read_text().splitlines())


def test_apply_and_project_on_postgres(orderlog: Any, pg: str, tmp_path: Path) -> None:
    commands = tmp_path / "in.jsonl"
    commands.write_text(_journey())
    applied = orderlog("apply", str(commands), "--db", pg)
    assert applied.code == 0, applied.err
    assert "created" not in applied.err
    status = orderlog("status", "P-1", "--db", pg, "--json", "--as-of", "2026-03-05T00:00:00Z")
    assert status.code == 0
    assert status.json()["status"] == "received"
    read = tmp_path / "read.db"
    projected = orderlog("project", "--db", pg, "--into", str(read))
    assert projected.code == 0
    assert "read models at position 4" in projected.out


def test_orderlog_db_may_name_a_postgres_log(
    orderlog: Any, pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = tmp_path / "in.jsonl"
    commands.write_text(_journey())
    assert orderlog("apply", str(commands), "--db", pg).code == 0
    monkeypatch.setenv("ORDERLOG_DB", pg)
    from projections.cli import main

    assert main(["verify", "--json"]) == 0


def test_the_python_api_opens_a_dsn(pg: str) -> None:
    with Orderlog(pg) as log:
        for command in _commands():
            assert log.handle(command).ok, command
        assert log.status("P-1", AS_OF).status.value == "received"
        assert len(log.history("P-1")) == 3
        assert log.orders()[0]["order_id"] == "P-1"
    with Orderlog(pg, read_only=True) as log:
        assert log.status("P-1", AS_OF).status.value == "received"


def test_a_postgres_log_that_cannot_be_reached_is_one_line(orderlog: Any) -> None:
    from tests.integration.clitools import assert_one_line_error

    run = orderlog("status", "A-1", "--db", "postgresql://postgres@127.0.0.1:1/test")
    assert run.code == 2
    assert_one_line_error(run, "storage_io_error")


def _commands() -> list[dict[str, Any]]:
    """Placed, dispatched and delivered: three commands, four events (with the policy's)."""
    return [
        place("P-1"),
        step("dispatch_order", "P-1", 0.5, carrier="post"),
        step("confirm_delivery", "P-1", 2),
    ]


def _journey() -> str:
    return "".join(json.dumps(c) + "\n" for c in _commands())


def test_group_commit_and_a_dry_run_on_postgres(orderlog: Any, pg: str, tmp_path: Path) -> None:
    commands = tmp_path / "in.jsonl"
    commands.write_text(_journey())
    dry = orderlog("apply", str(commands), "--db", pg, "--dry-run")
    assert dry.code == 0, dry.err
    assert orderlog("export", "--db", pg).out == ""  # the dry run wrote nothing
    grouped = orderlog("apply", str(commands), "--db", pg, "--group-commit", "3")
    assert grouped.code == 0, grouped.err
    again = orderlog("apply", str(commands), "--db", pg, "--dry-run")
    assert again.code == 1  # decided on a copy of the log as it is now: all refused
    assert orderlog("verify", "--db", pg).code == 0
    assert len(orderlog("export", "--db", pg).out.splitlines()) == 4


def test_reading_commands_read_a_followed_file_beside_a_postgres_log(
    orderlog: Any, pg: str, tmp_path: Path
) -> None:
    commands = tmp_path / "in.jsonl"
    commands.write_text(_journey())
    assert orderlog("apply", str(commands), "--db", pg).code == 0
    read = tmp_path / "read.db"
    assert orderlog("project", "--db", pg, "--into", str(read)).code == 0
    from_file = orderlog("orders", "--db", pg, "--read-models", str(read), "--json")
    from_log = orderlog("orders", "--db", pg, "--json")
    assert from_file.code == from_log.code == 0, from_file.err
    assert from_file.json() == from_log.json()
    assert from_file.err == ""  # the file is not behind the log
