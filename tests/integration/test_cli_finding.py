"""Finding things with the tool (issue 12, item 4): `orders`, `returns` and `declines` with
their filters, JSON and CSV, overdue refunds in days in `status` and `refunds`, and totals.

Most checks run on the demo log and hold each listing against another command's answer (a
status, the refunds report, a replay summary), so nothing here is a copied result."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from projections.demo import run_demo
from projections.listing import DECLINE_COLUMNS, ORDER_COLUMNS, RETURN_COLUMNS
from tests.integration.clitools import applied, assert_one_line_error
from tests.integration.workloads import step

AS_OF = "2026-04-11T10:00:00Z"
"""The demo's "now": an hour after its last command."""
TODAY = date(2026, 4, 11)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    run_demo(path, quiet=True)
    return path


def listing(orderlog: Any, demo_db: Path, command: str, *args: str) -> list[dict[str, Any]]:
    run = orderlog(command, "--db", str(demo_db), "--json", *args)
    assert run.code == 0, run.err
    rows: list[dict[str, Any]] = run.json()
    return rows


def test_orders_list_every_order_with_the_status_that_status_reports(
    orderlog: Any, demo_db: Path
) -> None:
    rows = listing(orderlog, demo_db, "orders", "--as-of", AS_OF)
    summary = orderlog("replay", "--db", str(demo_db), "--as-of", AS_OF, "--json").json()
    assert len(rows) == sum(summary["orders_by_status"].values())
    for row in rows:
        status = orderlog(
            "status", row["order_id"], "--db", str(demo_db), "--json", "--as-of", AS_OF
        )
        assert status.json()["status"] == row["status"], row["order_id"]
        assert status.json()["refund_pending"] == row["refund_pending"]
    placed = [row["placed_at"] for row in rows]
    assert placed == sorted(placed)


@pytest.mark.parametrize("word", ["closed", "return_in_progress", "partially_refunded"])
def test_orders_by_status_are_exactly_the_orders_in_that_status(
    orderlog: Any, demo_db: Path, word: str
) -> None:
    every = listing(orderlog, demo_db, "orders", "--as-of", AS_OF)
    found = listing(orderlog, demo_db, "orders", "--as-of", AS_OF, "--status", word)
    assert found == [row for row in every if row["status"] == word]
    assert found


def test_orders_by_policy_customer_and_day(orderlog: Any, demo_db: Path) -> None:
    every = listing(orderlog, demo_db, "orders")
    kiyomi = listing(orderlog, demo_db, "orders", "--policy", "kiyomi")
    assert kiyomi == [row for row in every if row["policy"] == "kiyomi"]
    both = listing(orderlog, demo_db, "orders", "--policy", "kiyomi", "--policy", "kgm-brand")
    assert {row["policy"] for row in both} == {"kiyomi", "kgm-brand"}
    customer = every[3]["customer_id"]
    assert [
        row["customer_id"] for row in listing(orderlog, demo_db, "orders", "--customer", customer)
    ] == [customer]
    day = every[5]["placed_at"][:10]
    that_day = listing(orderlog, demo_db, "orders", "--since", day, "--until", day)
    assert that_day == [row for row in every if row["placed_at"].startswith(day)]
    later = listing(orderlog, demo_db, "orders", "--since", f"{day}T12:00:00Z")
    assert later == [row for row in every if row["placed_at"] >= f"{day}T12"]


def test_overdue_orders_and_returns_are_the_refunds_reports_overdue_ones(
    orderlog: Any, demo_db: Path
) -> None:
    report = orderlog("refunds", "--db", str(demo_db), "--json", "--as-of", AS_OF).json()
    late = report["overdue"]
    assert late
    for row in late:
        assert row["days_overdue"] == (TODAY - date.fromisoformat(row["due_by"])).days > 0
    orders = listing(orderlog, demo_db, "orders", "--overdue", "--as-of", AS_OF)
    assert {row["order_id"] for row in orders} == {row["order_id"] for row in late}
    returns = listing(orderlog, demo_db, "returns", "--overdue", "--as-of", AS_OF)
    by_return = {(r["order_id"], r["return_id"]): r["days_overdue"] for r in late if r["return_id"]}
    assert {(r["order_id"], r["return_id"]): r["days_overdue"] for r in returns} == by_return
    # Before any refund was due, nothing is overdue.
    assert (
        listing(orderlog, demo_db, "orders", "--overdue", "--as-of", "2026-03-05T00:00:00Z") == []
    )


def test_status_marks_an_overdue_refund_in_days(orderlog: Any, demo_db: Path) -> None:
    report = orderlog("refunds", "--db", str(demo_db), "--json", "--as-of", AS_OF).json()
    late = report["overdue"][0]
    args = ("status", late["order_id"], "--db", str(demo_db), "--as-of", AS_OF)
    data = orderlog(*args, "--json").json()
    assert {
        (item["return_id"], item["amount"], item["days_overdue"])
        for item in data["overdue_refunds"]
    } >= {(late["return_id"], late["amount"], late["days_overdue"])}
    assert f"{late['days_overdue']} days overdue" in orderlog(*args).out


def test_refunds_prints_totals_per_currency(orderlog: Any, demo_db: Path) -> None:
    report = orderlog("refunds", "--db", str(demo_db), "--json", "--as-of", AS_OF).json()
    [usd] = report["currencies"]
    assert usd["currency"] == "USD"
    assert usd["decided"] == sum(row["decided"] for row in report["totals"])
    assert usd["issued"] == sum(row["issued"] for row in report["totals"])
    assert usd["pending"] == sum(row["amount"] for row in report["pending"])
    assert usd["overdue"] == sum(row["amount"] for row in report["overdue"])
    assert usd["decided"] - usd["issued"] == usd["pending"] + usd["overdue"]
    text = orderlog("refunds", "--db", str(demo_db), "--as-of", AS_OF).out
    assert "Totals" in text
    assert f"USD {usd['overdue'] // 100}.{usd['overdue'] % 100:02d}" in text
    assert "days overdue" in text


def test_returns_by_status_and_policy(orderlog: Any, demo_db: Path) -> None:
    every = listing(orderlog, demo_db, "returns")
    inspected = listing(orderlog, demo_db, "returns", "--status", "inspected")
    assert inspected == [row for row in every if row["status"] == "inspected"]
    assert inspected
    allegra = listing(orderlog, demo_db, "returns", "--policy", "allegra-k")
    assert allegra == [row for row in every if row["policy"] == "allegra-k"]


def test_declines_by_code_and_clause_agree_with_the_replay_summary(
    orderlog: Any, demo_db: Path
) -> None:
    every = listing(orderlog, demo_db, "declines")
    summary = orderlog("replay", "--db", str(demo_db), "--as-of", AS_OF, "--json").json()
    counted = {(r["policy"], r["code"], r["clause"]): r["declines"] for r in summary["declines"]}
    found: dict[tuple[str, str, str], int] = {}
    for row in every:
        key = (row["policy"], row["code"], row["clause"])
        found[key] = found.get(key, 0) + 1
    assert found == counted
    code = every[0]["code"]
    assert listing(orderlog, demo_db, "declines", "--code", code) == [
        row for row in every if row["code"] == code
    ]
    clause = every[-1]["clause"]
    assert listing(orderlog, demo_db, "declines", "--clause", clause) == [
        row for row in every if row["clause"] == clause
    ]
    assert listing(orderlog, demo_db, "declines", "--clause", "no/such-clause") == []


@pytest.mark.parametrize(
    ("command", "columns"),
    [("orders", ORDER_COLUMNS), ("returns", RETURN_COLUMNS), ("declines", DECLINE_COLUMNS)],
)
def test_csv_has_a_header_and_the_json_rows(
    orderlog: Any, demo_db: Path, command: str, columns: tuple[str, ...]
) -> None:
    rows = listing(orderlog, demo_db, command)
    run = orderlog(command, "--db", str(demo_db), "--csv")
    assert run.code == 0
    read = list(csv.reader(io.StringIO(run.out)))
    assert read[0] == list(columns)
    assert read[1:] == [["" if row[c] is None else str(row[c]) for c in columns] for row in rows]


def test_json_and_csv_together_are_refused(orderlog: Any, demo_db: Path) -> None:
    run = orderlog("orders", "--db", str(demo_db), "--json", "--csv")
    assert run.code == 2
    assert_one_line_error(run, "usage_error")


@pytest.mark.parametrize(
    "args",
    [("--since", "2026-13-01"), ("--status", "shipped"), ("--until", "yesterday")],
)
def test_bad_filters_are_one_line_and_exit_2(
    orderlog: Any, demo_db: Path, args: tuple[str, ...]
) -> None:
    run = orderlog("orders", "--db", str(demo_db), *args)
    assert run.code == 2
    assert_one_line_error(run, "usage_error")


def review_story(order_id: str) -> list[dict[str, Any]]:
    """An allegra-k order billed abroad: its return request is held for a person to review."""
    return [
        {
            "type": "place_order",
            "order_id": order_id,
            "at": "2026-03-02T09:00:00Z",
            "policy": "allegra-k",
            "currency": "USD",
            "customer": {"id": "c-9", "country": "US"},
            "lines": [{"line_id": "l1", "sku": "AK-COAT", "quantity": 1, "unit_price": 8900}],
            "payment_method": "visa",
            "shipping_fee": 0,
            "shipping_address": {"country": "US"},
            "billing_address": {"country": "GB"},
        },
        step("dispatch_order", order_id, 1),
        step("confirm_delivery", order_id, 3),
        step(
            "request_return",
            order_id,
            5,
            return_id="R1",
            lines=[{"line_id": "l1", "quantity": 1}],
            reason="changed_mind",
            method="prepaid_label",
        ),
    ]


def test_awaiting_review_finds_the_held_return_and_its_order(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [*review_story("h1"), *review_story("h2")[:3]])
    orders = orderlog("orders", "--db", str(db), "--json", "--awaiting-review").json()
    assert [(row["order_id"], row["awaiting_review"]) for row in orders] == [("h1", 1)]
    held = orderlog("returns", "--db", str(db), "--json", "--awaiting-review").json()
    assert [(row["order_id"], row["return_id"], row["status"]) for row in held] == [
        ("h1", "R1", "awaiting_review")
    ]
    by_status = orderlog("returns", "--db", str(db), "--json", "--status", "awaiting_review")
    assert by_status.json() == held
    applied(
        orderlog,
        db,
        tmp_path,
        [step("review_return", "h1", 6, return_id="R1", decision="approve")],
    )
    assert orderlog("orders", "--db", str(db), "--json", "--awaiting-review").json() == []


def test_a_listing_for_people_names_each_row(orderlog: Any, demo_db: Path) -> None:
    rows = listing(orderlog, demo_db, "declines")
    text = orderlog("declines", "--db", str(demo_db)).out
    assert f"Declines ({len(rows)})" in text
    for row in rows:
        assert row["clause"] in text
        assert row["code"] in text
    assert re.search(r"\d\d:\d\d UTC", text)


def test_an_empty_listing_is_fine(orderlog: Any, db: Path, tmp_path: Path) -> None:
    applied(orderlog, db, tmp_path, review_story("h1")[:1])
    assert orderlog("declines", "--db", str(db), "--json").json() == []
    run = orderlog("returns", "--db", str(db))
    assert run.code == 0
    assert "Returns (0)" in run.out
    assert (
        datetime.fromisoformat(
            orderlog("orders", "--db", str(db), "--json").json()[0]["placed_at"]
        ).tzinfo
        is not None
    )
