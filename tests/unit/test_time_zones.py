"""Issue 11, ruling 8: windows in the shop's time zone.

A policy may name its zone (`timezone = "America/New_York"`); windows of days and business days
count in that zone's calendar days. Without it they count in UTC days. Driven through
`OrderService.handle`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from lifecycle import InvalidPolicy, OrderService, Policy, PolicyRegistry
from lifecycle.policy_files import parse_policy
from tests.unit.builders import (
    ServiceFactory,
    line,
    make_policy,
    order_command,
    place_order,
    receive_return,
    request_return,
)

RULES = """
[return_window]
days = 30
counted_from = "delivery"
clause = "shop/thirty-days"

[refund]
deadline_days = 3
business_days = true
clause = "shop/three-business-days"
"""
NEW_YORK = make_policy('timezone = "America/New_York"\n' + RULES)
UTC_SHOP = make_policy(RULES)

DELIVERED = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)
"""Thursday 03:00 UTC is still Wednesday 4 March, 22:00, in New York."""


def delivered(make_service: ServiceFactory, policy: Policy, *later: dict[str, Any]) -> OrderService:
    """A service with order o1 (two units of l1) delivered at `DELIVERED`, then `later` steps."""
    service = make_service(policy)
    for step in (
        place_order(line(quantity=2), policy="shop", currency="USD", country="US"),
        order_command("dispatch_order", datetime(2026, 3, 3, 9, 0, tzinfo=UTC)),
        order_command("confirm_delivery", DELIVERED),
        *later,
    ):
        outcome = service.handle(step)
        assert outcome.ok, outcome.error
    return service


def test_ruling_8_a_window_of_days_counts_in_the_shops_time_zone(
    make_service: ServiceFactory,
) -> None:
    service = delivered(make_service, NEW_YORK)
    order = service.load("o1")
    assert order is not None
    # Delivered on 4 March in New York: day 30 is 3 April there.
    assert order.returns_close_on == date(2026, 4, 3)

    in_time = service.handle(request_return(datetime(2026, 4, 4, 2, 0, tzinfo=UTC)))  # 3 Apr 22:00
    late = service.handle(
        request_return(datetime(2026, 4, 4, 12, 0, tzinfo=UTC), return_id="r2")
    )  # 4 April, 08:00 in New York

    assert in_time.events == ("ReturnAuthorized",)
    assert late.events == ("ReturnDeclined",)
    assert late.recorded[0].data["code"] == "return_window_closed"
    assert late.recorded[0].data["clause"] == "shop/thirty-days"


def test_ruling_8_without_a_time_zone_windows_count_in_utc_days(
    make_service: ServiceFactory,
) -> None:
    service = delivered(make_service, UTC_SHOP)
    order = service.load("o1")
    assert order is not None
    assert UTC_SHOP.timezone == "UTC"
    assert order.returns_close_on == date(2026, 4, 4)

    outcome = service.handle(request_return(datetime(2026, 4, 4, 12, 0, tzinfo=UTC)))

    assert outcome.events == ("ReturnAuthorized",)


@pytest.mark.parametrize(
    ("policy", "due"),
    [(NEW_YORK, "2026-03-17"), (UTC_SHOP, "2026-03-18")],
    ids=["new-york", "utc"],
)
def test_ruling_8_business_days_count_from_the_shops_day_of_arrival(
    make_service: ServiceFactory, policy: Policy, due: str
) -> None:
    # The parcel arrives at 02:00 UTC on Friday 13 March: still Thursday 12 March in New York,
    # so three business days end on Tuesday there and on Wednesday in UTC.
    service = delivered(
        make_service,
        policy,
        request_return(datetime(2026, 3, 9, 9, 0, tzinfo=UTC)),
        receive_return(datetime(2026, 3, 13, 2, 0, tzinfo=UTC)),
    )
    inspected = service.handle(
        order_command(
            "inspect_return",
            datetime(2026, 3, 13, 3, 0, tzinfo=UTC),
            return_id="r1",
            lines=[{"line_id": "l1", "quantity": 1, "condition": "unopened"}],
        )
    )

    assert inspected.events == ("ReturnInspected", "RefundDecided")
    assert inspected.recorded[1].data["due_by"] == due


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "EST5EDT/../x", ""])
def test_ruling_8_a_time_zone_the_zone_database_does_not_know_is_refused(zone: str) -> None:
    text = f'name = "shop"\ntitle = "Shop"\ntimezone = "{zone}"\n[clauses]\n"shop/a" = "A."\n'
    with pytest.raises(InvalidPolicy) as raised:
        parse_policy(text, "shop.toml")
    assert "timezone" in str(raised.value)
    assert "America/New_York" in str(raised.value)


def test_ruling_8_the_shipped_policies_count_in_utc() -> None:
    # No seed names a time zone (docs/policies.md, "Time zones").
    shipped = PolicyRegistry.shipped()
    assert {shipped.current(name).timezone for name in shipped.names()} == {"UTC"}
