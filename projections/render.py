"""What the `orderlog` commands print: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from lifecycle.money import format_money

from .app import Orderlog

# Piped output (a file, a CI log) gets a wide page instead of rich's 80-column default.
# Markup is off: order ids, messages and codes like "[partial_bundle]" are printed as they are.
console = Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 120)


def show(data: Any, as_json: bool, view: Callable[[Any], None]) -> None:
    """Print `data` as JSON, or through its human view."""
    if as_json:
        console.file.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        view(data)


def apply_result(log: Orderlog, line: str) -> dict[str, Any]:
    """The result object of one `apply` input line (SPEC.md: ok, events, error)."""
    try:
        command = json.loads(line)
    except (ValueError, RecursionError) as error:
        message = f"the line is not JSON we can read ({type(error).__name__}: {error})"
        return {"ok": False, "error": {"code": "invalid_command", "message": message}, "events": []}
    outcome = log.handle(command)
    result: dict[str, Any] = {"ok": outcome.ok}
    if outcome.error is not None:
        result["error"] = dict(outcome.error)
    result["events"] = list(outcome.events)
    if outcome.duplicate:
        result["duplicate"] = True  # the first outcome of this command id; nothing new written
    return result


def _money(amount: int | None, currency: str) -> str:
    return "" if amount is None else format_money(amount, currency)


def status_view(data: dict[str, Any]) -> None:
    currency = data["currency"]
    console.print(
        f"Order {data['order_id']}: {data['status']} ({data['policy']} {data['policy_version']})"
    )
    console.print(
        f"paid {_money(data['paid_total'], currency)}, refunded "
        f"{_money(data['refunded_total'], currency)}, pending "
        f"{_money(data['refund_pending'], currency)}"
    )
    if data["cancellable_until"]:
        console.print(f"cancellable until {data['cancellable_until']}")
    if data["returns_close_on"]:
        console.print(f"returns accepted until {data['returns_close_on']}")
    if data["returns"]:
        table = Table("return", "status", "refund", "due by")
        for item in data["returns"]:
            table.add_row(
                item["return_id"],
                item["status"],
                _money(item["refund_amount"], currency),
                item["refund_due_by"] or "",
            )
        console.print(table)


def history_view(entries: list[dict[str, Any]]) -> None:
    table = Table("#", "when", "event", "who", "what", title="History")
    for entry in entries:
        who = entry["actor"] or entry["command"] or ""
        table.add_row(str(entry["position"]), entry["at"][:19], entry["event"], who, entry["what"])
    console.print(table)


def explain_view(data: dict[str, Any]) -> None:
    currency = data["currency"]
    console.print(
        f"Order {data['order_id']} under {data['policy']} "
        f"{data['policy_version']}: paid {_money(data['paid_total'], currency)}"
    )
    if not data["refunds"]:
        console.print("No refund has been decided for this order.")
    for refund in data["refunds"]:
        console.print(f"\n{refund['summary']}", style="bold")
        for step in refund["steps"]:
            console.print(f"  - {step['sentence']}")
        console.print(f"  {refund['deadline']}")


def refunds_view(report: dict[str, Any]) -> None:
    table = Table(
        "day",
        "policy",
        "currency",
        "refunds",
        "decided",
        "issued",
        title=f"Refunds decided, as of {report['as_of'][:19]}",
    )
    for row in report["totals"]:
        table.add_row(
            row["day"],
            row["policy"],
            row["currency"],
            str(row["refunds"]),
            _money(row["decided"], row["currency"]),
            _money(row["issued"], row["currency"]),
        )
    console.print(table)
    for key, title in (("pending", "Pending refunds"), ("overdue", "Overdue refunds")):
        listing = Table("order", "return", "policy", "amount", "due by", title=title)
        for row in report[key]:
            listing.add_row(
                row["order_id"],
                row["return_id"] or "(order)",
                row["policy"],
                _money(row["amount"], row["currency"]),
                row["due_by"] or "",
            )
        console.print(listing)


def replay_view(summary: dict[str, Any]) -> None:
    console.print(
        f"replayed {summary['events']} event(s) up to position "
        f"{summary['to_position']} ({summary['into']})"
    )
    _summary_tables(summary)


def _summary_tables(summary: dict[str, Any]) -> None:
    statuses = Table("status", "orders", title="Orders by status")
    for word, count in summary["orders_by_status"].items():
        statuses.add_row(word, str(count))
    console.print(statuses)
    declines = Table("policy", "code", "clause", "declines", title="Declined return requests")
    for row in summary["declines"]:
        declines.add_row(row["policy"], row["code"], row["clause"], str(row["declines"]))
    console.print(declines)
    money = Table("currency", "refunds", "decided", "issued", title="Refunds")
    for row in summary["refunds_by_currency"]:
        money.add_row(
            row["currency"],
            str(row["refunds"]),
            _money(row["decided"], row["currency"]),
            _money(row["issued"], row["currency"]),
        )
    console.print(money)


def verify_view(report: dict[str, Any]) -> None:
    for check, verdict in report["checks"].items():
        console.print(f"{check:12} {verdict}")
    if report["ok"]:
        console.print(
            f"log intact: {report['checked']} event(s); keep this head "
            f"digest to check later copies: {report['head']}"
        )
    else:
        problem = report["problem"]
        console.print(
            f"problem at position {problem['position']}: {problem['message']}", style="red"
        )


def import_view(data: dict[str, Any]) -> None:
    console.print(f"imported {data['imported']} event(s); head is now {data['head']}")


def demo_view(summary: dict[str, Any]) -> None:
    counts = summary["outcomes"]
    console.print(
        f"orderlog demo: {summary['commands']} commands into {summary['db']} "
        f"({counts['accepted']} accepted, {counts['declined']} declined by policy, "
        f"{counts['refused']} refused)"
    )
    table = Table(
        "order", "policy", "status", "paid", "refunded", "pending", "returns", title="Orders"
    )
    for order in summary["orders"]:
        currency = order["currency"]
        returns = ", ".join(f"{r['return_id']}:{r['status']}" for r in order["returns"])
        table.add_row(
            order["order_id"],
            order["policy"],
            order["status"],
            _money(order["paid_total"], currency),
            _money(order["refunded_total"], currency),
            _money(order["refund_pending"], currency),
            returns,
        )
    console.print(table)
    refunds_view(summary["refunds"])
    console.print(f"head digest: {summary['head']}  (try: orderlog verify --db {summary['db']})")
