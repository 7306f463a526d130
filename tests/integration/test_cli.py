"""The `orderlog` tool, command by command, including bad input and bad database files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.clitools import applied, assert_one_line_error, write_jsonl
from tests.integration.workloads import ORDER_PAID, SERUM_PAID, cancelled, journey, place, step
from tests.support import at

# -- apply ---------------------------------------------------------------------------------------


def test_apply_prints_one_result_per_line_in_the_spec_shape(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    run = applied(orderlog, db, tmp_path, [*cancelled("o2"), step("dispatch_order", "o2", 1)])
    results = [json.loads(line) for line in run.out.splitlines()]
    ids = {"order_id": "o2", "command_id": None}
    assert results == [
        {
            "line": 1,
            **ids,
            "ok": True,
            "events": ["PolicyRecorded", "OrderPlaced"],
            "outcome": "accepted",
        },
        {
            "line": 2,
            **ids,
            "ok": True,
            "events": ["OrderCancelled", "RefundDecided"],
            "outcome": "accepted",
        },
        {
            "line": 3,
            **ids,
            "ok": False,
            "error": {
                "code": "illegal_transition",
                "message": "cannot dispatch the order: order o2 is cancelled (possible now: "
                "decide_order_refund, issue_order_refund)",
            },
            "events": [],
            "outcome": "refused",
        },
    ]
    assert run.code == 1  # a refused line makes the exit code say so


def test_apply_reports_a_policy_decline_with_its_event(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    run = applied(orderlog, db, tmp_path, journey("o1"))
    last = json.loads(run.out.splitlines()[-1])
    assert last["ok"] is False
    assert last["events"] == ["ReturnDeclined"]
    assert last["error"]["code"] == "return_window_closed"


def test_apply_exits_zero_when_every_line_is_accepted(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    run = applied(orderlog, db, tmp_path, [place("o1"), step("dispatch_order", "o1", 1)])
    assert run.code == 0
    assert all(json.loads(line)["ok"] for line in run.out.splitlines())


def test_apply_reads_standard_input(
    orderlog: Any, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(place("o1")) + "\n"))
    run = orderlog("apply", "-", "--db", str(db))
    assert json.loads(run.out) == {
        "line": 1,
        "order_id": "o1",
        "command_id": None,
        "ok": True,
        "events": ["PolicyRecorded", "OrderPlaced"],
        "outcome": "accepted",
    }


def test_apply_refuses_malformed_lines_and_carries_on(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    bad_time = {**place("o1"), "at": "2026-03-02T09:00:00"}
    float_price = place("o2")
    float_price["lines"][0]["unit_price"] = 25.0
    source = write_jsonl(tmp_path / "in.jsonl", [bad_time, float_price], "{not json\n\n")
    with (tmp_path / "in.jsonl").open("a") as more:
        more.write(json.dumps(place("o3")) + "\n")
    results = [
        json.loads(line)
        for line in orderlog("apply", str(source), "--db", str(db)).out.splitlines()
    ]
    assert [(r["line"], r["ok"]) for r in results] == [
        (1, False),
        (2, False),
        (3, False),
        (5, True),
    ]
    assert [r["error"]["code"] for r in results[:3]] == ["invalid_command"] * 3
    assert "at" in results[0]["error"]["message"]
    assert "lines[0].unit_price" in results[1]["error"]["message"]
    assert all(r["events"] == [] for r in results[:3])


def test_apply_on_a_missing_input_file_is_one_clear_line(orderlog: Any, db: Path) -> None:
    run = orderlog("apply", "no-such-file.jsonl", "--db", str(db))
    assert run.code == 2
    assert run.err.startswith("orderlog: ")
    assert run.err.count("\n") == 1


# -- status, history, explain, refunds ------------------------------------------------------------


def test_status_json_has_the_spec_fields(orderlog: Any, db: Path, tmp_path: Path) -> None:
    applied(orderlog, db, tmp_path, journey("o1"))
    data = orderlog(
        "status", "o1", "--db", str(db), "--json", "--as-of", "2026-05-01T00:00:00Z"
    ).json()
    assert {
        key: data[key]
        for key in (
            "order_id",
            "policy",
            "status",
            "currency",
            "paid_total",
            "refunded_total",
            "refund_pending",
        )
    } == {
        "order_id": "o1",
        "policy": "kiyomi",
        "status": "partially_refunded",
        "currency": "USD",
        "paid_total": ORDER_PAID,
        "refunded_total": SERUM_PAID,
        "refund_pending": 0,
    }
    assert [r["return_id"] for r in data["returns"]] == ["r1", "r2"]
    assert set(data["returns"][0]) == {"return_id", "status", "refund_amount", "refund_due_by"}


def test_status_for_people_names_the_order_and_its_returns(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, journey("o1"))
    out = orderlog("status", "o1", "--db", str(db)).out
    assert "Order o1" in out
    assert "r1" in out
    assert "refunded" in out
    assert "USD 25.00" in out


@pytest.mark.parametrize("command", ["status", "history", "explain"])
def test_an_unknown_order_is_one_clear_line(
    orderlog: Any, db: Path, tmp_path: Path, command: str
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    assert_one_line_error(orderlog(command, "nope", "--db", str(db)), "unknown_order")


@pytest.mark.parametrize(
    "args",
    [
        ("status", "o1"),
        ("history", "o1"),
        ("explain", "o1"),
        ("refunds",),
        ("replay",),
        ("verify",),
        ("export",),
    ],
)
def test_a_missing_database_is_refused_and_not_created(
    orderlog: Any, tmp_path: Path, args: tuple[str, ...]
) -> None:
    missing = tmp_path / "missing.db"
    assert_one_line_error(orderlog(*args, "--db", str(missing)), "database_not_found")
    assert not missing.exists()


@pytest.mark.parametrize("args", [("status", "o1"), ("verify",), ("apply", "-"), ("export",)])
def test_a_foreign_database_is_refused_and_left_alone(
    orderlog: Any, tmp_path: Path, args: tuple[str, ...]
) -> None:
    other = tmp_path / "crm.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    assert_one_line_error(orderlog(*args, "--db", str(other)), "foreign_database")
    assert other.read_bytes() == before
    text = tmp_path / "notes.db"
    text.write_text("these are my notes\n" * 100)
    assert_one_line_error(orderlog(*args, "--db", str(text)), "foreign_database")


def test_history_lists_every_event_with_who_when_and_why(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    commands = [{**c, "actor": "warehouse-7"} for c in journey("o1")]
    applied(orderlog, db, tmp_path, commands)
    entries = orderlog("history", "o1", "--db", str(db), "--json").json()
    assert [e["event"] for e in entries] == [
        "OrderPlaced",
        "OrderDispatched",
        "OrderDelivered",
        "ReturnAuthorized",
        "ReturnReceived",
        "ReturnInspected",
        "RefundDecided",
        "RefundIssued",
        "ReturnDeclined",
    ]
    assert {e["actor"] for e in entries} == {"warehouse-7"}
    assert entries[-1]["what"].startswith("return r2 declined [return_window_closed]")
    assert entries[0]["at"] == "2026-03-02T09:00:00.000000+00:00"
    text = orderlog("history", "o1", "--db", str(db)).out
    assert "[return_window_closed]" in text  # printed as is, not eaten as markup


def test_explain_walks_through_the_refund_with_clause_words(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, journey("o1"))
    data = orderlog("explain", "o1", "--db", str(db), "--json").json()
    [refund] = data["refunds"]
    assert refund["amount"] == SERUM_PAID
    [goods] = refund["steps"]
    assert goods["clause"] == "kiyomi/unused-unopened-undamaged"
    assert "unused, unopened and undamaged" in goods["clause_text"]
    text = orderlog("explain", "o1", "--db", str(db)).out
    assert "1 x SERUM (line l1): USD 25.00" in text
    assert "kiyomi/refund-within-10-business-days" in text


def test_refunds_json_as_of_a_time(orderlog: Any, db: Path, tmp_path: Path) -> None:
    applied(orderlog, db, tmp_path, cancelled("o2"))
    report = orderlog(
        "refunds", "--db", str(db), "--json", "--as-of", "2026-03-02T10:00:00+00:00"
    ).json()
    assert [(r["order_id"], r["amount"]) for r in report["pending"]] == [("o2", ORDER_PAID)]
    late = orderlog("refunds", "--db", str(db), "--json", "--as-of", "2026-04-30T00:00:00Z").json()
    assert [(r["order_id"], r["overdue"]) for r in late["overdue"]] == [("o2", True)]


def test_a_time_without_an_offset_is_refused(orderlog: Any, db: Path, tmp_path: Path) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    run = orderlog("refunds", "--db", str(db), "--as-of", "2026-03-02T10:00:00")
    assert run.code == 2
    assert "UTC offset" in run.err
    assert run.err.count("\n") == 1


# -- replay, verify, export, import, project ----------------------------------------------------


def test_replay_rebuilds_in_place_and_into_a_file(orderlog: Any, db: Path, tmp_path: Path) -> None:
    applied(orderlog, db, tmp_path, [*journey("o1"), *cancelled("o2")])
    in_place = orderlog("replay", "--db", str(db), "--json").json()
    assert in_place["into"] == "in place"
    assert in_place["orders_by_status"] == {"cancelled": 1, "partially_refunded": 1}
    copy = tmp_path / "read.db"
    into = orderlog("replay", "--db", str(db), "--into", str(copy), "--json").json()
    assert into["orders_by_status"] == in_place["orders_by_status"]
    as_of = orderlog("replay", "--db", str(db), "--as-of", "2026-03-02T09:30:00Z", "--json").json()
    assert as_of["orders_by_status"] == {"cancelled": 1, "placed": 1}
    assert orderlog("verify", "--db", str(db)).code == 0


def test_replay_into_the_event_log_itself_is_refused(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    other = tmp_path / "other.db"
    applied(orderlog, other, tmp_path, [place("o9")])
    assert_one_line_error(
        orderlog("replay", "--db", str(db), "--into", str(other)), "foreign_database"
    )


def test_verify_passes_an_intact_log_and_prints_its_digest(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, journey("o1"))
    report = orderlog("verify", "--db", str(db), "--json").json()
    assert report["ok"] is True
    assert report["checks"] == {"chain": "ok", "paths": "ok", "read_models": "ok"}
    assert orderlog("verify", "--db", str(db), "--digest", report["head"]).code == 0
    assert report["head"] in orderlog("verify", "--db", str(db)).out


def tamper(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_verify_names_the_first_altered_event_and_fails(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, journey("o1"))
    digest = orderlog("verify", "--db", str(db), "--json").json()["head"]
    placed = "SELECT position FROM events WHERE type = 'OrderPlaced'"
    tamper(
        db, f"UPDATE events SET data = replace(data, '2500', '9500') WHERE position = ({placed})"
    )
    run = orderlog("verify", "--db", str(db), "--json")
    assert run.code == 1
    report = run.json()
    position = sqlite3.connect(db).execute(placed).fetchone()[0]
    assert report["problem"]["position"] == position
    assert report["problem"]["kind"] == "hash_mismatch"
    text = orderlog("verify", "--db", str(db), "--digest", digest)
    assert text.code == 1
    assert f"problem at position {position}" in text.out


def test_verify_catches_read_models_that_disagree_with_the_log(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, journey("o1"))
    conn = sqlite3.connect(db)
    conn.execute("UPDATE orders SET refunded_total = 0")
    conn.commit()
    conn.close()
    report = orderlog("verify", "--db", str(db), "--json").json()
    assert report["ok"] is False
    assert report["problem"]["kind"] == "read_model_mismatch"
    assert report["checks"]["chain"] == "ok"


def test_a_bad_digest_is_one_clear_line(orderlog: Any, db: Path, tmp_path: Path) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    assert_one_line_error(orderlog("verify", "--db", str(db), "--digest", "12:xyz"), "usage_error")


def test_export_then_import_reproduces_the_log_exactly(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [*journey("o1"), *cancelled("o2")])
    exported = orderlog("export", "--db", str(db)).out
    lines = exported.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["position"] for r in records] == list(range(1, len(lines) + 1))
    assert (records[0]["type"], records[0]["data"]["name"]) == ("PolicyRecorded", "kiyomi")
    assert (records[1]["type"], records[1]["data"]["order_id"]) == ("OrderPlaced", "o1")
    (tmp_path / "log.jsonl").write_text(exported)
    copy = tmp_path / "copy.db"
    result = orderlog("import", str(tmp_path / "log.jsonl"), "--db", str(copy), "--json").json()
    assert result["imported"] == len(lines)
    original = orderlog("verify", "--db", str(db), "--json").json()["head"]
    assert result["head"] == original
    assert orderlog("verify", "--db", str(copy), "--digest", original).code == 0
    assert orderlog("status", "o2", "--db", str(copy), "--json").json()["status"] == "cancelled"


def test_an_altered_export_is_refused_and_nothing_is_imported(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, journey("o1"))
    lines = orderlog("export", "--db", str(db)).out.splitlines()
    altered = json.loads(lines[3])
    altered["data"]["return_id"] = "r9"
    lines[3] = json.dumps(altered)
    (tmp_path / "log.jsonl").write_text("\n".join(lines) + "\n")
    copy = tmp_path / "copy.db"
    run = orderlog("import", str(tmp_path / "log.jsonl"), "--db", str(copy))
    assert_one_line_error(run, "invalid_append")
    assert "row 4" in run.err
    assert orderlog("export", "--db", str(copy)).out == ""


def test_project_keeps_a_separate_read_database_caught_up(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    read = tmp_path / "read.db"
    first = orderlog("project", "--db", str(db), "--into", str(read))
    assert first.code == 0
    assert "read models at position 2" in first.out
    applied(orderlog, db, tmp_path, [step("dispatch_order", "o1", 1)])
    second = orderlog("project", "--db", str(db), "--into", str(read))
    assert "applied 1 event(s); read models at position 3" in second.out
    conn = sqlite3.connect(read)
    assert conn.execute("SELECT state FROM orders").fetchall() == [("dispatched",)]


def test_diagram_prints_the_three_machines_in_mermaid(orderlog: Any) -> None:
    out = orderlog("diagram").out
    assert out.count("stateDiagram-v2") == 3
    assert "placed --> cancelled: cancel_order" in out
    assert "received --> inspected: accept_inspection" in out


# -- demo and the installed command ----------------------------------------------------------------


def test_demo_writes_a_fresh_log_that_verifies(orderlog: Any, tmp_path: Path) -> None:
    demo = tmp_path / "demo.db"
    summary = orderlog("demo", "--db", str(demo), "--json").json()
    counts = summary["outcomes"]
    assert counts["accepted"] > counts["declined"] > 0
    assert counts["refused"] > 0
    assert {order["policy"] for order in summary["orders"]} >= {
        "kiyomi",
        "kos-allure",
        "allegra-k",
        "kgm-brand",
    }
    assert summary["refunds"]["overdue"]
    assert summary["refunds"]["pending"]
    again = orderlog("demo", "--db", str(demo), "--json").json()
    assert again["commands"] == summary["commands"]  # replaced, not appended to
    assert orderlog("verify", "--db", str(demo)).code == 0


def test_demo_never_overwrites_a_real_log(orderlog: Any, db: Path, tmp_path: Path) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    assert_one_line_error(orderlog("demo", "--db", str(db)), "foreign_database")
    assert orderlog("status", "o1", "--db", str(db), "--json").json()["status"] == "placed"


def test_the_installed_command_runs_and_fails_in_one_line(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "orderlog"
    ok = subprocess.run([script, "--help"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0
    assert "verify" in ok.stdout
    bad = subprocess.run(
        [script, "status", "o1", "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("orderlog: no orderlog database")
    assert "Traceback" not in bad.stderr


def skip_dispatch(db: Path) -> None:
    """Append, with the bare store, a delivery that never went through dispatch."""
    from eventstore import NewEvent, SQLiteEventStore

    store = SQLiteEventStore(db)
    delivered = {"order_id": "o1", "returns_close_on": None}
    store.append("order-o1", [NewEvent("OrderDelivered", delivered, at(1))])
    store.close()


def test_verify_finds_a_stream_that_is_no_legal_path(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    skip_dispatch(db)
    orderlog("replay", "--db", str(db))  # the read models cannot follow it either
    report = orderlog("verify", "--db", str(db), "--json").json()
    assert report["checks"]["chain"] == "ok"
    assert report["problem"]["kind"] == "illegal_path"
    assert report["problem"]["position"] == 3
    assert "confirm_delivery" in report["problem"]["message"]


def test_an_export_with_an_illegal_path_is_not_imported(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    skip_dispatch(db)
    (tmp_path / "log.jsonl").write_text(orderlog("export", "--db", str(db)).out)
    copy = tmp_path / "copy.db"
    run = orderlog("import", str(tmp_path / "log.jsonl"), "--db", str(copy))
    assert_one_line_error(run, "invalid_append")
    assert "OrderDelivered" in run.err
    assert orderlog("export", "--db", str(copy)).out == ""


def rechained(records: list[dict[str, Any]]) -> str:
    """Exported records with every hash recomputed: what anyone can forge without a key."""
    from eventstore.codec import GENESIS_HASH, canonical_json
    from eventstore.rows import StoredRow, row_hash

    previous, lines = GENESIS_HASH, []
    for record in records:
        row = StoredRow(
            **{
                **record,
                "data": canonical_json(record["data"]),
                "metadata": canonical_json(record["metadata"]),
                "hash": "",
            }
        )
        record = {**record, "hash": row_hash(row, previous)}
        previous = record["hash"]
        lines.append(json.dumps(record))
    return "\n".join(lines) + "\n"


def test_an_event_filed_in_another_orders_stream_is_not_imported(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    records = [json.loads(line) for line in orderlog("export", "--db", str(db)).out.splitlines()]
    records[1]["stream_id"] = "order-o2"  # o1's OrderPlaced, filed under o2
    (tmp_path / "forged.jsonl").write_text(rechained(records))
    copy = tmp_path / "copy.db"
    run = orderlog("import", str(tmp_path / "forged.jsonl"), "--db", str(copy))
    assert_one_line_error(run, "invalid_append")
    assert "order-o1 is in order-o2" in run.err
    assert orderlog("export", "--db", str(copy)).out == ""


def test_exported_rows_with_the_wrong_json_types_are_not_imported(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    records = [json.loads(line) for line in orderlog("export", "--db", str(db)).out.splitlines()]
    records[0]["schema_version"] = "1"  # text where the column holds an integer
    (tmp_path / "typed.jsonl").write_text(rechained(records))
    copy = tmp_path / "copy.db"
    run = orderlog("import", str(tmp_path / "typed.jsonl"), "--db", str(copy))
    assert_one_line_error(run, "invalid_append")
    assert "schema_version must be of type int" in run.err
    assert orderlog("export", "--db", str(copy)).out == ""


def test_verify_finds_an_order_smuggled_in_before_position_one(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_positions")
    conn.execute(
        "INSERT INTO events SELECT 0, 'order-evil', 1, type, schema_version, "
        "replace(data, '\"o1\"', '\"evil\"'), '{}', occurred_at, recorded_at, 'junk', NULL "
        "FROM events WHERE type = 'OrderPlaced'"
    )
    conn.commit()
    conn.close()
    report = orderlog("verify", "--db", str(db), "--json").json()
    assert report["ok"] is False
    assert (report["problem"]["position"], report["problem"]["kind"]) == (0, "outside_chain")


def events_only_copy(tmp_path: Path) -> Path:
    """A log written without read models, as an auditor might be handed one."""
    from eventstore import SQLiteEventStore
    from lifecycle import OrderService, PolicyRegistry

    path = tmp_path / "copy.db"
    service = OrderService(SQLiteEventStore(path), PolicyRegistry.shipped())
    for command in journey("o1"):
        service.handle(command)
    service.store.close()
    return path


def test_reading_an_auditors_copy_changes_nothing_in_it(orderlog: Any, tmp_path: Path) -> None:
    copy = events_only_copy(tmp_path)
    before = copy.read_bytes()
    status = orderlog("status", "o1", "--db", str(copy), "--json").json()
    assert status["status"] == "partially_refunded"
    for args in (("history", "o1"), ("explain", "o1"), ("refunds",), ("export",)):
        assert orderlog(*args, "--db", str(copy)).code == 0, args
    report = orderlog("verify", "--db", str(copy), "--json").json()
    assert report["problem"]["kind"] == "read_models_missing"
    assert orderlog("replay", "--db", str(copy), "--as-of", "2026-03-05T00:00:00Z").code == 0
    assert copy.read_bytes() == before


def test_apply_carries_on_after_lines_no_command_can_come_from(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    far_future = {**place("o1"), "at": "9999-12-31T23:00:00Z"}
    deep = "[" * 100_000 + "]" * 100_000
    source = tmp_path / "odd.jsonl"
    source.write_text(json.dumps(far_future) + "\n" + deep + "\n" + json.dumps(place("o2")) + "\n")
    run = orderlog("apply", str(source), "--db", str(db))
    results = [json.loads(line) for line in run.out.splitlines()]
    assert [(r["line"], r["ok"]) for r in results] == [(1, False), (2, False), (3, True)]
    assert "year 9999 is out of range" in results[0]["error"]["message"]
    assert results[1]["error"]["code"] == "invalid_command"


def test_a_repeated_command_id_is_marked_as_a_replay(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    command = {**place("o1"), "command_id": "shop-req-1"}
    run = applied(orderlog, db, tmp_path, [command, command])
    first, again = (json.loads(line) for line in run.out.splitlines())
    assert "duplicate" not in first
    assert again == {**first, "line": 2, "duplicate": True}


def test_diagram_takes_db_like_every_command(orderlog: Any, tmp_path: Path) -> None:
    assert orderlog("diagram", "--db", str(tmp_path / "any.db")).code == 0
    assert not (tmp_path / "any.db").exists()
