"""What the `orderlog` commands print: JSON (and CSV) for scripts, rich tables for people.

Times for people carry their zone (`2026-03-04 09:00 UTC`, or the `--tz` zone); JSON and CSV keep
the stored UTC ISO-8601 text. Tables never cut a status, code or clause: on a narrow page the
prose column wraps instead.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, tzinfo
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from eventstore import RecordedEvent
from eventstore.codec import parse_iso_time
from lifecycle.errors import InvalidCommand
from lifecycle.money import format_money
from lifecycle.service import Outcome
from lifecycle.status import returns_window_open

from .app import Orderlog
from .applying import outcome_word
from .inputs import Line, load_json

# Markup is off: order ids, messages and codes like "[partial_bundle]" are printed as they are.
console = Console(highlight=False, markup=False)
_zone: tzinfo = UTC


def use_zone(zone: tzinfo) -> None:
    """Show times for people in `zone` (the `--tz` option); UTC until told otherwise."""
    global _zone
    _zone = zone


def page_width() -> int:
    """The page width: the terminal's (or `COLUMNS`), else 120 for piped output (a file, a CI
    log), where rich's 80-column default would wrap for no one."""
    if "COLUMNS" in os.environ or sys.stdout.isatty():
        return shutil.get_terminal_size((120, 24)).columns
    return 120


def show(data: Any, as_json: bool, view: Callable[[Any], None]) -> None:
    """Print `data` as JSON, or through its human view."""
    if as_json:
        console.file.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        console.width = page_width()
        view(data)


def show_rows(
    rows: list[dict[str, Any]],
    output: str,
    columns: Sequence[str],
    view: Callable[[list[dict[str, Any]]], None],
) -> None:
    """Print listing rows as `json`, `csv` (a header line of `columns`, then one line per row)
    or through their human view."""
    if output == "csv":
        writer = csv.writer(console.file, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_csv(row[column]) for column in columns] for row in rows)
    else:
        show(rows, output == "json", view)


def _csv(value: Any) -> Any:
    return "" if value is None else value


def apply_result(log: Orderlog, line: Line) -> dict[str, Any]:
    """The result object of one `apply` input line (SPEC.md: line, ok, events, error; and
    the line's `order_id` and `command_id`, and its `outcome` in a word)."""
    read = _line_command(line)
    if "command" not in read:
        return read
    return _line_result(line, read["command"], log.handle(read["command"]))


def apply_results(log: Orderlog, lines: Sequence[Line]) -> list[dict[str, Any]]:
    """The result objects of several `apply` lines run as one group commit
    (`Orderlog.handle_batch`): they exist only once the lines' transaction has committed."""
    read = [_line_command(line) for line in lines]
    commands = [entry["command"] for entry in read if "command" in entry]
    outcomes = iter(log.handle_batch(commands) if commands else [])
    return [
        _line_result(line, entry["command"], next(outcomes)) if "command" in entry else entry
        for line, entry in zip(lines, read, strict=True)
    ]


def _line_command(line: Line) -> dict[str, Any]:
    """`{"command": ...}` for a line holding JSON, else its result (not UTF-8, not JSON)."""
    try:
        if line.problem is not None:
            raise InvalidCommand(line.problem)
        return {"command": load_json(line.text)}
    except InvalidCommand as error:
        return _result(line, {}, ok=False, events=[], error=error.as_dict())


def _line_result(line: Line, command: Any, outcome: Outcome) -> dict[str, Any]:
    refusal = None if outcome.error is None else dict(outcome.error)
    result = _result(line, _ids(command), ok=outcome.ok, events=list(outcome.events), error=refusal)
    lines = _line_decisions(outcome.recorded)
    if lines is not None:
        result["lines"] = lines
    if outcome.duplicate:
        result["duplicate"] = True  # the first outcome of this command id; nothing new written
    return result


def _line_decisions(recorded: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    """Which lines of a return request went which way, when the policy split it: `accepted`
    ({line_id, quantity}) and `declined` ({line_id, quantity, code, clause})."""
    for event in recorded:
        if event.type in ("ReturnAuthorized", "ReturnHeldForReview"):
            declined = event.data.get("declined_lines") or []
            if not declined:
                return None
            return {
                "accepted": [
                    {"line_id": line["line_id"], "quantity": line["quantity"]}
                    for line in event.data["request"]["lines"]
                ],
                "declined": [
                    {key: line[key] for key in ("line_id", "quantity", "code", "clause")}
                    for line in declined
                ],
            }
    return None


def _result(
    line: Line, ids: dict[str, Any], *, ok: bool, events: list[str], error: dict[str, str] | None
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "line": line.number,
        "order_id": ids.get("order_id"),
        "command_id": ids.get("command_id"),
        "ok": ok,
        "events": events,
    }
    if error is not None:
        result["error"] = error
    result["outcome"] = outcome_word(result)
    return result


def _ids(command: Any) -> dict[str, Any]:
    """The order and command ids a line names, as given (absent where it names none)."""
    if not isinstance(command, dict):
        return {}
    return {key: command[key] for key in ("order_id", "command_id") if key in command}


# -- building blocks -----------------------------------------------------------------------------

KEEP = "keep"
"""A column whose lines are printed whole, whatever the width (status, code, clause, money)."""
WORDS = "words"
"""A column that may wrap between words, never inside one (times, ids, names)."""
PROSE = "prose"
"""A column that wraps to whatever width is left (sentences, messages)."""


def grid(
    columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[str]], title: str | None = None
) -> RenderableType:
    """A table that fits the page without cutting a `KEEP` column: when it is too wide, the
    prose gives way first, then `WORDS` columns wrap between words, then the prose again. A
    table that still cannot fit is printed row by row instead (`_stacked`). A cell may hold
    several lines (an amount, and below it how late it is)."""
    cells = [list(row) for row in rows]
    if not cells:
        return Text(f"{title or 'rows'}: none")
    texts = [[header, *(row[index] for row in cells)] for index, (header, _) in enumerate(columns)]
    widths = _fit([kind for _, kind in columns], texts, console.width)
    if widths is None:
        return _stacked(columns, cells, title)
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        min_width=cell_len(title or ""),  # a title wider than its table is not wrapped
    )
    for (header, kind), width in zip(columns, widths, strict=True):
        if kind == KEEP:
            table.add_column(header, no_wrap=True, min_width=width)
        else:
            table.add_column(header, overflow="fold", width=width)
    prose = [index for index, (_, kind) in enumerate(columns) if kind == PROSE]
    for row in cells:
        for index in prose:
            row[index] = wrapped(row[index], widths[index])
        table.add_row(*row)
    return table


def wrapped(text: str, width: int) -> str:
    """Prose broken into lines of `width` between words; a word longer than the line (a clause
    id like `kiyomi/refund-within-10-business-days`) breaks after one of its hyphens, never
    inside a part, and one that still does not fit is left to the table to fold."""
    lines = []
    for paragraph in text.splitlines() or [""]:
        for line in textwrap.wrap(
            paragraph, width, break_long_words=False, break_on_hyphens=False
        ) or [""]:
            if cell_len(line) <= width:
                lines.append(line)
            else:
                lines += textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=True)
    return "\n".join(lines)


_GAP = 2
"""Columns of space between two table columns (one of padding, one of the blank rule)."""
_PROSE_AT_EASE, _PROSE_AT_LEAST = 30, 12


def _fit(kinds: list[str], texts: list[list[str]], page: int) -> list[int] | None:
    """Each column's width: its widest cell, shrunk in stages until the table fits `page`
    (None if it cannot fit without cutting words)."""
    widths = [max(cell_len(line) for text in column for line in _lines(text)) for column in texts]
    excess = sum(widths) + _GAP * (len(widths) - 1) - page
    longest_word = [
        max((cell_len(word) for text in column for word in text.split()), default=1)
        for column in texts
    ]
    stages = (
        (PROSE, [_PROSE_AT_EASE] * len(widths)),
        (WORDS, longest_word),
        (PROSE, [_PROSE_AT_LEAST] * len(widths)),
    )
    for kind, floors in stages:
        for index in sorted(range(len(widths)), key=lambda i: -widths[i]):
            if kinds[index] == kind and widths[index] > floors[index] and excess > 0:
                cut = min(excess, widths[index] - floors[index])
                widths[index] -= cut
                excess -= cut
    return widths if excess <= 0 else None


def _lines(text: str) -> list[str]:
    return text.splitlines() or [""]


def _stacked(
    columns: Sequence[tuple[str, str]], cells: list[list[str]], title: str | None
) -> RenderableType:
    """Rows too wide for the page: each row's short fields on as few lines as fit (a field is
    never broken across lines), its prose indented below, under a line naming the fields."""
    short = [i for i, (_, kind) in enumerate(columns) if kind != PROSE]
    prose = [i for i, (_, kind) in enumerate(columns) if kind == PROSE]
    legend = "  ".join(columns[i][0] for i in short)
    if prose:
        legend += f"; below: {', '.join(columns[i][0] for i in prose)}"
    parts: list[RenderableType] = [Text(title, style="bold")] if title else []
    parts.append(Text(legend, style="dim"))
    for row in cells:
        fields = [", ".join(_lines(row[i])) for i in short if row[i]]
        parts += [Text(line) for line in _packed(fields, console.width)]
        parts += [Padding(Text(row[i]), (0, 0, 0, 4)) for i in prose if row[i]]
    return Group(*parts)


def _packed(fields: list[str], width: int) -> list[str]:
    """`fields` two spaces apart, on lines no wider than `width`, each field whole (a field
    wider than the page has a line of its own)."""
    lines = [""]
    for field in fields:
        joined = f"{lines[-1]}  {field}" if lines[-1] else field
        if cell_len(joined) <= width or not lines[-1]:
            lines[-1] = joined
        else:
            lines.append(field)
    return lines


def when(text: str | None) -> str:
    """A stored time for people: minutes and the zone (`2026-03-04 09:00 UTC`)."""
    if not text:
        return ""
    moment = parse_iso_time(text).astimezone(_zone)
    return moment.strftime("%Y-%m-%d %H:%M ") + (moment.tzname() or moment.strftime("%z"))


def _money(amount: int | None, currency: str) -> str:
    return "" if amount is None else format_money(amount, currency)


def _late(days: int | None) -> str:
    return "" if days is None else f"{days} day{'s' if days != 1 else ''} overdue"


def _owed(text: str, days: int | None) -> str:
    """A cell: an amount or a day, and below it how late it is (when it is)."""
    return f"{text}\n{_late(days)}" if days is not None else text


# -- one order -----------------------------------------------------------------------------------

_RETURNS_OPEN = {"received", "return_in_progress", "partially_refunded"}


def status_view(data: dict[str, Any]) -> None:
    currency = data["currency"]
    console.print(
        f"Order {data['order_id']}: {data['status']} ({data['policy']} {data['policy_version']}), "
        f"as of {when(data['as_of'])}"
    )
    reimbursed = data.get("reimbursed_total") or 0
    console.print(
        f"paid {_money(data['paid_total'], currency)}, refunded "
        f"{_money(data['refunded_total'], currency)}"
        + (f" (of which {_money(reimbursed, currency)} return costs)" if reimbursed else "")
        + f", pending {_money(data['refund_pending'], currency)}"
    )
    console.print(f"placed {when(data['placed_at'])}")
    for sentence in _windows(data):
        console.print(sentence)
    late = {item["return_id"]: item for item in data["overdue_refunds"]}
    order_level = late.pop(None, None)
    if order_level is not None:
        console.print(
            f"the order's refund of {_money(order_level['amount'], currency)} was due by "
            f"{order_level['due_by']}: {_late(order_level['days_overdue'])}"
        )
    if data["returns"]:
        rows = []
        for item in data["returns"]:
            # A policy without a refund deadline gives its refunds no due day.
            due = (item["refund_due_by"] or "") if item["status"] == "inspected" else ""
            if item["return_id"] in late:
                due += f" ({_late(late[item['return_id']]['days_overdue'])})"
            rows.append(
                [item["return_id"], item["status"], _money(item["refund_amount"], currency), due]
            )
        columns = [("return", WORDS), ("status", KEEP), ("refund", KEEP), ("due by", WORDS)]
        console.print(grid(columns, rows))


def _windows(data: dict[str, Any]) -> list[str]:
    """The cancellation and return windows, only where they still say something."""
    sentences = []
    as_of, until = data["as_of"], data["cancellable_until"]
    if data["status"] == "placed" and until:
        verb = "cancellable until" if as_of <= until else "the cancellation window closed"
        sentences.append(f"{verb} {when(until)}")
    closes = data["returns_close_on"]
    if closes and data["status"] in (*_RETURNS_OPEN, "closed"):
        still = returns_window_open(date.fromisoformat(closes), parse_iso_time(as_of))
        verb = "returns accepted until" if still else "the return window ended"
        sentences.append(f"{verb} {closes} (UTC)")
    return sentences


def history_view(entries: list[dict[str, Any]]) -> None:
    rows = [
        [
            str(entry["position"]),
            when(entry["at"]),
            entry["event"],
            entry["actor"] or entry["command"] or "",
            entry["what"],
        ]
        for entry in entries
    ]
    columns = [("#", KEEP), ("when", WORDS), ("event", KEEP), ("who", WORDS), ("what", PROSE)]
    console.print(grid(columns, rows, title="History"))


def explain_view(data: dict[str, Any]) -> None:
    currency = data["currency"]
    console.print(
        f"Order {data['order_id']} under {data['policy']} "
        f"{data['policy_version']}: paid {_money(data['paid_total'], currency)}"
    )
    console.print(data["discount"]["sentence"])
    if not data["refunds"]:
        console.print("No refund has been decided for this order.")
    for refund in data["refunds"]:
        console.print(f"\n{refund['summary']}", style="bold")
        for step in refund["steps"]:
            console.print(f"  - {step['sentence']}")
        console.print(f"  {refund['deadline']}")
    if data["settlements"]:
        console.print("\nOther settlements", style="bold")
    for settlement in data["settlements"]:
        console.print(f"  - {settlement['sentence']}")


# -- refunds and listings ------------------------------------------------------------------------


def refunds_view(report: dict[str, Any]) -> None:
    rows = [
        [
            row["day"],
            row["policy"],
            str(row["refunds"]),
            _money(row["decided"], row["currency"]),
            _money(row["issued"], row["currency"]),
        ]
        for row in report["totals"]
    ]
    columns = [("day", KEEP), ("policy", WORDS), ("refunds", KEEP)]
    money = [("decided", KEEP), ("issued", KEEP)]
    title = f"Refunds decided, as of {when(report['as_of'])}"
    console.print(grid([*columns, *money], rows, title=title))
    totals = [
        [
            row["currency"],
            str(row["refunds"]),
            *(
                _money(row[key], row["currency"])
                for key in ("decided", "issued", "pending", "overdue")
            ),
        ]
        for row in report["currencies"]
    ]
    more = [("pending", KEEP), ("overdue", KEEP)]
    console.print(grid([("currency", KEEP), ("refunds", KEEP), *money, *more], totals, "Totals"))
    for key, title in (("pending", "Pending refunds"), ("overdue", "Overdue refunds")):
        late = key == "overdue"
        listing = [
            [
                row["order_id"],
                row["return_id"] or "(order)",
                row["policy"],
                _money(row["amount"], row["currency"]),
                row["due_by"] or "",
                *([_late(row["days_overdue"])] if late else []),
            ]
            for row in report[key]
        ]
        columns = [("order", WORDS), ("return", WORDS), ("policy", WORDS), ("amount", KEEP)]
        columns += [("due by", KEEP), *([("overdue", WORDS)] if late else [])]
        console.print(grid(columns, listing, title))


def orders_view(rows: list[dict[str, Any]]) -> None:
    table = [
        [
            row["order_id"],
            when(row["placed_at"]),
            row["policy"],
            row["status"],
            _money(row["paid_total"], row["currency"]),
            _owed(_money(row["refund_pending"], row["currency"]), row["days_overdue"]),
        ]
        for row in rows
    ]
    columns = [("order", WORDS), ("placed", WORDS), ("policy", WORDS), ("status", KEEP)]
    money = [("paid", KEEP), ("pending", KEEP)]
    console.print(grid([*columns, *money], table, title=f"Orders ({len(rows)})"))


def returns_view(rows: list[dict[str, Any]]) -> None:
    table = [
        [
            f"{row['order_id']} {row['return_id']}",
            when(row["requested_at"]),
            row["status"],
            row["reason"],
            _money(row["refund_amount"], row["currency"]),
            _owed(row["refund_due_by"] or "", row["days_overdue"]),
        ]
        for row in rows
    ]
    columns = [("return", WORDS), ("requested", WORDS), ("status", KEEP), ("reason", WORDS)]
    more = [("refund", KEEP), ("due by", KEEP)]
    console.print(grid([*columns, *more], table, title=f"Returns ({len(rows)})"))


def declines_view(rows: list[dict[str, Any]]) -> None:
    table = [
        [
            f"{row['order_id']} {row['return_id']}"
            + (f" line {row['line_id']}" if row.get("line_id") else ""),
            when(row["declined_at"]),
            row["code"],
            row["clause"],
            row["message"],
        ]
        for row in rows
    ]
    columns = [("return", WORDS), ("declined", WORDS), ("code", KEEP), ("clause", KEEP)]
    console.print(grid([*columns, ("why", PROSE)], table, f"Declines ({len(rows)})"))


# -- the log -------------------------------------------------------------------------------------


def replay_view(summary: dict[str, Any]) -> None:
    console.print(
        f"replayed {summary['events']} event(s) up to position "
        f"{summary['to_position']} ({summary['into']})"
    )
    _summary_tables(summary)


def _summary_tables(summary: dict[str, Any]) -> None:
    statuses = [[word, str(count)] for word, count in summary["orders_by_status"].items()]
    console.print(grid([("status", KEEP), ("orders", KEEP)], statuses, "Orders by status"))
    declines = [
        [row["policy"], row["code"], row["clause"], str(row["declines"])]
        for row in summary["declines"]
    ]
    columns = [("policy", WORDS), ("code", KEEP), ("clause", KEEP), ("declines", KEEP)]
    console.print(grid(columns, declines, "Declined return requests"))
    money = [
        [
            row["currency"],
            str(row["refunds"]),
            _money(row["decided"], row["currency"]),
            _money(row["issued"], row["currency"]),
        ]
        for row in summary["refunds_by_currency"]
    ]
    columns = [("currency", KEEP), ("refunds", KEEP), ("decided", KEEP), ("issued", KEEP)]
    console.print(grid(columns, money, "Refunds"))


def verify_view(report: dict[str, Any]) -> None:
    for check, verdict in report["checks"].items():
        console.print(f"{check:12} {verdict}")
    if report["ok"]:
        keyed = f"; MACs checked with key {report['key']}" if report.get("key") else ""
        console.print(
            f"log intact: {report['checked']} event(s){keyed}; keep this head "
            f"digest to check later copies: {report['head']}"
        )
    else:
        problem = report["problem"]
        console.print(
            f"problem at position {problem['position']}: {problem['message']}", style="red"
        )


def import_view(data: dict[str, Any]) -> None:
    held = f" ({data['skipped']} already in the log)" if data["skipped"] else ""
    console.print(f"imported {data['imported']} event(s){held}; head is now {data['head']}")


def demo_view(summary: dict[str, Any]) -> None:
    counts = summary["outcomes"]
    console.print(
        f"orderlog demo: {summary['commands']} commands into {summary['db']} "
        f"({counts['accepted']} accepted, {counts['declined']} declined by policy, "
        f"{counts['refused']} refused)"
    )
    rows = [
        [
            order["order_id"],
            order["policy"],
            order["status"],
            _money(order["paid_total"], order["currency"]),
            _money(order["refunded_total"], order["currency"]),
            "\n".join(f"{r['return_id']} {r['status']}" for r in order["returns"]),
        ]
        for order in summary["orders"]
    ]
    columns = [("order", WORDS), ("policy", WORDS), ("status", KEEP), ("paid", KEEP)]
    more = [("refunded", KEEP), ("returns", WORDS)]
    console.print(grid([*columns, *more], rows, "Orders"))
    refunds_view(summary["refunds"])
    refusals = [
        [item["order_id"] or "", item["type"], item["code"], item["message"]]
        for item in summary["not_accepted"]
    ]
    columns = [("order", WORDS), ("command", WORDS), ("code", KEEP), ("why", PROSE)]
    title = "Declined and refused on purpose (the demo shows how orderlog says no)"
    console.print(grid(columns, refusals, title))
    console.print(
        f"head digest: {summary['head']} (it covers the recording times, so it differs on "
        f"every run; try: orderlog verify --db {summary['db']})"
    )
