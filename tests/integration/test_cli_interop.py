"""Moving logs between files and scripts (issue 12, item 8; issue 10, items 10 to 12): export
slices, idempotent import, where the database comes from, exit codes, strict input, and files
the tool must never take for its own."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from projections import render
from tests.integration.clitools import applied, assert_one_line_error, write_jsonl
from tests.integration.workloads import cancelled, journey, place, step


def exported(orderlog: Any, db: Path, *args: str) -> list[dict[str, Any]]:
    run = orderlog("export", "--db", str(db), *args)
    assert run.code == 0, run.err
    return [json.loads(line) for line in run.out.splitlines()]


# -- export slices -------------------------------------------------------------------------------


def test_export_one_order_from_a_position_or_a_time(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [*journey("o1"), *cancelled("o2")])
    every = exported(orderlog, db)
    o2 = exported(orderlog, db, "--order", "o2")
    assert o2 == [r for r in every if r["stream_id"] == "order-o2"]
    assert [r["type"] for r in o2] == ["OrderPlaced", "OrderCancelled", "RefundDecided"]
    assert exported(orderlog, db, "--from-position", "5") == every[4:]
    since = exported(orderlog, db, "--since", "2026-03-07T00:00:00Z")
    assert since == [r for r in every if r["occurred_at"] >= "2026-03-07"]
    assert 0 < len(since) < len(every)
    assert exported(orderlog, db, "--since", "2026-03-07") == since  # a day means its start
    both = exported(orderlog, db, "--order", "o1", "--since", "2026-03-07")
    assert both == [r for r in since if r["stream_id"] == "order-o1"]
    # A mistyped order id is refused like `status` refuses it, rather than export nothing.
    run = orderlog("export", "--db", str(db), "--order", "nope")
    assert run.code == 2
    assert run.out == ""
    assert_one_line_error(run, "unknown_order")


def test_a_continuation_export_imports_onto_a_copy_that_stops_before_it(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [*journey("o1"), *cancelled("o2")])
    lines = orderlog("export", "--db", str(db)).out.splitlines()
    (tmp_path / "start.jsonl").write_text("\n".join(lines[:6]) + "\n")
    copy = tmp_path / "copy.db"
    assert orderlog("import", str(tmp_path / "start.jsonl"), "--db", str(copy)).code == 0
    rest = orderlog("export", "--db", str(db), "--from-position", "7").out
    (tmp_path / "rest.jsonl").write_text(rest)
    result = orderlog("import", str(tmp_path / "rest.jsonl"), "--db", str(copy), "--json").json()
    assert (result["imported"], result["skipped"]) == (len(lines) - 6, 0)
    assert orderlog("export", "--db", str(copy)).out.splitlines() == lines


# -- idempotent import ---------------------------------------------------------------------------


def test_importing_the_same_export_twice_changes_nothing(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, journey("o1"))
    (tmp_path / "log.jsonl").write_text(orderlog("export", "--db", str(db)).out)
    copy = tmp_path / "copy.db"
    first = orderlog("import", str(tmp_path / "log.jsonl"), "--db", str(copy), "--json").json()
    before = copy.read_bytes()
    again = orderlog("import", str(tmp_path / "log.jsonl"), "--db", str(copy), "--json")
    assert again.code == 0
    assert again.json() == {"imported": 0, "skipped": first["imported"], "head": first["head"]}
    assert copy.read_bytes() == before
    assert (
        "already in the log"
        in orderlog("import", str(tmp_path / "log.jsonl"), "--db", str(copy)).out
    )
    assert orderlog("verify", "--db", str(copy)).code == 0


def test_an_import_that_overlaps_the_log_adds_only_the_new_events(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    (tmp_path / "early.jsonl").write_text(orderlog("export", "--db", str(db)).out)
    copy = tmp_path / "copy.db"
    held = orderlog("import", str(tmp_path / "early.jsonl"), "--db", str(copy), "--json").json()
    applied(orderlog, db, tmp_path, [step("dispatch_order", "o1", 1), *cancelled("o2")])
    (tmp_path / "all.jsonl").write_text(orderlog("export", "--db", str(db)).out)
    result = orderlog("import", str(tmp_path / "all.jsonl"), "--db", str(copy), "--json").json()
    total = len(exported(orderlog, db))
    assert (result["imported"], result["skipped"]) == (total - held["imported"], held["imported"])
    assert orderlog("export", "--db", str(copy)).out == orderlog("export", "--db", str(db)).out
    # One order's slice of the log is held whole by the log: importing it is a no-op too.
    (tmp_path / "o2.jsonl").write_text(orderlog("export", "--db", str(db), "--order", "o2").out)
    slice_ = orderlog("import", str(tmp_path / "o2.jsonl"), "--db", str(copy), "--json").json()
    assert (slice_["imported"], slice_["skipped"]) == (0, 3)


def test_an_export_that_contradicts_the_log_is_refused(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    other = tmp_path / "other.db"
    applied(orderlog, other, tmp_path, [place("o1"), step("dispatch_order", "o1", 1)])
    (tmp_path / "other.jsonl").write_text(orderlog("export", "--db", str(other)).out)
    before = orderlog("export", "--db", str(db)).out
    run = orderlog("import", str(tmp_path / "other.jsonl"), "--db", str(db))
    assert_one_line_error(run, "invalid_append")
    assert "differs from the event the log holds" in run.err
    assert orderlog("export", "--db", str(db)).out == before


# -- where the database is -----------------------------------------------------------------------


def test_orderlog_db_sets_the_default_database(
    orderlog: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = tmp_path / "env.db"
    source = write_jsonl(tmp_path / "in.jsonl", [place("o1")])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORDERLOG_DB", str(chosen))
    assert orderlog("apply", str(source)).code == 0
    assert chosen.exists()
    assert not (tmp_path / "orderlog.db").exists()
    assert orderlog("status", "o1", "--json").json()["status"] == "placed"
    # The demo never takes ORDERLOG_DB for its own file.
    assert orderlog("demo", "--json").code == 0
    assert (tmp_path / "orderlog-demo.db").exists()
    assert orderlog("status", "o1", "--json").json()["status"] == "placed"


def test_db_may_come_before_the_command(orderlog: Any, db: Path, tmp_path: Path) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    assert orderlog("--db", str(db), "status", "o1", "--json").json()["order_id"] == "o1"
    other = tmp_path / "other.db"
    applied(orderlog, other, tmp_path, [place("o9")])
    # Given twice, the one after the command wins.
    run = orderlog("--db", str(db), "status", "o9", "--db", str(other), "--json")
    assert run.json()["order_id"] == "o9"


def test_apply_and_import_say_when_they_create_a_log(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    first = applied(orderlog, db, tmp_path, [place("o1")])
    assert first.err.splitlines()[0] == f"orderlog: created a new log at {db}"
    assert "created" not in applied(orderlog, db, tmp_path, [place("o2")]).err
    (tmp_path / "log.jsonl").write_text(orderlog("export", "--db", str(db)).out)
    copy = tmp_path / "copy.db"
    run = orderlog("import", str(tmp_path / "log.jsonl"), "--db", str(copy))
    assert run.err == f"orderlog: created a new log at {copy}\n"


@pytest.mark.parametrize("command", ["apply", "import", "demo"])
def test_a_database_in_a_folder_that_does_not_exist_is_refused(
    orderlog: Any, tmp_path: Path, command: str
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [])
    missing = tmp_path / "no-such-folder" / "shop.db"
    args = (
        (command, "--db", str(missing))
        if command == "demo"
        else (command, str(source), "--db", str(missing))
    )
    run = orderlog(*args)
    assert run.code == 2
    assert_one_line_error(run, "database_not_found")
    assert f"the folder {missing.parent} does not exist" in run.err
    assert str(missing) in run.err  # the path as given, not a file the demo writes beside it
    assert not missing.parent.exists()


@pytest.mark.parametrize("command", ["project", "replay"])
def test_a_read_database_in_a_folder_that_does_not_exist_is_refused(
    orderlog: Any, db: Path, tmp_path: Path, command: str
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    missing = tmp_path / "no-such-folder" / "read.db"
    run = orderlog(command, "--db", str(db), "--into", str(missing))
    assert run.code == 2
    assert_one_line_error(run, "database_not_found")
    assert f"the folder {missing.parent} does not exist" in run.err
    assert not missing.parent.exists()
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 200)
    run = orderlog(command, "--db", str(db), "--into", str(text))
    assert_one_line_error(run, "foreign_database")
    assert text.read_text() == "not a database\n" * 200


# -- exit codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (KeyboardInterrupt(), "interrupted"),
        (RuntimeError("boom\nsecond line"), "internal_error"),
        (SystemExit(70), None),
    ],
)
def test_an_interrupt_or_a_fault_is_exit_2_never_another_code(
    orderlog: Any,
    db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: BaseException,
    code: str | None,
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])

    def failing(data: Any) -> None:
        raise fault

    monkeypatch.setattr(render, "status_view", failing)
    run = orderlog("status", "o1", "--db", str(db))
    assert run.code == 2
    assert "Traceback" not in run.err
    if code is not None:
        # After Ctrl-C, click first ends the terminal's "^C" line: the message is one line.
        message = run.err.strip()
        assert message.count("\n") == 0
        assert message.startswith("orderlog: ")
        assert message.endswith(f"[{code}]")
    if isinstance(fault, RuntimeError):
        assert "boom second line" in run.err


# -- strict input --------------------------------------------------------------------------------


def results(run: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run.out.splitlines()]


def test_a_line_of_invalid_utf8_is_one_refused_line(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    good = [json.dumps(place(f"o{n}")).encode() for n in (1, 2)]
    source.write_bytes(good[0] + b"\n" + b'{"type": "caf\xe9"}\n' + good[1] + b"\n")
    found = results(orderlog("apply", str(source), "--db", str(db)))
    assert [(r["line"], r["ok"]) for r in found] == [(1, True), (2, False), (3, True)]
    assert found[1]["error"]["code"] == "invalid_command"
    assert "not UTF-8" in found[1]["error"]["message"]
    assert found[1]["events"] == []


def test_a_byte_order_mark_at_the_start_is_accepted(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + json.dumps(place("o1")).encode() + b"\r\n")
    assert [r["ok"] for r in results(orderlog("apply", str(source), "--db", str(db)))] == [True]
    export = orderlog("export", "--db", str(db)).out
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + export.encode())
    run = orderlog("import", str(tmp_path / "bom.jsonl"), "--db", str(tmp_path / "copy.db"))
    assert run.code == 0, run.err


def test_duplicate_keys_are_refused_naming_the_key(orderlog: Any, db: Path, tmp_path: Path) -> None:
    text = json.dumps(place("o1"))
    twice = text[:-1] + ', "order_id": "o2"}'
    nested = text.replace('"sku": "SERUM"', '"sku": "SERUM", "sku": "OTHER"')
    source = tmp_path / "in.jsonl"
    source.write_text(f"{twice}\n{nested}\n{text}\n")
    found = results(orderlog("apply", str(source), "--db", str(db)))
    assert [(r["line"], r["ok"]) for r in found] == [(1, False), (2, False), (3, True)]
    assert [r["error"]["code"] for r in found[:2]] == ["invalid_command"] * 2
    assert found[0]["error"]["message"].startswith("order_id: is given twice")
    assert found[1]["error"]["message"].startswith("sku: is given twice")
    lines = orderlog("export", "--db", str(db)).out.splitlines()
    lines[0] = lines[0][:-1] + ',"type":"PolicyRecorded"}'
    (tmp_path / "dup.jsonl").write_text("\n".join(lines) + "\n")
    run = orderlog("import", str(tmp_path / "dup.jsonl"), "--db", str(tmp_path / "copy.db"))
    assert_one_line_error(run, "invalid_append")
    assert "line 1: type: is given twice" in run.err


def test_an_import_with_invalid_utf8_names_the_line_and_imports_nothing(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    lines = orderlog("export", "--db", str(db)).out.encode().splitlines()
    (tmp_path / "bad.jsonl").write_bytes(lines[0] + b"\n" + lines[1][:-2] + b"\xff}\n")
    copy = tmp_path / "copy.db"
    run = orderlog("import", str(tmp_path / "bad.jsonl"), "--db", str(copy))
    assert_one_line_error(run, "invalid_append")
    assert "line 2: the line is not UTF-8" in run.err
    assert not copy.exists()


# -- files the tool must not take for its own ----------------------------------------------------


def test_the_demo_never_deletes_a_log_that_only_looks_like_a_demo(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    forged = [{**c, "actor": "orderlog-demo"} for c in journey("o1")]
    applied(orderlog, db, tmp_path, forged)
    before = db.read_bytes()
    assert_one_line_error(orderlog("demo", "--db", str(db)), "foreign_database")
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_the_demo_replaces_its_own_log_but_not_one_with_more_in_it(
    orderlog: Any, tmp_path: Path
) -> None:
    demo = tmp_path / "demo.db"
    assert orderlog("demo", "--db", str(demo), "--json").code == 0
    assert orderlog("demo", "--db", str(demo), "--json").code == 0  # its own: replaced
    applied(orderlog, demo, tmp_path, [place("mine")])
    assert_one_line_error(orderlog("demo", "--db", str(demo)), "foreign_database")
    assert orderlog("status", "mine", "--db", str(demo), "--json").json()["status"] == "placed"
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert orderlog("demo", "--db", str(empty), "--json").code == 0
    assert orderlog("verify", "--db", str(empty)).code == 0


def test_project_refuses_a_read_database_built_from_another_log(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    read = tmp_path / "read.db"
    assert orderlog("project", "--db", str(db), "--into", str(read)).code == 0
    other = tmp_path / "other.db"
    applied(orderlog, other, tmp_path, [place("o9")])
    before = sqlite3.connect(read).execute("SELECT order_id FROM orders").fetchall()
    run = orderlog("project", "--db", str(other), "--into", str(read))
    assert_one_line_error(run, "foreign_database")
    assert "another log" in run.err
    assert sqlite3.connect(read).execute("SELECT order_id FROM orders").fetchall() == before
    assert orderlog("project", "--db", str(db), "--into", str(read)).code == 0
    # A replay rebuilds the file from scratch, and from then on it belongs to that log.
    assert orderlog("replay", "--db", str(other), "--into", str(read)).code == 0
    assert orderlog("project", "--db", str(other), "--into", str(read)).code == 0
    assert_one_line_error(
        orderlog("project", "--db", str(db), "--into", str(read)), "foreign_database"
    )


def test_the_demo_refuses_a_postgres_dsn(orderlog: Any) -> None:
    run = orderlog("demo", "--db", "postgresql://postgres@127.0.0.1:5432/test")
    assert run.code == 2
    assert "give --db a file's path, not a DSN" in run.err
    assert "[usage_error]" in run.err
