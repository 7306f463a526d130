"""Output for people (issue 12, items 7 and 11): times with their zone, tables that keep their
important columns whole at 80 columns, no stale lines, history with each event's data,
one Mermaid block per machine, and a demo that says what it refuses and why."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lifecycle.machines import ORDER_MACHINE, RETURN_MACHINE, SUBSCRIPTION_MACHINE
from lifecycle.money import format_money
from projections.demo import run_demo
from tests.integration.clitools import applied, assert_one_line_error
from tests.integration.workloads import journey, place, step

AS_OF = "2026-04-11T10:00:00Z"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    run_demo(path, quiet=True)
    return path


def test_times_for_people_carry_their_zone(orderlog: Any, db: Path, tmp_path: Path) -> None:
    applied(orderlog, db, tmp_path, journey("o1"))
    assert "2026-03-02 09:00 UTC" in orderlog("history", "o1", "--db", str(db)).out
    assert "placed 2026-03-02 09:00 UTC" in orderlog("status", "o1", "--db", str(db)).out
    tokyo = orderlog("history", "o1", "--db", str(db), "--tz", "Asia/Tokyo").out
    assert "2026-03-02 18:00 JST" in tokyo
    assert "UTC" not in tokyo
    # --tz changes what people read, never the data scripts read.
    data = orderlog("history", "o1", "--db", str(db), "--tz", "Asia/Tokyo", "--json").json()
    assert data[0]["at"] == "2026-03-02T09:00:00.000000+00:00"
    paris = orderlog("refunds", "--db", str(db), "--tz", "Europe/Paris", "--as-of", AS_OF).out
    assert "as of 2026-04-11 12:00 CEST" in paris


def test_an_unknown_zone_is_one_clear_line(orderlog: Any, db: Path, tmp_path: Path) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    run = orderlog("status", "o1", "--db", str(db), "--tz", "Mars/Olympus")
    assert run.code == 2
    assert_one_line_error(run, "usage_error")
    assert "Mars/Olympus" in run.err


def test_a_delivered_order_shows_no_cancellation_window(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1"), place("o2")])
    fresh = orderlog("status", "o1", "--db", str(db), "--as-of", "2026-03-02T09:01:00Z").out
    assert "cancellable until 2026-03-02 09:05 UTC" in fresh
    later = orderlog("status", "o1", "--db", str(db), "--as-of", "2026-03-02T10:00:00Z").out
    assert "cancellable until" not in later
    assert "the cancellation window closed 2026-03-02 09:05 UTC" in later
    applied(
        orderlog,
        db,
        tmp_path,
        [step("dispatch_order", "o2", 0.5), step("confirm_delivery", "o2", 2)],
    )
    delivered = orderlog("status", "o2", "--db", str(db), "--as-of", "2026-03-05T00:00:00Z").out
    assert "cancel" not in delivered
    assert "returns accepted until 2026-04-03" in delivered
    closed = orderlog("status", "o2", "--db", str(db), "--as-of", "2026-05-01T00:00:00Z")
    assert "returns accepted" not in closed.out
    assert "the return window ended 2026-04-03" in closed.out


def test_history_json_carries_each_events_data(orderlog: Any, db: Path, tmp_path: Path) -> None:
    applied(orderlog, db, tmp_path, journey("o1"))
    entries = orderlog("history", "o1", "--db", str(db), "--json").json()
    lines = orderlog("export", "--db", str(db)).out.splitlines()
    exported = {record["position"]: record["data"] for record in map(json.loads, lines)}
    assert entries
    for entry in entries:
        assert entry["data"] == exported[entry["position"]]


def visible_lines(text: str) -> list[str]:
    return text.splitlines()


@pytest.mark.parametrize(
    "args",
    [
        ("history", "A-3001"),
        ("status", "A-3001", "--as-of", AS_OF),
        ("status", "G-4001", "--as-of", AS_OF),
        ("orders", "--as-of", AS_OF),
        ("returns", "--as-of", AS_OF),
        ("declines",),
        ("refunds", "--as-of", AS_OF),
        ("replay", "--as-of", AS_OF),
    ],
)
def test_at_80_columns_nothing_important_is_cut(
    orderlog: Any, demo_db: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    data = orderlog(*args, "--db", str(demo_db), "--json").json()
    monkeypatch.setenv("COLUMNS", "80")
    run = orderlog(*args, "--db", str(demo_db))
    assert run.code == 0
    lines = visible_lines(run.out)
    assert max(len(line) for line in lines) <= 80
    assert "…" not in run.out
    # History's clauses sit in its prose column; its own important column is the event type.
    keys = {"event"} if args[0] == "history" else {"status", "code", "clause"}
    for word in important_words(data, keys):
        assert any(re.search(rf"(^|\s){re.escape(word)}(\s|$)", line) for line in lines), word
    assert_money_whole(data, MONEY_SHOWN.get(args[0], set()), lines)


MONEY_SHOWN = {
    "status": {"paid_total", "refunded_total", "refund_pending", "refund_amount"},
    "orders": {"paid_total", "refund_pending"},
    "returns": {"refund_amount"},
    "refunds": {"decided", "issued", "amount"},
    "replay": {"decided", "issued"},
}
"""The amounts each command's table shows, by their key in its JSON."""


def assert_money_whole(data: Any, keys: set[str], lines: list[str], currency: str = "") -> None:
    """Every amount under one of `keys` in `data` is printed whole on one line (`USD 19.00`),
    never with its currency on one line and its number on the next."""
    if isinstance(data, list):
        for item in data:
            assert_money_whole(item, keys, lines, currency)
    elif isinstance(data, dict):
        currency = data.get("currency", currency)
        for key, value in data.items():
            if key in keys and type(value) is int:
                shown = format_money(value, currency)
                assert any(re.search(rf"(?<!\w){re.escape(shown)}(?!\d)", ln) for ln in lines), (
                    shown
                )
            else:
                assert_money_whole(value, keys, lines, currency)


def important_words(data: Any, keys: set[str]) -> set[str]:
    """Every value under one of `keys` (status, code, clause...) in a command's JSON output."""
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key in keys and isinstance(value, str):
                found.add(value)
            elif key != "data":  # an event's own data is not printed for people
                found |= important_words(value, keys)
    elif isinstance(data, list):
        for item in data:
            found |= important_words(item, keys)
    return found


def test_the_demo_at_80_columns_keeps_codes_whole(
    orderlog: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    run = orderlog("demo", "--db", str(tmp_path / "demo.db"))
    assert max(len(line) for line in run.out.splitlines()) <= 80
    assert "…" not in run.out
    for code in ("partial_bundle", "unsupported_currency", "cancellation_window_closed"):
        assert re.search(rf"\s{code}\s", run.out), code
    summary = orderlog("demo", "--db", str(tmp_path / "again.db"), "--json").json()
    statuses = {item["status"] for order in summary["orders"] for item in order["returns"]}
    assert "replacement_sent" in statuses
    for word in statuses | {order["status"] for order in summary["orders"]}:
        assert re.search(rf"(^|\s){word}(\s|$)", run.out, re.M), word
    assert_money_whole(summary["orders"], {"paid_total", "refunded_total"}, run.out.splitlines())


def test_status_says_when_the_return_window_has_ended(orderlog: Any, demo_db: Path) -> None:
    """A return still open keeps the order `return_in_progress` after its window: the window
    is then reported as ended, not as open."""
    args = ("status", "A-3001", "--db", str(demo_db), "--as-of", AS_OF)
    data = orderlog(*args, "--json").json()
    assert data["status"] == "return_in_progress"
    assert data["returns_close_on"] < AS_OF[:10]
    text = orderlog(*args).out
    assert f"the return window ended {data['returns_close_on']}" in text
    assert "returns accepted" not in text
    last_day = f"{data['returns_close_on']}T23:00:00Z"
    before = orderlog("status", "A-3001", "--db", str(demo_db), "--as-of", last_day).out
    assert f"returns accepted until {data['returns_close_on']}" in before


def test_status_shows_a_refund_decided_under_a_policy_without_a_deadline(
    orderlog: Any, demo_db: Path
) -> None:
    """KOS Allure states no refund deadline: an inspected return's refund has no due day, and
    its row says nothing there (it is not a crash)."""
    args = ("status", "S-2001", "--db", str(demo_db), "--as-of", "2026-03-10")
    [item] = orderlog(*args, "--json").json()["returns"]
    assert (item["status"], item["refund_due_by"]) == ("inspected", None)
    run = orderlog(*args)
    assert run.code == 0, run.err
    assert "inspected" in run.out


def test_a_table_without_rows_says_none(orderlog: Any, demo_db: Path) -> None:
    run = orderlog("refunds", "--db", str(demo_db), "--as-of", "2026-03-02T12:00:00Z")
    assert "Pending refunds: none" in run.out
    assert "Overdue refunds: none" in run.out


def test_diagram_prints_one_mermaid_block_per_machine(orderlog: Any) -> None:
    out = orderlog("diagram").out
    blocks = re.findall(r"```mermaid\n%% (\w+)\n(.*?)```", out, re.S)
    assert blocks == [
        (machine.name, machine.mermaid())
        for machine in (ORDER_MACHINE, RETURN_MACHINE, SUBSCRIPTION_MACHINE)
    ]
    assert orderlog("diagram", "--machine", "return").out == RETURN_MACHINE.mermaid()
    run = orderlog("diagram", "--machine", "refund")
    assert run.code == 2
    assert_one_line_error(run, "usage_error")


def test_the_demo_says_which_commands_it_refuses_and_why(orderlog: Any, tmp_path: Path) -> None:
    demo = tmp_path / "demo.db"
    summary = orderlog("demo", "--db", str(demo), "--json").json()
    refused = summary["not_accepted"]
    counts = summary["outcomes"]
    assert len(refused) == counts["declined"] + counts["refused"]
    assert {item["outcome"] for item in refused} == {"declined", "refused"}
    assert all(item["code"] and item["message"] for item in refused)
    text = orderlog("demo", "--db", str(demo)).out
    assert "on purpose" in text
    for item in refused:
        assert item["code"] in text
        assert item["type"] in text
    assert "differs on every run" in text
