"""`orderlog explain` covers every settlement (issue 12, item 6): a decline, a rejection at
inspection, a refund, with each clause and the policy's words; the discount's spread over the
lines; and amounts in prose as money, never raw cents."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from projections.cli import main
from tests.support import at

DRESS = 2599
SALE = 1000
DISCOUNT = 500
SHIPPING = 499


def command(kind: str, day: float, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "order_id": "o1", "at": at(day).isoformat(), **fields}


def ask(return_id: str, day: float, lines: dict[str, int], method: str) -> dict[str, Any]:
    wanted = [{"line_id": key, "quantity": n} for key, n in lines.items()]
    return command(
        "request_return",
        day,
        return_id=return_id,
        lines=wanted,
        reason="changed_mind",
        method=method,
    )


def found(return_id: str, day: float, condition: str) -> dict[str, Any]:
    lines = [{"line_id": "l1", "quantity": 1, "condition": condition}]
    return command("inspect_return", day, return_id=return_id, lines=lines)


COMMANDS = [
    command(
        "place_order",
        0,
        policy="allegra-k",
        currency="USD",
        customer={"id": "c1", "country": "US"},
        lines=[
            {"line_id": "l1", "sku": "DRESS", "quantity": 2, "unit_price": DRESS},
            {"line_id": "l2", "sku": "SALE", "quantity": 1, "unit_price": SALE, "final_sale": True},
        ],
        payment_method="visa",
        shipping_fee=SHIPPING,
        discount=DISCOUNT,
    ),
    command("dispatch_order", 1),
    command("confirm_delivery", 3),
    ask("r1", 5, {"l2": 1}, "prepaid_label"),  # final sale: declined
    ask("r2", 5.5, {"l1": 1}, "prepaid_label"),  # first package, free label
    command("receive_return", 8, return_id="r2"),
    found("r2", 8.5, "used"),  # worn: rejected
    ask("r3", 9, {"l1": 1}, "prepaid_label"),  # a later package: the $6.99 label fee
    command("receive_return", 12, return_id="r3"),
    found("r3", 12.5, "unopened"),
]


@pytest.fixture
def explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    db = str(tmp_path / "shop.db")
    source = tmp_path / "commands.jsonl"
    source.write_text("".join(json.dumps(c) + "\n" for c in COMMANDS))
    main(["apply", str(source), "--db", db])
    capsys.readouterr()
    assert main(["explain", "o1", "--db", db, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert main(["explain", "o1", "--db", db]) == 0
    return data, capsys.readouterr().out


def test_explain_shows_how_the_discount_was_spread_over_the_lines(
    explained: tuple[dict[str, Any], str],
) -> None:
    data, text = explained
    discount = data["discount"]
    assert discount["total"] == DISCOUNT
    assert sum(line["discount"] for line in discount["lines"]) == DISCOUNT
    assert [line["paid"] + line["discount"] for line in discount["lines"]] == [2 * DRESS, SALE]
    assert "The order's discount of USD 5.00 was spread over its lines" in " ".join(text.split())


def test_explain_covers_a_decline_and_a_rejection_with_their_clauses_and_words(
    explained: tuple[dict[str, Any], str],
) -> None:
    data, text = explained
    kinds = [(s["return_id"], s["kind"], s["clause"]) for s in data["settlements"]]
    assert kinds == [
        ("r1", "declined", "allegra-k/marked-items-and-free-gifts"),
        ("r2", "rejected", "allegra-k/new-condition-with-tags"),
    ]
    assert all(s["clause_text"] and s["clause_text"] in s["sentence"] for s in data["settlements"])
    assert "found used, not accepted" in " ".join(text.split())


def test_explain_prose_shows_money_never_raw_cents(explained: tuple[dict[str, Any], str]) -> None:
    data, text = explained
    assert "USD 25.99" not in text  # l1's units were paid after the discount, not at price
    [refund] = data["refunds"]
    sentences = [step["sentence"] for step in refund["steps"]]
    sentences += [s["sentence"] for s in data["settlements"]] + [data["discount"]["sentence"]]
    assert any("original shipping USD 4.99 is not refunded" in s for s in sentences)
    assert any("minus USD 6.99" in s for s in sentences)
    for sentence in sentences:
        # Every number of two digits or more in prose is part of an amount like USD 6.99 (or a
        # percentage, a date, a clause's own words).
        bare = re.sub(r"USD \d+\.\d\d|\d+%|\d{4}-\d\d-\d\d|\"[^\"]*\"", "", sentence)
        assert not re.search(r"\d{2,}", bare), sentence
