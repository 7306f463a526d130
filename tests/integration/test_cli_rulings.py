"""Issue 11's money and time rulings through `orderlog apply` (items 1, 7, 8 and 10).

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
def with_new_york_shop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tool's registry holds the shipped policies and `ny-shop`."""
    shipped = PolicyRegistry.shipped

    def registry(cls: type[PolicyRegistry]) -> PolicyRegistry:
        found = shipped()
        found.add(parse_policy(NEW_YORK_SHOP, "ny-shop.toml"))
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
    tool: Tool, with_new_york_shop: None
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
