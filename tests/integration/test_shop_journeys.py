"""Each shipped shop's order journeys through the `orderlog` tool (issue 5, item 7).

Every journey writes SPEC.md wire commands to a JSON Lines file, runs `orderlog apply` on a
fresh log under tmp_path and checks the result line of each command; then `orderlog status`,
`orderlog explain` (the clause behind every cent), `orderlog export` (the clause behind every
decline) and finally `orderlog verify`. Expected money and dates are worked out here from the
prices below and from the shops' own words, never read back from orderlog.

One order shape serves every shop (see `GOODS`), on a fixed timeline starting Monday 2026-03-02.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from projections.cli import main
from tests.support import at

# -- the order every journey places ---------------------------------------------------------------

UNIT = 1000
"""Line l1: two units at 10.00, so one order can carry two returns of the same line."""
SALE = 500
"""Line l2: one unit at 5.00, marked `final_sale`."""
TIGHTS = 500
"""Line l3: one unit at 5.00 in the `tights` category."""
GOODS = 2 * UNIT + SALE + TIGHTS
"""3000, exactly 30.00 with no discount: kos-allure charges its $5 because 30.00 is not "over
30 USD" (docs/policies.md), so every shop's order carries a shipping fee."""

LABEL_FEE = 699
"""allegra-k: "$6.99 is deducted from your refund" for a later package on the shop's label."""
PICKUP_FEE = 500
"""kgm-brand: the pickup fee per package, a placeholder in kgm-brand.toml (the seed has none):
never deducted, the return waits for a person."""
POSTAGE = 1200
"""What a kgm-brand customer paid the carrier to send goods back (the cap is a placeholder)."""

# -- the timeline -------------------------------------------------------------------------------

PLACED = at(0)  # Monday 2026-03-02 09:00 UTC
DISPATCHED = at(1)
DELIVERED = at(3)  # Thursday 2026-03-05
REQUESTED = at(7)
RECEIVED = at(10)  # Thursday 2026-03-12: refund deadlines count from here
INSPECTED = at(10, hours=2)
REFUNDED = at(11)
SECOND_REQUESTED = at(12)  # Saturday 2026-03-14, still within kos-allure's 14 days
SECOND_RECEIVED = at(16)  # Wednesday 2026-03-18
SECOND_INSPECTED = at(16, hours=2)
SECOND_REFUNDED = at(17)
LOST = at(9)  # the carrier reports the parcel lost on Wednesday 2026-03-11
LOST_REFUNDED = at(10)


# -- per-shop facts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """A shop's refund promise: `days` (business days if `business`) after the return arrives
    (for an order-level refund: after it is decided), under `clause`."""

    days: int
    business: bool
    clause: str


@dataclass(frozen=True)
class Shop:
    policy: str
    country: str
    currency: str
    payment_method: str
    shipping_fee: int | None
    """Sent with place_order; None lets the policy's own shipping rule charge it."""
    shipping_charged: int
    """What the customer paid for shipping."""
    deadline: Deadline | None
    goods_clause: str
    """The clause an accepted unit of a customer-choice return is refunded under."""
    kept_shipping_clause: str | None
    """A shop that says the original shipping is not refunded: a zero step under this clause."""
    return_method: str
    """How a customer-choice return travels: the free first label (allegra-k) or one's own."""
    lost_clause: str
    cancel_window: timedelta | None

    @property
    def paid(self) -> int:
        return GOODS + self.shipping_charged

    def __str__(self) -> str:
        return self.policy


KOS_ALLURE = Shop(
    policy="kos-allure",
    country="US",
    currency="USD",
    payment_method="visa",
    shipping_fee=None,
    shipping_charged=500,  # "In the USA shipping is 5 USD per order": GOODS is not over 30.00
    deadline=None,  # the seed promises no refund date
    goods_clause="kos-allure/unopened-original-packaging",
    kept_shipping_clause=None,
    return_method="own_carrier",
    lost_clause="kos-allure/lost-parcel-refunded",
    cancel_window=None,
)
ALLEGRA_K = Shop(
    policy="allegra-k",
    country="US",
    currency="USD",
    payment_method="paypal",
    shipping_fee=700,
    shipping_charged=700,
    deadline=Deadline(7, business=False, clause="allegra-k/refund-within-7-days"),
    goods_clause="allegra-k/new-condition-with-tags",
    kept_shipping_clause="allegra-k/original-shipping-not-refunded",
    return_method="prepaid_label",  # "free on your 1st return package" in the US
    lost_clause="allegra-k/lost-parcel-refunded",
    cancel_window=None,
)
KGM_BRAND = Shop(
    policy="kgm-brand",
    country="GB",
    currency="GBP",
    payment_method="mastercard",
    shipping_fee=800,
    shipping_charged=800,
    deadline=Deadline(3, business=True, clause="kgm-brand/refund-within-3-business-days"),
    goods_clause="kgm-brand/returns-any-time-full-refund",
    kept_shipping_clause=None,
    return_method="own_carrier",
    lost_clause="kgm-brand/missing-parcel-full-refund",
    cancel_window=None,
)
KIYOMI = Shop(
    policy="kiyomi",
    country="US",
    currency="USD",
    payment_method="amex",
    shipping_fee=500,
    shipping_charged=500,
    deadline=Deadline(10, business=True, clause="kiyomi/refund-within-10-business-days"),
    goods_clause="kiyomi/unused-unopened-undamaged",
    kept_shipping_clause=None,
    return_method="own_carrier",
    lost_clause="kiyomi/lost-parcel-refunded",
    cancel_window=timedelta(minutes=5),
)
SHOPS = [KOS_ALLURE, ALLEGRA_K, KGM_BRAND, KIYOMI]


def due_by(shop: Shop, start: datetime) -> str | None:
    """The refund's due date under the shop's promise, counted here day by day (Monday to
    Friday for business days; no shipped policy lists holidays)."""
    if shop.deadline is None:
        return None
    day, left = start.date(), shop.deadline.days
    while left:
        day += timedelta(days=1)
        if not shop.deadline.business or day.weekday() < 5:
            left -= 1
    return day.isoformat()


# -- wire commands ------------------------------------------------------------------------------


def command(kind: str, when: datetime, order_id: str = "o1", **fields: Any) -> dict[str, Any]:
    return {"type": kind, "order_id": order_id, "at": when.isoformat(), **fields}


def place(shop: Shop) -> dict[str, Any]:
    extra: dict[str, Any] = {} if shop.shipping_fee is None else {"shipping_fee": shop.shipping_fee}
    return command(
        "place_order",
        PLACED,
        policy=shop.policy,
        currency=shop.currency,
        customer={"id": "c1", "country": shop.country, "email": "c1@example.com"},
        lines=[
            {"line_id": "l1", "sku": "ITEM", "quantity": 2, "unit_price": UNIT},
            {"line_id": "l2", "sku": "SALE", "quantity": 1, "unit_price": SALE, "final_sale": True},
            {
                "line_id": "l3",
                "sku": "TIGHTS",
                "quantity": 1,
                "unit_price": TIGHTS,
                "category": "tights",
            },
        ],
        payment_method=shop.payment_method,
        **extra,
    )


def delivered(shop: Shop, when: datetime = DELIVERED) -> list[dict[str, Any]]:
    return [
        place(shop),
        command("dispatch_order", DISPATCHED, carrier="post", tracking_number="T1"),
        command("confirm_delivery", when),
    ]


def request(
    return_id: str,
    units: dict[str, int],
    when: datetime,
    *,
    method: str,
    reason: str = "changed_mind",
) -> dict[str, Any]:
    return command(
        "request_return",
        when,
        return_id=return_id,
        lines=[{"line_id": key, "quantity": quantity} for key, quantity in units.items()],
        reason=reason,
        method=method,
    )


def receive(return_id: str, when: datetime, postage: int | None = None) -> dict[str, Any]:
    extra: dict[str, Any] = {} if postage is None else {"return_shipping_paid": postage}
    return command("receive_return", when, return_id=return_id, **extra)


def inspect(return_id: str, when: datetime, found: list[tuple[str, int, str]]) -> dict[str, Any]:
    lines = [{"line_id": key, "quantity": n, "condition": c} for key, n, c in found]
    return command("inspect_return", when, return_id=return_id, lines=lines)


def issue(when: datetime, return_id: str | None = None) -> dict[str, Any]:
    extra = {} if return_id is None else {"return_id": return_id}
    return command("issue_refund", when, payment_reference="pay-1", **extra)


def returned(
    return_id: str,
    units: dict[str, int],
    *,
    method: str,
    condition: str = "unopened",
    requested: datetime = REQUESTED,
    received: datetime = RECEIVED,
    inspected: datetime = INSPECTED,
    refunded: datetime | None = REFUNDED,
) -> list[dict[str, Any]]:
    """A customer-choice return sent back, found in `condition`, and (if `refunded`) paid."""
    found = [(key, quantity, condition) for key, quantity in units.items()]
    steps = [
        request(return_id, units, requested, method=method),
        receive(return_id, received),
        inspect(return_id, inspected, found),
    ]
    return steps if refunded is None else [*steps, issue(refunded, return_id)]


# -- expected result lines ------------------------------------------------------------------------

Result = tuple[bool, list[str], str | None]


def accepted(*events: str) -> Result:
    return (True, list(events), None)


def declined(code: str) -> Result:
    """A policy decision: recorded as a ReturnDeclined event."""
    return (False, ["ReturnDeclined"], code)


def refused(code: str) -> Result:
    """An error: nothing written."""
    return (False, [], code)


DELIVERY = [
    accepted("PolicyRecorded", "OrderPlaced"),
    accepted("OrderDispatched"),
    accepted("OrderDelivered"),
]
REFUNDED_RETURN = [
    accepted("ReturnAuthorized"),
    accepted("ReturnReceived"),
    accepted("ReturnInspected", "RefundDecided"),
    accepted("RefundIssued"),
]


def a_return(
    return_id: str, status: str, amount: int | None = None, due: str | None = None
) -> dict[str, Any]:
    """One entry of `status --json`'s `returns`."""
    return {"return_id": return_id, "status": status, "refund_amount": amount, "refund_due_by": due}


# -- the tool -----------------------------------------------------------------------------------


class Log:
    """One journey's fresh log under tmp_path, driven only through `orderlog`."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.dir, self.capsys = tmp_path, capsys
        self.db = str(tmp_path / "shop.db")
        self.batches = 0
        self.last: list[dict[str, Any]] = []
        """The result lines of the last `apply`, as printed."""

    def run(self, *args: str) -> tuple[int, str]:
        code = main([*args, "--db", self.db])
        captured = self.capsys.readouterr()
        assert "Traceback" not in captured.err
        return code, captured.out

    def apply(self, commands: list[dict[str, Any]]) -> list[Result]:
        """Apply a JSON Lines file of commands; the (ok, events, error code) of each line."""
        self.batches += 1
        source = self.dir / f"batch-{self.batches}.jsonl"
        source.write_text("".join(json.dumps(c) + "\n" for c in commands))
        code, out = self.run("apply", str(source))
        results = [json.loads(line) for line in out.splitlines()]
        self.last = results
        assert [r["line"] for r in results] == list(range(1, len(commands) + 1))
        assert code == (0 if all(r["ok"] for r in results) else 1)
        for r in results:
            assert ("error" in r) is not r["ok"], r
        return [
            (r["ok"], r["events"], r["error"]["code"] if "error" in r else None) for r in results
        ]

    def status(self, as_of: datetime) -> dict[str, Any]:
        code, out = self.run("status", "o1", "--json", "--as-of", as_of.isoformat())
        assert code == 0
        fields: dict[str, Any] = json.loads(out)
        return fields

    def money(self, as_of: datetime) -> dict[str, Any]:
        """The status fields scripts rely on, the returns included."""
        data = self.status(as_of)
        keys = ("status", "paid_total", "refunded_total", "refund_pending", "returns")
        return {key: data[key] for key in keys}

    def refunds(self) -> dict[str | None, dict[str, Any]]:
        """`explain --json`'s refunds by return id (None: the order-level refund)."""
        code, out = self.run("explain", "o1", "--json")
        assert code == 0
        found = json.loads(out)["refunds"]
        by_return = {refund["return_id"]: refund for refund in found}
        assert len(by_return) == len(found)
        return by_return

    def steps(self, return_id: str | None = None) -> list[tuple[str, int]]:
        """(clause, amount) of each step of one refund; the steps add up to the refund."""
        refund = self.refunds()[return_id]
        steps = [(step["clause"], step["amount"]) for step in refund["steps"]]
        assert sum(amount for _, amount in steps) == refund["amount"]
        return steps

    def declines(self) -> list[tuple[str, str, str]]:
        """(return id, code, clause) of every recorded decline, from `orderlog export`."""
        code, out = self.run("export")
        assert code == 0
        events = [json.loads(line) for line in out.splitlines()]
        return [
            (e["data"]["return_id"], e["data"]["code"], e["data"]["clause"])
            for e in events
            if e["type"] == "ReturnDeclined"
        ]

    def verifies(self) -> bool:
        return self.run("verify")[0] == 0


@pytest.fixture
def log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Log:
    return Log(tmp_path, capsys)


def by_shop(*shops: Shop) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("shop", shops, ids=str)


def goods_steps(shop: Shop, *amounts: int) -> list[tuple[str, int]]:
    """The steps of a customer-choice refund: each line's price, then (allegra-k) the zero step
    that says why the original shipping is kept."""
    steps = [(shop.goods_clause, amount) for amount in amounts]
    if shop.kept_shipping_clause:
        steps.append((shop.kept_shipping_clause, 0))
    return steps


# -- a happy return -----------------------------------------------------------------------------


@by_shop(*SHOPS)
def test_each_shop_journey_happy_return_is_refunded_at_the_price_paid_by_its_deadline(
    log: Log, shop: Shop
) -> None:
    commands = [*delivered(shop), *returned("r1", {"l1": 1}, method=shop.return_method)]
    decided, paid_out = commands[:-1], commands[-1:]

    assert log.apply(decided) == [*DELIVERY, *REFUNDED_RETURN[:-1]]
    due = due_by(shop, RECEIVED)
    assert log.money(INSPECTED) == {
        "status": "return_in_progress",
        "paid_total": shop.paid,
        "refunded_total": 0,
        "refund_pending": UNIT,  # one unit, nothing deducted, no postage either way
        "returns": [a_return("r1", "inspected", UNIT, due)],
    }

    assert log.apply(paid_out) == [accepted("RefundIssued")]
    assert log.money(REFUNDED) == {
        "status": "partially_refunded",
        "paid_total": shop.paid,
        "refunded_total": UNIT,
        "refund_pending": 0,
        "returns": [a_return("r1", "refunded", UNIT, due)],
    }
    assert log.steps("r1") == goods_steps(shop, UNIT)
    refund = log.refunds()["r1"]
    assert (refund["amount"], refund["due_by"]) == (UNIT, due)
    if shop.deadline:
        assert shop.deadline.clause in refund["deadline"]
    assert log.verifies()


# -- a late return ------------------------------------------------------------------------------


def test_kos_allure_journey_late_return_on_day_15_after_purchase_is_declined(log: Log) -> None:
    # 14 days from purchase on Monday 2026-03-02: the last day is 2026-03-16, whatever the
    # delivery date; the request comes on 2026-03-17.
    late = PLACED + timedelta(days=15)
    results = log.apply(
        [*delivered(KOS_ALLURE), request("r1", {"l1": 1}, late, method="own_carrier")]
    )

    assert results == [*DELIVERY, declined("return_window_closed")]
    assert log.declines() == [
        ("r1", "return_window_closed", "kos-allure/return-within-14-days-of-purchase")
    ]
    assert log.money(late) == {
        # Not closed yet: an allergic reaction may still be reported within 14 days of the
        # delivery (2026-03-05), i.e. until 2026-03-19.
        "status": "received",
        "paid_total": KOS_ALLURE.paid,
        "refunded_total": 0,
        "refund_pending": 0,
        "returns": [a_return("r1", "declined")],
    }
    assert log.refunds() == {}
    assert log.verifies()


@pytest.mark.parametrize(
    ("shop", "window_clause"),
    [
        pytest.param(ALLEGRA_K, "allegra-k/return-within-30-days-of-receipt", id="allegra-k"),
        pytest.param(KIYOMI, "kiyomi/return-window-30-days", id="kiyomi"),
    ],
)
def test_allegra_k_and_kiyomi_journey_late_return_31_days_after_delivery_is_declined(
    log: Log, shop: Shop, window_clause: str
) -> None:
    # 30 days from the delivery on 2026-03-05 end on 2026-04-04; the request comes on 04-05.
    late = DELIVERED + timedelta(days=31)
    results = log.apply(
        [*delivered(shop), request("r1", {"l1": 1}, late, method=shop.return_method)]
    )

    assert results == [*DELIVERY, declined("return_window_closed")]
    assert log.declines() == [("r1", "return_window_closed", window_clause)]
    assert log.money(late) == {
        "status": "closed",  # the window has passed with nothing refunded
        "paid_total": shop.paid,
        "refunded_total": 0,
        "refund_pending": 0,
        "returns": [a_return("r1", "declined")],
    }
    assert log.refunds() == {}
    assert log.verifies()


def test_kgm_brand_journey_very_late_return_a_year_after_delivery_is_still_refunded(
    log: Log,
) -> None:
    # "send a return Products at any time and get a full amount refund": no window, and the
    # bag comes back used yet is refunded at its full price.
    a_year_later = DELIVERED + timedelta(days=365)
    arrived = a_year_later + timedelta(days=10)
    commands = [
        *delivered(KGM_BRAND),
        *returned(
            "r1",
            {"l1": 1},
            method="own_carrier",
            condition="used",
            requested=a_year_later,
            received=arrived,
            inspected=arrived + timedelta(hours=2),
            refunded=arrived + timedelta(days=1),
        ),
    ]

    assert log.apply(commands) == [*DELIVERY, *REFUNDED_RETURN]
    assert log.declines() == []
    assert log.money(arrived + timedelta(days=1)) == {
        "status": "partially_refunded",
        "paid_total": KGM_BRAND.paid,
        "refunded_total": UNIT,
        "refund_pending": 0,
        "returns": [a_return("r1", "refunded", UNIT, due_by(KGM_BRAND, arrived))],
    }
    assert log.steps("r1") == [("kgm-brand/returns-any-time-full-refund", UNIT)]
    assert log.verifies()


# -- a non-returnable item ------------------------------------------------------------------------


def test_allegra_k_journey_final_sale_and_tights_are_not_returnable(log: Log) -> None:
    results = log.apply(
        [
            *delivered(ALLEGRA_K),
            request("r1", {"l2": 1}, REQUESTED, method="prepaid_label"),
            request("r2", {"l3": 1}, REQUESTED + timedelta(hours=1), method="prepaid_label"),
        ]
    )

    assert results == [*DELIVERY, declined("not_returnable"), declined("not_returnable")]
    assert log.declines() == [
        ("r1", "not_returnable", "allegra-k/marked-items-and-free-gifts"),
        ("r2", "not_returnable", "allegra-k/non-returnable-categories"),
    ]
    assert log.money(REQUESTED + timedelta(hours=1)) == {
        "status": "received",
        "paid_total": ALLEGRA_K.paid,
        "refunded_total": 0,
        "refund_pending": 0,
        "returns": [a_return("r1", "declined"), a_return("r2", "declined")],
    }
    assert log.refunds() == {}
    assert log.verifies()


def test_allegra_k_journey_mixed_request_refunds_the_dress_and_declines_sale_and_tights(
    log: Log,
) -> None:
    # Ruling (issue 11.2): one request for a returnable dress, a final-sale item and tights is
    # decided line by line; the dress is authorized and refunded, the others declined with their
    # clauses in the same decision.
    results = log.apply(
        [
            *delivered(ALLEGRA_K),
            request("r1", {"l1": 1, "l2": 1, "l3": 1}, REQUESTED, method="prepaid_label"),
            receive("r1", RECEIVED),
            inspect("r1", INSPECTED, [("l1", 1, "unopened")]),
            issue(REFUNDED, "r1"),
        ]
    )

    assert results == [*DELIVERY, *REFUNDED_RETURN]
    assert log.last[3]["lines"] == {
        "accepted": [{"line_id": "l1", "quantity": 1}],
        "declined": [
            {
                "line_id": "l2",
                "quantity": 1,
                "code": "not_returnable",
                "clause": "allegra-k/marked-items-and-free-gifts",
            },
            {
                "line_id": "l3",
                "quantity": 1,
                "code": "not_returnable",
                "clause": "allegra-k/non-returnable-categories",
            },
        ],
    }
    assert log.steps("r1") == goods_steps(ALLEGRA_K, UNIT)
    code, out = log.run("history", "o1")
    assert code == 0
    assert "declined [not_returnable]" in out
    code, out = log.run("declines", "--json", "--clause", "allegra-k/non-returnable-categories")
    assert code == 0
    assert [(d["return_id"], d["line_id"], d["code"]) for d in json.loads(out)] == [
        ("r1", "l3", "not_returnable")
    ]
    assert log.verifies()


@by_shop(KOS_ALLURE, KGM_BRAND, KIYOMI)
def test_shops_without_exclusions_journey_final_sale_and_tights_are_refunded(
    log: Log, shop: Shop
) -> None:
    # Reading: these seeds exclude no item, category or mark (their policies have no
    # [[non_returnable]] table), so a final-sale line and tights come back under the shop's
    # ordinary return rule like anything else.
    commands = [*delivered(shop), *returned("r1", {"l2": 1, "l3": 1}, method=shop.return_method)]

    assert log.apply(commands) == [*DELIVERY, *REFUNDED_RETURN]
    assert log.declines() == []
    assert log.money(REFUNDED) == {
        "status": "partially_refunded",
        "paid_total": shop.paid,
        "refunded_total": SALE + TIGHTS,
        "refund_pending": 0,
        "returns": [a_return("r1", "refunded", SALE + TIGHTS, due_by(shop, RECEIVED))],
    }
    assert log.steps("r1") == goods_steps(shop, SALE, TIGHTS)
    assert log.verifies()


# -- a second return ----------------------------------------------------------------------------


def two_returns(shop: Shop, method: str) -> list[dict[str, Any]]:
    """Both units of l1 sent back in two packages, each received, inspected and paid."""
    return [
        *delivered(shop),
        *returned("r1", {"l1": 1}, method=method),
        *returned(
            "r2",
            {"l1": 1},
            method=method,
            requested=SECOND_REQUESTED,
            received=SECOND_RECEIVED,
            inspected=SECOND_INSPECTED,
            refunded=SECOND_REFUNDED,
        ),
    ]


def test_kos_allure_journey_second_return_is_refunded_like_the_first(log: Log) -> None:
    # The seed says nothing of return shipping: no package is charged, first or second.
    nothing_left = request("r3", {"l1": 1}, SECOND_REFUNDED, method="own_carrier")
    results = log.apply([*two_returns(KOS_ALLURE, "own_carrier"), nothing_left])

    assert results == [
        *DELIVERY,
        *REFUNDED_RETURN,
        *REFUNDED_RETURN,
        refused("quantity_exceeds_returnable"),  # both units are already back
    ]
    assert log.money(SECOND_REFUNDED) == {
        "status": "partially_refunded",  # the $5 shipping is not part of a "full refund"
        "paid_total": KOS_ALLURE.paid,
        "refunded_total": 2 * UNIT,
        "refund_pending": 0,
        "returns": [a_return("r1", "refunded", UNIT), a_return("r2", "refunded", UNIT)],
    }
    assert log.steps("r2") == log.steps("r1") == [("kos-allure/unopened-original-packaging", UNIT)]
    assert log.verifies()


def test_allegra_k_journey_second_return_pays_the_label_fee(log: Log) -> None:
    assert log.apply(two_returns(ALLEGRA_K, "prepaid_label")) == [
        *DELIVERY,
        *REFUNDED_RETURN,
        *REFUNDED_RETURN,
    ]
    second = UNIT - LABEL_FEE  # the 1st package is free; a later one on the label costs $6.99
    assert log.money(SECOND_REFUNDED) == {
        "status": "partially_refunded",
        "paid_total": ALLEGRA_K.paid,
        "refunded_total": UNIT + second,
        "refund_pending": 0,
        "returns": [
            a_return("r1", "refunded", UNIT, due_by(ALLEGRA_K, RECEIVED)),
            a_return("r2", "refunded", second, due_by(ALLEGRA_K, SECOND_RECEIVED)),
        ],
    }
    assert log.steps("r1") == [
        ("allegra-k/new-condition-with-tags", UNIT),
        ("allegra-k/original-shipping-not-refunded", 0),
    ]
    assert log.steps("r2") == [
        ("allegra-k/new-condition-with-tags", UNIT),
        ("allegra-k/us-later-returns-paid", -LABEL_FEE),
        ("allegra-k/original-shipping-not-refunded", 0),
    ]
    assert log.verifies()


def approve(return_id: str, when: datetime) -> dict[str, Any]:
    return command("review_return", when, return_id=return_id, decision="approve", note="ok")


HELD_RETURN = [
    accepted("ReturnHeldForReview"),
    accepted("ReturnApproved"),
    accepted("ReturnReceived"),
    accepted("ReturnInspected", "RefundDecided"),
    accepted("RefundIssued"),
]


def test_kgm_brand_journey_placeholder_pickup_fee_waits_for_a_person_and_is_never_deducted(
    log: Log,
) -> None:
    # Issue 11, ruling 7 (kgm-brand/pickup-fee-per-package): "The pickup fee is /package" names
    # no amount. Each pickup waits for a person, and the placeholder is never deducted.
    first, second = two_returns(KGM_BRAND, "pickup")[3:7], two_returns(KGM_BRAND, "pickup")[7:]
    results = log.apply(
        [
            *delivered(KGM_BRAND),
            first[0],
            approve("r1", REQUESTED + timedelta(hours=1)),
            *first[1:],
            second[0],
            approve("r2", SECOND_REQUESTED + timedelta(hours=1)),
            *second[1:],
        ]
    )

    assert results == [*DELIVERY, *HELD_RETURN, *HELD_RETURN]
    assert log.money(SECOND_REFUNDED) == {
        "status": "partially_refunded",
        "paid_total": KGM_BRAND.paid,
        "refunded_total": 2 * UNIT,
        "refund_pending": 0,
        "returns": [
            a_return("r1", "refunded", UNIT, due_by(KGM_BRAND, RECEIVED)),
            a_return("r2", "refunded", UNIT, due_by(KGM_BRAND, SECOND_RECEIVED)),
        ],
    }
    expected = [
        ("kgm-brand/returns-any-time-full-refund", UNIT),
        ("kgm-brand/pickup-fee-per-package", 0),  # the placeholder, not applied
    ]
    assert log.steps("r1") == log.steps("r2") == expected
    sentence = log.refunds()["r1"]["steps"][1]["sentence"]
    assert f"pickup_fee {PICKUP_FEE} is a placeholder" in sentence
    assert log.verifies()


def test_kgm_brand_journey_placeholder_pickup_fee_declined_by_the_reviewer_moves_no_money(
    log: Log,
) -> None:
    pickup = request("r1", {"l1": 1}, REQUESTED, method="pickup")
    decline = command(
        "review_return", REQUESTED + timedelta(hours=1), return_id="r1", decision="decline"
    )

    assert log.apply([*delivered(KGM_BRAND), pickup, decline]) == [
        *DELIVERY,
        accepted("ReturnHeldForReview"),
        (False, ["ReturnDeclined"], "review_declined"),
    ]
    assert log.refunds() == {}
    assert log.declines() == [("r1", "review_declined", "orderlog/review-declined")]
    assert log.verifies()


def test_kiyomi_journey_second_return_gets_its_own_deadline(log: Log) -> None:
    nothing_left = request("r3", {"l1": 1}, SECOND_REFUNDED, method="own_carrier")
    results = log.apply([*two_returns(KIYOMI, "own_carrier"), nothing_left])

    assert results == [
        *DELIVERY,
        *REFUNDED_RETURN,
        *REFUNDED_RETURN,
        refused("quantity_exceeds_returnable"),
    ]
    first_due, second_due = due_by(KIYOMI, RECEIVED), due_by(KIYOMI, SECOND_RECEIVED)
    assert first_due != second_due  # 10 business days from each package's own arrival
    assert log.money(SECOND_REFUNDED) == {
        "status": "partially_refunded",
        "paid_total": KIYOMI.paid,
        "refunded_total": 2 * UNIT,  # the customer pays the way back: nothing deducted
        "refund_pending": 0,
        "returns": [
            a_return("r1", "refunded", UNIT, first_due),
            a_return("r2", "refunded", UNIT, second_due),
        ],
    }
    assert log.steps("r2") == [("kiyomi/unused-unopened-undamaged", UNIT)]
    assert log.refunds()["r2"]["due_by"] == second_due
    assert log.verifies()


# -- a merchant-fault return --------------------------------------------------------------------


def test_kos_allure_journey_wrong_or_damaged_goods_are_taken_back_at_the_shops_cost(
    log: Log,
) -> None:
    # Ruling (issue 11.3): the seed is silent on faulty goods, so orderlog's default applies:
    # a wrong item comes back whatever its state, a damaged one found damaged is refunded, and
    # the postage the customer paid is the shop's (`orderlog/faulty-goods-taken-back`).
    wrong = request("r1", {"l1": 1}, REQUESTED, method="own_carrier", reason="wrong_item")
    damaged = request("r2", {"l1": 1}, SECOND_REQUESTED, method="own_carrier", reason="damaged")
    postage = 300
    results = log.apply(
        [
            *delivered(KOS_ALLURE),
            wrong,
            receive("r1", RECEIVED),
            inspect("r1", INSPECTED, [("l1", 1, "opened")]),
            issue(REFUNDED, "r1"),
            damaged,
            receive("r2", SECOND_RECEIVED, postage=postage),
            inspect("r2", SECOND_INSPECTED, [("l1", 1, "damaged")]),
        ]
    )

    assert results == [
        *DELIVERY,
        *REFUNDED_RETURN,
        accepted("ReturnAuthorized"),
        accepted("ReturnReceived"),
        accepted("ReturnInspected", "RefundDecided"),
    ]
    assert log.money(SECOND_INSPECTED) == {
        "status": "return_in_progress",
        "paid_total": KOS_ALLURE.paid,
        "refunded_total": UNIT,
        "refund_pending": UNIT + postage,
        "returns": [
            a_return("r1", "refunded", UNIT),
            a_return("r2", "inspected", UNIT + postage),
        ],
    }
    assert log.steps("r1") == [("orderlog/faulty-goods-taken-back", UNIT)]
    assert log.steps("r2") == [
        ("orderlog/faulty-goods-taken-back", UNIT),
        ("orderlog/faulty-goods-taken-back", postage),
    ]
    assert log.verifies()


def test_allegra_k_journey_fault_on_an_excluded_category_damaged_tights_are_refunded(
    log: Log,
) -> None:
    # Ruling (issue 11.3): tights are non-returnable for a change of mind, but damaged tights
    # may always be sent back, and found damaged they are refunded under the quality clause.
    results = log.apply(
        [
            *delivered(ALLEGRA_K),
            request("r1", {"l3": 1}, REQUESTED, method="prepaid_label", reason="damaged"),
            receive("r1", RECEIVED),
            inspect("r1", INSPECTED, [("l3", 1, "damaged")]),
            issue(REFUNDED, "r1"),
        ]
    )

    assert results == [*DELIVERY, *REFUNDED_RETURN]
    assert log.steps("r1") == [
        ("allegra-k/quality-or-allegra-k-responsibility", TIGHTS),
        ("allegra-k/original-shipping-not-refunded", 0),
    ]
    assert log.declines() == []
    assert log.verifies()


def test_allegra_k_journey_claimed_defect_not_found_pays_the_later_label_fee(log: Log) -> None:
    # Ruling (issue 11.4): a second package claimed defective, found unopened, is a change of
    # mind after all: the later-label $6.99 that the defect would have waived is deducted.
    results = log.apply(
        [
            *delivered(ALLEGRA_K),
            *returned("r1", {"l1": 1}, method="prepaid_label"),
            request("r2", {"l1": 1}, SECOND_REQUESTED, method="prepaid_label", reason="defective"),
            receive("r2", SECOND_RECEIVED),
            inspect("r2", SECOND_INSPECTED, [("l1", 1, "unopened")]),
        ]
    )

    assert results == [
        *DELIVERY,
        *REFUNDED_RETURN,
        accepted("ReturnAuthorized"),
        accepted("ReturnReceived"),
        accepted("ReturnInspected", "RefundDecided"),
    ]
    assert log.steps("r2") == [
        ("allegra-k/new-condition-with-tags", UNIT),
        ("allegra-k/us-later-returns-paid", -LABEL_FEE),
        ("allegra-k/original-shipping-not-refunded", 0),
    ]
    code, out = log.run("explain", "o1")
    assert code == 0
    assert "no unit was found defective" in out
    assert log.verifies()


def test_allegra_k_journey_damaged_item_goes_back_free_but_the_original_shipping_is_kept(
    log: Log,
) -> None:
    # "for quality issues ... Allegra K pays the return shipping": the label carries no fee;
    # "the original shipping fee is non-refundable", even for a defect.
    damaged = request("r1", {"l1": 1}, REQUESTED, method="prepaid_label", reason="damaged")
    results = log.apply(
        [
            *delivered(ALLEGRA_K),
            damaged,
            receive("r1", RECEIVED),
            inspect("r1", INSPECTED, [("l1", 1, "damaged")]),
            issue(REFUNDED, "r1"),
        ]
    )

    assert results == [*DELIVERY, *REFUNDED_RETURN]
    assert log.money(REFUNDED) == {
        "status": "partially_refunded",
        "paid_total": ALLEGRA_K.paid,
        "refunded_total": UNIT,
        "refund_pending": 0,
        "returns": [a_return("r1", "refunded", UNIT, due_by(ALLEGRA_K, RECEIVED))],
    }
    assert log.steps("r1") == [
        ("allegra-k/quality-or-allegra-k-responsibility", UNIT),
        ("allegra-k/original-shipping-not-refunded", 0),
    ]
    assert log.verifies()


def test_kgm_brand_journey_not_as_described_repays_the_postage_and_the_original_shipping(
    log: Log,
) -> None:
    # A brand error: the postage the customer paid comes back, and Purchase Protection adds
    # "the full purchase price plus any original shipping". The seed states no cap, so the
    # placeholder sends the return to a person first and never caps (ruling 7).
    wrong = request("r1", {"l1": 1}, REQUESTED, method="own_carrier", reason="not_as_described")
    results = log.apply(
        [
            *delivered(KGM_BRAND),
            wrong,
            approve("r1", REQUESTED + timedelta(hours=1)),
            receive("r1", RECEIVED, postage=POSTAGE),
            inspect("r1", INSPECTED, [("l1", 1, "opened")]),
            issue(REFUNDED, "r1"),
        ]
    )

    assert results == [*DELIVERY, *HELD_RETURN]
    refund = UNIT + POSTAGE + KGM_BRAND.shipping_charged
    assert log.money(REFUNDED) == {
        "status": "partially_refunded",
        "paid_total": KGM_BRAND.paid,
        "refunded_total": refund,
        "refund_pending": 0,
        "returns": [a_return("r1", "refunded", refund, due_by(KGM_BRAND, RECEIVED))],
    }
    assert log.steps("r1") == [
        ("kgm-brand/returns-any-time-full-refund", UNIT),
        ("kgm-brand/brand-error-return-shipping-capped", 0),  # the placeholder cap
        ("kgm-brand/brand-error-return-shipping-capped", POSTAGE),
        ("kgm-brand/not-as-described-with-shipping", KGM_BRAND.shipping_charged),
    ]
    assert log.verifies()


def test_kiyomi_journey_damaged_item_is_replaced_at_no_cost(log: Log) -> None:
    # "we will arrange a replacement at no additional cost": the shop's label, no refund.
    damaged = request("r1", {"l1": 1}, REQUESTED, method="prepaid_label", reason="damaged")
    results = log.apply(
        [
            *delivered(KIYOMI),
            damaged,
            receive("r1", RECEIVED),
            inspect("r1", INSPECTED, [("l1", 1, "damaged")]),
            command("ship_replacement", REFUNDED, return_id="r1", tracking_number="T2"),
        ]
    )

    assert results == [
        *DELIVERY,
        accepted("ReturnAuthorized"),
        accepted("ReturnReceived"),
        accepted("ReturnInspected"),  # no RefundDecided: the damage is settled in kind
        accepted("ReplacementShipped"),
    ]
    assert log.money(REFUNDED) == {
        "status": "received",
        "paid_total": KIYOMI.paid,
        "refunded_total": 0,
        "refund_pending": 0,
        "returns": [a_return("r1", "replacement_sent")],
    }
    assert log.refunds() == {}
    assert log.verifies()


def test_kiyomi_journey_replacement_with_postage_for_a_parcel_sent_by_own_carrier(
    log: Log,
) -> None:
    # Ruling (issue 11.5): a damaged item already posted back with the customer's own carrier
    # is accepted; "a replacement at no additional cost" ships it and pays the postage back.
    postage = 450
    results = log.apply(
        [
            *delivered(KIYOMI),
            request("r1", {"l1": 1}, REQUESTED, method="own_carrier", reason="damaged"),
            receive("r1", RECEIVED, postage=postage),
            inspect("r1", INSPECTED, [("l1", 1, "damaged")]),
            command("ship_replacement", REFUNDED, return_id="r1", tracking_number="T2"),
            issue(SECOND_REQUESTED, "r1"),
        ]
    )

    assert results == [
        *DELIVERY,
        accepted("ReturnAuthorized"),
        accepted("ReturnReceived"),
        accepted("ReturnInspected"),
        accepted("ReplacementShipped", "RefundDecided"),
        accepted("RefundIssued"),
    ]
    assert log.money(SECOND_REQUESTED) == {
        "status": "partially_refunded",
        "paid_total": KIYOMI.paid,
        "refunded_total": postage,
        "refund_pending": 0,
        "returns": [a_return("r1", "replacement_sent", postage, due_by(KIYOMI, RECEIVED))],
    }
    assert log.steps("r1") == [("kiyomi/replacement-no-additional-cost", postage)]
    code, out = log.run("explain", "o1")
    assert code == 0
    assert "settled by replacement" in out
    assert log.verifies()


def test_kiyomi_journey_refund_fallback_when_no_replacement_can_be_sent(log: Log) -> None:
    # Ruling (issue 11.5): the damaged serum cannot be replaced (out of stock), so support
    # settles the inspected return by refund instead, naming who decided.
    settle = command(
        "settle_by_refund", REFUNDED, return_id="r1", actor="support-ana", note="out of stock"
    )
    results = log.apply(
        [
            *delivered(KIYOMI),
            request("r1", {"l1": 1}, REQUESTED, method="prepaid_label", reason="damaged"),
            receive("r1", RECEIVED),
            inspect("r1", INSPECTED, [("l1", 1, "damaged")]),
            settle,
            issue(SECOND_REQUESTED, "r1"),
        ]
    )

    assert results == [
        *DELIVERY,
        accepted("ReturnAuthorized"),
        accepted("ReturnReceived"),
        accepted("ReturnInspected"),
        accepted("ReturnSettledByRefund", "RefundDecided"),
        accepted("RefundIssued"),
    ]
    assert log.money(SECOND_REQUESTED) == {
        "status": "partially_refunded",
        "paid_total": KIYOMI.paid,
        "refunded_total": UNIT,
        "refund_pending": 0,
        "returns": [a_return("r1", "refunded", UNIT, due_by(KIYOMI, RECEIVED))],
    }
    assert log.steps("r1") == [("kiyomi/damaged-or-defective-replaced", UNIT)]
    code, out = log.run("history", "o1")
    assert code == 0
    assert "support-ana" in out
    code, out = log.run("explain", "o1", "--json")
    assert code == 0
    [settled] = [s for s in json.loads(out)["settlements"] if s["kind"] == "settled_by_refund"]
    assert settled["clause"] == "orderlog/settled-by-refund"
    code, out = log.run("returns", "--json")
    assert code == 0
    assert [(r["return_id"], r["resolution"]) for r in json.loads(out)] == [("r1", "refund")]
    assert log.verifies()


def test_kos_allure_journey_exchanges_with_a_price_difference(log: Log) -> None:
    # Ruling (issue 11.6): a dearer exchange item records what the customer owes (not
    # collected); a cheaper one refunds the difference; both under the exchange clause.
    def swap(return_id: str, when: datetime, price: int) -> dict[str, Any]:
        asked = request(return_id, {"l1": 1}, when, method="own_carrier")
        return {
            **asked,
            "resolution": "exchange",
            "exchange_sku": "CREAM",
            "exchange_unit_price": price,
        }

    results = log.apply(
        [
            *delivered(KOS_ALLURE),
            swap("r1", REQUESTED, UNIT + 300),
            receive("r1", RECEIVED),
            inspect("r1", INSPECTED, [("l1", 1, "unopened")]),
            command("ship_replacement", REFUNDED, return_id="r1"),
            swap("r2", SECOND_REQUESTED, UNIT - 200),
            receive("r2", SECOND_RECEIVED),
            inspect("r2", SECOND_INSPECTED, [("l1", 1, "unopened")]),
            command("ship_replacement", SECOND_REFUNDED, return_id="r2"),
        ]
    )

    assert results == [
        *DELIVERY,
        accepted("ReturnAuthorized"),
        accepted("ReturnReceived"),
        accepted("ReturnInspected"),
        accepted("ReplacementShipped"),
        accepted("ReturnAuthorized"),
        accepted("ReturnReceived"),
        accepted("ReturnInspected"),
        accepted("ReplacementShipped", "RefundDecided"),
    ]
    assert log.steps("r2") == [("kos-allure/exchange-for-another-product", 200)]
    assert set(log.refunds()) == {"r2"}
    code, out = log.run("explain", "o1", "--json")
    assert code == 0
    [dearer] = [s for s in json.loads(out)["settlements"] if s["return_id"] == "r1"]
    assert (dearer["kind"], dearer["amount_due"]) == ("exchange", 300)
    assert dearer["clause"] == "kos-allure/exchange-for-another-product"
    assert "USD 3.00 more" in dearer["sentence"]
    assert log.verifies()


def test_kos_allure_journey_allergic_reaction_is_refunded_without_a_parcel(log: Log) -> None:
    # Ruling (issue 11.9): the customer is not asked to post a used cosmetic back; a person
    # approves the report and the refund follows at once.
    results = log.apply(
        [
            *delivered(KOS_ALLURE),
            request("r1", {"l1": 1}, REQUESTED, method="own_carrier", reason="allergic_reaction"),
            command("review_return", RECEIVED, return_id="r1", decision="approve", actor="ana"),
            issue(REFUNDED, "r1"),
        ]
    )

    assert results == [
        *DELIVERY,
        accepted("ReturnHeldForReview"),
        accepted("ReturnApproved", "ClaimAccepted", "RefundDecided"),
        accepted("RefundIssued"),
    ]
    assert log.money(REFUNDED) == {
        "status": "partially_refunded",
        "paid_total": KOS_ALLURE.paid,
        "refunded_total": UNIT,
        "refund_pending": 0,
        "returns": [a_return("r1", "refunded", UNIT)],
    }
    assert log.steps("r1") == [("kos-allure/allergic-reaction-within-14-days", UNIT)]
    assert log.verifies()


# -- a lost parcel ------------------------------------------------------------------------------


@by_shop(*SHOPS)
def test_each_shop_journey_lost_parcel_is_refunded_in_full_with_its_shipping(
    log: Log, shop: Shop
) -> None:
    lost = [place(shop), command("dispatch_order", DISPATCHED), command("report_lost", LOST)]

    assert log.apply(lost) == [
        accepted("PolicyRecorded", "OrderPlaced"),
        accepted("OrderDispatched"),
        accepted("ParcelLost", "RefundDecided"),
    ]
    assert log.money(LOST) == {
        "status": "lost",
        "paid_total": shop.paid,
        "refunded_total": 0,
        "refund_pending": shop.paid,  # every line and the shipping: the parcel never arrived
        "returns": [],
    }
    refund = log.refunds()[None]
    assert (refund["amount"], refund["due_by"]) == (shop.paid, due_by(shop, LOST))
    assert log.steps() == [
        (shop.lost_clause, 2 * UNIT),
        (shop.lost_clause, SALE),
        (shop.lost_clause, TIGHTS),
        (shop.lost_clause, shop.shipping_charged),
    ]

    assert log.apply([issue(LOST_REFUNDED)]) == [accepted("RefundIssued")]
    assert log.money(LOST_REFUNDED) == {
        "status": "refunded",
        "paid_total": shop.paid,
        "refunded_total": shop.paid,
        "refund_pending": 0,
        "returns": [],
    }
    assert log.verifies()


# -- a cancellation -----------------------------------------------------------------------------


def in_time(shop: Shop) -> datetime:
    """kiyomi: exactly at the end of its 5 minutes (still in time). The others have no window
    and can cancel until dispatch: six hours after placing, far past kiyomi's."""
    return PLACED + (shop.cancel_window or timedelta(hours=6))


@by_shop(*SHOPS)
def test_each_shop_journey_cancellation_in_time_refunds_everything_paid(
    log: Log, shop: Shop
) -> None:
    cancelled = in_time(shop)

    assert log.apply([place(shop), command("cancel_order", cancelled, reason="typo")]) == [
        accepted("PolicyRecorded", "OrderPlaced"),
        accepted("OrderCancelled", "RefundDecided"),
    ]
    assert log.money(cancelled) == {
        "status": "cancelled",
        "paid_total": shop.paid,
        "refunded_total": 0,
        "refund_pending": shop.paid,
        "returns": [],
    }
    refund = log.refunds()[None]
    assert (refund["amount"], refund["due_by"]) == (shop.paid, due_by(shop, cancelled))
    assert log.steps() == [
        ("orderlog/cancellation-refund", 2 * UNIT),
        ("orderlog/cancellation-refund", SALE),
        ("orderlog/cancellation-refund", TIGHTS),
        ("orderlog/cancellation-refund", shop.shipping_charged),
    ]

    paid_back = cancelled + timedelta(days=1)
    assert log.apply([issue(paid_back)]) == [accepted("RefundIssued")]
    assert log.money(paid_back) == {
        "status": "refunded",
        "paid_total": shop.paid,
        "refunded_total": shop.paid,
        "refund_pending": 0,
        "returns": [],
    }
    assert log.verifies()


def test_kiyomi_journey_cancellation_after_5_minutes_is_refused(log: Log) -> None:
    too_late = PLACED + timedelta(minutes=5, seconds=1)
    results = log.apply(
        [
            place(KIYOMI),
            command("cancel_order", too_late),
            command("dispatch_order", DISPATCHED),
            command("cancel_order", DISPATCHED + timedelta(hours=1)),
        ]
    )

    assert results == [
        accepted("PolicyRecorded", "OrderPlaced"),
        refused("cancellation_window_closed"),
        accepted("OrderDispatched"),
        refused("illegal_transition"),  # once dispatched, never
    ]
    assert log.money(DISPATCHED + timedelta(hours=1)) == {
        "status": "dispatched",
        "paid_total": KIYOMI.paid,
        "refunded_total": 0,
        "refund_pending": 0,
        "returns": [],
    }
    assert log.refunds() == {}
    assert log.verifies()


def test_kiyomi_journey_subscription_checkout_order_has_5_minutes_renewals_until_dispatch(
    log: Log,
) -> None:
    # Issue 11, ruling 10 (kiyomi/cancel-within-5-minutes, kiyomi/subscription-dispatch-final):
    # the order placed at checkout follows the 5-minute rule; a renewal can be stopped until
    # it is dispatched.
    subscribed = place(KIYOMI) | {"type": "start_subscription", "subscription_id": "s1"}
    renewal_at = PLACED + timedelta(days=30)
    results = log.apply(
        [
            subscribed | {"every_days": 30},
            command("cancel_order", PLACED + timedelta(minutes=5, seconds=1)),
            command("renew_subscription", renewal_at, order_id="o2", subscription_id="s1"),
            command("cancel_order", renewal_at + timedelta(hours=6), order_id="o2"),
        ]
    )

    assert results == [
        accepted("PolicyRecorded", "SubscriptionStarted", "OrderPlaced"),
        refused("cancellation_window_closed"),
        accepted("SubscriptionRenewed", "OrderPlaced"),
        accepted("OrderCancelled", "RefundDecided"),
    ]
    assert log.status(PLACED)["cancellable_until"] == "2026-03-02T09:05:00.000000+00:00"
    assert log.verifies()


@by_shop(KOS_ALLURE, ALLEGRA_K, KGM_BRAND)
def test_shops_without_a_cancellation_window_journey_cancelling_after_dispatch_is_refused(
    log: Log, shop: Shop
) -> None:
    # No window to close (no cancellation_window_closed): the order can be cancelled until it
    # is dispatched, and after that the transition does not exist.
    results = log.apply(
        [
            place(shop),
            command("dispatch_order", DISPATCHED),
            command("cancel_order", DISPATCHED + timedelta(minutes=1)),
        ]
    )

    assert results == [
        accepted("PolicyRecorded", "OrderPlaced"),
        accepted("OrderDispatched"),
        refused("illegal_transition"),
    ]
    assert log.money(DISPATCHED + timedelta(minutes=1)) == {
        "status": "dispatched",
        "paid_total": shop.paid,
        "refunded_total": 0,
        "refund_pending": 0,
        "returns": [],
    }
    assert log.refunds() == {}
    assert log.verifies()
