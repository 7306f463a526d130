"""Issue 11's money and time rulings through `orderlog apply` (items 1, 7, 8 and 11).

Each test writes wire commands to a JSON Lines file, applies them to a fresh log and reads the
result lines, `status --json` and `explain --json`. A policy that no shop ships (a shop in New
York) is put in the registry the tool opens, as a deployment with its own policy files would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lifecycle import PolicyRegistry
from lifecycle.policy_files import parse_policy
from projections.cli import main

NEW_YORK_SHOP = """
name = "ny-shop"
title = "A New York shop"
timezone = "America/New_York"

[clauses]
"ny-shop/thirty-days" = "Return within 30 days of delivery."
"ny-shop/three-business-days" = "Refunds within 3 business days of the return arriving."

[return_window]
days = 30
counted_from = "delivery"
clause = "ny-shop/thirty-days"

[refund]
deadline_days = 3
business_days = true
clause = "ny-shop/three-business-days"
"""

DOLLAR_FEES_SHOP = """
name = "dollar-fees"
title = "A shop whose fees are in dollars"
currency = "USD"

[clauses]
"dollar-fees/label-699" = "Our return label costs $6.99, deducted from your refund."

[[return_shipping]]
methods = ["prepaid_label"]
label_fee = 699
clause = "dollar-fees/label-699"
"""


def utc(month: int, day: int, hour: int) -> str:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC).isoformat()


class Tool:
    """A fresh log under tmp_path, driven only through `orderlog`."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.dir, self.capsys, self.db = tmp_path, capsys, str(tmp_path / "shop.db")

    def run(self, *args: str) -> tuple[int, str]:
        code = main([*args, "--db", self.db])
        captured = self.capsys.readouterr()
        assert "Traceback" not in captured.err
        return code, captured.out

    def apply(self, *commands: dict[str, Any]) -> list[dict[str, Any]]:
        source = self.dir / "in.jsonl"
        source.write_text("".join(json.dumps(c) + "\n" for c in commands))
        _, out = self.run("apply", str(source))
        return [json.loads(line) for line in out.splitlines()]

    def status(self, order_id: str = "o1") -> dict[str, Any]:
        code, out = self.run("status", order_id, "--json")
        assert code == 0
        return dict(json.loads(out))

    def explain(self, order_id: str = "o1") -> dict[str, Any]:
        code, out = self.run("explain", order_id, "--json")
        assert code == 0
        return dict(json.loads(out))


@pytest.fixture
def tool(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Tool:
    return Tool(tmp_path, capsys)


@pytest.fixture
def with_test_shops(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tool's registry holds the shipped policies, `ny-shop` and `dollar-fees`."""
    shipped = PolicyRegistry.shipped

    def registry(cls: type[PolicyRegistry]) -> PolicyRegistry:
        found = shipped()
        found.add(parse_policy(NEW_YORK_SHOP, "ny-shop.toml"))
        found.add(parse_policy(DOLLAR_FEES_SHOP, "dollar-fees.toml"))
        return found

    monkeypatch.setattr(PolicyRegistry, "shipped", classmethod(registry))


def order(kind: str, when: str, order_id: str = "o1", **fields: Any) -> dict[str, Any]:
    return {"type": kind, "order_id": order_id, "at": when, **fields}


def placed(policy: str, *, quantity: int = 2, price: int = 1000, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"currency": "USD", "payment_method": "visa", "shipping_fee": 0}
    fields |= extra
    return order(
        "place_order",
        utc(3, 2, 9),
        policy=policy,
        customer={"id": "c1", "country": fields.pop("country", "US")},
        lines=[{"line_id": "l1", "sku": "ITEM", "quantity": quantity, "unit_price": price}],
        **fields,
    )


def returned(return_id: str, when: str, **fields: Any) -> dict[str, Any]:
    fields = {"reason": "changed_mind", "method": "own_carrier"} | fields
    lines = [{"line_id": "l1", "quantity": fields.pop("quantity", 1)}]
    return order("request_return", when, return_id=return_id, lines=lines, **fields)


def summary(results: list[dict[str, Any]]) -> list[tuple[bool, list[str], str | None]]:
    return [(r["ok"], r["events"], r.get("error", {}).get("code")) for r in results]


# -- ruling 8: windows in the shop's time zone --------------------------------------------------


def test_ruling_8_apply_counts_a_new_york_shops_window_in_new_york_days(
    tool: Tool, with_test_shops: None
) -> None:
    results = tool.apply(
        placed("ny-shop"),
        order("dispatch_order", utc(3, 3, 9)),
        order("confirm_delivery", utc(3, 5, 3)),  # 4 March, 22:00 in New York
        returned("r1", utc(4, 4, 2)),  # 3 April, 22:00 there: day 30
        returned("r2", utc(4, 4, 12)),  # 4 April, 08:00 there: day 31
        order("receive_return", utc(4, 10, 2), return_id="r1"),  # Thursday 9 April there
        order(
            "inspect_return",
            utc(4, 10, 3),
            return_id="r1",
            lines=[{"line_id": "l1", "quantity": 1, "condition": "unopened"}],
        ),
    )

    assert summary(results) == [
        (True, ["PolicyRecorded", "OrderPlaced"], None),
        (True, ["OrderDispatched"], None),
        (True, ["OrderDelivered"], None),
        (True, ["ReturnAuthorized"], None),
        (False, ["ReturnDeclined"], "return_window_closed"),
        (True, ["ReturnReceived"], None),
        (True, ["ReturnInspected", "RefundDecided"], None),
    ]
    assert tool.status()["returns_close_on"] == "2026-04-03"
    # Three business days from Thursday 9 April (New York): Tuesday 14 April.
    [refund] = tool.explain()["refunds"]
    assert refund["due_by"] == "2026-04-14"


# -- ruling 7: no invented money -----------------------------------------------------------------


@pytest.mark.parametrize(("currency", "refund"), [("USD", 1000 - 699), ("JPY", 1000)])
def test_ruling_7_apply_never_charges_a_fee_in_dollars_on_a_yen_order(
    tool: Tool, with_test_shops: None, currency: str, refund: int
) -> None:
    dollars = currency == "USD"
    label = returned("r1", utc(3, 9, 9), method="prepaid_label")
    approval = order("review_return", utc(3, 9, 10), return_id="r1", decision="approve")
    results = tool.apply(
        placed("dollar-fees", currency=currency),
        order("dispatch_order", utc(3, 3, 9)),
        order("confirm_delivery", utc(3, 5, 9)),
        label,
        *([] if dollars else [approval]),
        order("receive_return", utc(3, 12, 9), return_id="r1"),
        order(
            "inspect_return",
            utc(3, 12, 10),
            return_id="r1",
            lines=[{"line_id": "l1", "quantity": 1, "condition": "unopened"}],
        ),
    )

    asked = ["ReturnAuthorized"] if dollars else ["ReturnHeldForReview", "ReturnApproved"]
    assert [event for r in results[3:-2] for event in r["events"]] == asked
    assert results[-1]["events"] == ["ReturnInspected", "RefundDecided"]
    [explained] = tool.explain()["refunds"]
    assert explained["amount"] == refund
    steps = [(step["clause"], step["amount"]) for step in explained["steps"][1:]]
    assert steps == [("dollar-fees/label-699", -699 if dollars else 0)]
    if not dollars:
        assert "written in USD, not the order's JPY" in explained["steps"][1]["sentence"]


# -- ruling 1: reimbursed return costs sit outside the order cap ---------------------------------

CHEAP = 400
"""A $4.00 top, shipped free to Canada: cheaper than Allegra K's $6.99."""


def inspected(return_id: str, when: str) -> dict[str, Any]:
    lines = [{"line_id": "l1", "quantity": 1, "condition": "unopened"}]
    return order("inspect_return", when, return_id=return_id, lines=lines)


def paid(return_id: str, when: str) -> dict[str, Any]:
    return order("issue_refund", when, return_id=return_id, payment_reference=f"pay-{return_id}")


def test_ruling_1_apply_pays_a_cheap_first_return_its_price_and_the_699_then_a_second_in_full(
    tool: Tool,
) -> None:
    # allegra-k/ca-jp-first-return-699, then allegra-k/ca-jp-later-returns-paid.
    first = [
        returned("r1", utc(3, 9, 9)),
        order("receive_return", utc(3, 12, 9), return_id="r1", return_shipping_paid=900),
        inspected("r1", utc(3, 12, 10)),
        paid("r1", utc(3, 13, 9)),
    ]
    results = tool.apply(
        placed("allegra-k", price=CHEAP, country="CA", payment_method="paypal"),
        order("dispatch_order", utc(3, 3, 9)),
        order("confirm_delivery", utc(3, 5, 9)),
        *first,
    )
    assert all(r["ok"] for r in results), results

    status = tool.status()
    assert (status["status"], status["paid_total"]) == ("partially_refunded", 2 * CHEAP)
    assert (status["refunded_total"], status["reimbursed_total"]) == (CHEAP + 699, 699)
    assert status["returns"][0]["refund_amount"] == CHEAP + 699  # the total
    [refund] = tool.explain()["refunds"]
    assert (refund["amount"], refund["goods_amount"], refund["reimbursed"]) == (
        CHEAP + 699,
        CHEAP,
        699,
    )
    assert "USD 6.99 of return costs paid back, outside the cap" in refund["summary"]
    assert ("allegra-k/ca-jp-first-return-699", 699) in [
        (step["clause"], step["amount"]) for step in refund["steps"]
    ]

    second = tool.apply(
        returned("r2", utc(3, 16, 9)),
        order("receive_return", utc(3, 19, 9), return_id="r2", return_shipping_paid=900),
        inspected("r2", utc(3, 19, 10)),
        paid("r2", utc(3, 20, 9)),
    )
    assert all(r["ok"] for r in second), second

    status = tool.status()
    # Both tops paid back in full: refunded, though more than the order's price came back.
    assert status["status"] == "refunded"
    assert (status["refunded_total"], status["reimbursed_total"]) == (2 * CHEAP + 699, 699)
    assert [r["refund_amount"] for r in status["returns"]] == [CHEAP + 699, CHEAP]
    assert tool.run("verify")[0] == 0


def test_ruling_1_apply_a_refund_without_return_costs_reports_none_reimbursed(tool: Tool) -> None:
    results = tool.apply(
        placed("kiyomi", price=CHEAP, payment_method="amex"),
        order("dispatch_order", utc(3, 3, 9)),
        order("confirm_delivery", utc(3, 5, 9)),
        returned("r1", utc(3, 9, 9)),
        order("receive_return", utc(3, 12, 9), return_id="r1", return_shipping_paid=900),
        inspected("r1", utc(3, 12, 10)),
    )
    assert all(r["ok"] for r in results), results

    status = tool.status()
    assert (status["refunded_total"], status["reimbursed_total"], status["refund_pending"]) == (
        0,
        0,
        CHEAP,
    )
    [refund] = tool.explain()["refunds"]
    assert (refund["amount"], refund["reimbursed"]) == (CHEAP, 0)


# -- ruling 11: refund_amount is null until a refund is decided --------------------------------


def test_ruling_11_apply_refund_amount_stays_null_for_declined_rejected_and_replaced_returns(
    tool: Tool,
) -> None:
    results = tool.apply(
        placed("kiyomi", quantity=4, payment_method="amex"),
        order("dispatch_order", utc(3, 3, 9)),
        order("confirm_delivery", utc(3, 5, 9)),
        # r1: damaged, replaced (kiyomi/damaged-or-defective-replaced).
        returned("r1", utc(3, 9, 9), reason="damaged", method="prepaid_label"),
        order("receive_return", utc(3, 12, 9), return_id="r1"),
        order(
            "inspect_return",
            utc(3, 12, 10),
            return_id="r1",
            lines=[{"line_id": "l1", "quantity": 1, "condition": "damaged"}],
        ),
        order("ship_replacement", utc(3, 13, 9), return_id="r1", tracking_number="T2"),
        # r2: declined (the customer's own carrier is the only way back for a change of mind).
        returned("r2", utc(3, 14, 9), method="pickup"),
        # r3: opened, so rejected at inspection (kiyomi/unused-unopened-undamaged).
        returned("r3", utc(3, 14, 10)),
        order("receive_return", utc(3, 17, 9), return_id="r3"),
        order(
            "inspect_return",
            utc(3, 17, 10),
            return_id="r3",
            lines=[{"line_id": "l1", "quantity": 1, "condition": "opened"}],
        ),
        # r4: refunded.
        returned("r4", utc(3, 17, 11)),
        order("receive_return", utc(3, 19, 9), return_id="r4"),
        inspected("r4", utc(3, 19, 10)),
    )
    assert [r["events"] for r in results[3:]] == [
        ["ReturnAuthorized"],
        ["ReturnReceived"],
        ["ReturnInspected"],
        ["ReplacementShipped"],
        ["ReturnDeclined"],
        ["ReturnAuthorized"],
        ["ReturnReceived"],
        ["ReturnRejected"],
        ["ReturnAuthorized"],
        ["ReturnReceived"],
        ["ReturnInspected", "RefundDecided"],
    ]

    returns = {r["return_id"]: (r["status"], r["refund_amount"]) for r in tool.status()["returns"]}
    assert returns == {
        "r1": ("replacement_sent", None),
        "r2": ("declined", None),
        "r3": ("rejected", None),
        "r4": ("inspected", 1000),
    }


def test_ruling_11_a_replacement_that_pays_postage_back_shows_that_refund(tool: Tool) -> None:
    """Ruling 5 with ruling 11: a replacement settled with the postage paid back has a refund
    decided, so its `refund_amount` is that refund (the postage), not null."""
    postage = 450
    results = tool.apply(
        placed("kiyomi", payment_method="amex"),
        order("dispatch_order", utc(3, 3, 9)),
        order("confirm_delivery", utc(3, 5, 9)),
        returned("r1", utc(3, 9, 9), reason="damaged"),
        order("receive_return", utc(3, 12, 9), return_id="r1", return_shipping_paid=postage),
        order(
            "inspect_return",
            utc(3, 12, 10),
            return_id="r1",
            lines=[{"line_id": "l1", "quantity": 1, "condition": "damaged"}],
        ),
        order("ship_replacement", utc(3, 13, 9), return_id="r1", tracking_number="T2"),
    )
    assert results[-1]["events"] == ["ReplacementShipped", "RefundDecided"]
    [r1] = tool.status()["returns"]
    assert (r1["status"], r1["refund_amount"]) == ("replacement_sent", postage)
