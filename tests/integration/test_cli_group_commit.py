"""`orderlog apply --group-commit N`: many commands per transaction, the same results and the
same log as one commit per command, each result line printed only once its transaction has
committed, and command ids that make a rerun after a crash write nothing twice."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import click
import pytest

from tests.integration.clitools import Orderlog, write_jsonl
from tests.integration.workloads import journey, place, step


def script(orders: int = 3) -> list[dict[str, Any]]:
    commands = [command for n in range(orders) for command in journey(f"o{n}")]
    commands.insert(4, step("confirm_delivery", "o0", 5))  # refused: delivered already
    return commands


def logged(db: Path) -> list[tuple[str, int, str, str]]:
    """The log's events without their recorded time and hash (which differ between runs)."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT stream_id, stream_version, type, data FROM events ORDER BY position"
        ).fetchall()
    finally:
        conn.close()


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_group_commit_gives_the_results_and_the_log_of_one_commit_per_command(
    orderlog: Orderlog, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", script(), extra="not json\n\n")
    single = orderlog("apply", str(source), "--db", str(tmp_path / "single.db"))
    grouped = orderlog(
        "apply", str(source), "--db", str(tmp_path / "grouped.db"), "--group-commit", "4"
    )
    assert (grouped.code, lines(grouped.out)) == (single.code, lines(single.out))
    assert logged(tmp_path / "grouped.db") == logged(tmp_path / "single.db")
    results = lines(grouped.out)
    assert results[4]["error"]["code"] == "illegal_transition"  # refused, in its batch
    assert results[-1]["error"]["code"] == "invalid_command"  # the line that is not JSON


def test_group_commit_commits_once_per_group(orderlog: Orderlog, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    source = write_jsonl(tmp_path / "in.jsonl", journey("o1")[:7])
    assert orderlog("apply", str(source), "--db", str(db), "--group-commit", "3").code == 0
    conn = sqlite3.connect(db)
    commits = conn.execute("SELECT count(DISTINCT recorded_at) FROM events").fetchone()[0]
    conn.close()
    assert commits == 3  # 3 + 3 + 1 commands


def test_a_refused_command_in_a_group_writes_nothing(orderlog: Orderlog, tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    refused = step("confirm_delivery", "o1", 0.001)  # not dispatched yet
    commands = [place("o1"), refused, step("cancel_order", "o1", 0.002)]
    source = write_jsonl(tmp_path / "in.jsonl", commands)
    run = orderlog("apply", str(source), "--db", str(db), "--group-commit", "3")
    assert run.code == 1
    assert [r["ok"] for r in lines(run.out)] == [True, False, True]
    assert "OrderDelivered" not in [row[2] for row in logged(db)]


def test_command_ids_make_a_grouped_rerun_write_nothing_twice(
    orderlog: Orderlog, tmp_path: Path
) -> None:
    db = tmp_path / "shop.db"
    commands = [{**c, "command_id": f"c{n}"} for n, c in enumerate(journey("o1"))]
    commands.insert(2, commands[1])  # the same command twice within one group
    source = write_jsonl(tmp_path / "in.jsonl", commands)
    first = lines(orderlog("apply", str(source), "--db", str(db), "--group-commit", "5").out)
    assert [r.get("duplicate", False) for r in first[:3]] == [False, False, True]
    assert first[2]["events"] == first[1]["events"]
    before = logged(db)
    again = lines(orderlog("apply", str(source), "--db", str(db), "--group-commit", "5").out)
    assert logged(db) == before
    assert all(r["duplicate"] for r in again)
    assert [r["events"] for r in again] == [r["events"] for r in first]


def test_each_result_line_is_printed_only_after_its_commit(
    orderlog: Orderlog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "shop.db"
    source = write_jsonl(tmp_path / "in.jsonl", script(orders=2))
    echo = click.echo
    reported = [0]
    behind: list[str] = []

    def watching(message: str, **options: Any) -> None:
        if options.get("err"):
            echo(message, **options)
            return
        reported[0] += len(json.loads(message)["events"])
        if db.exists():
            conn = sqlite3.connect(db)  # another reader: sees only what was committed
            committed = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            conn.close()
            if committed < reported[0]:
                behind.append(message)
        echo(message, **options)

    monkeypatch.setattr("projections.cli.click.echo", watching)
    orderlog("apply", str(source), "--db", str(db), "--group-commit", "6")
    assert reported[0] == len(logged(db))
    assert behind == []
