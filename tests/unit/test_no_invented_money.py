"""Issue 11, ruling 7: no invented money.

An amount the shop's text does not state is marked `placeholder = true`: it never deducts,
credits or caps, and a return it would apply to waits for a person (`awaiting_review`). Amounts
are per currency: a fee written in US cents is never charged on a yen order. Driven through
`OrderService.handle`.
"""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle import InvalidPolicy, OrderService, Policy
from lifecycle.vocabulary import AdjustmentKind
from tests.support import at
from tests.unit.builders import (
    ServiceFactory,
    inspect_return,
    line,
    make_policy,
    order_command,
    place_order,
    receive_return,
    request_return,
)

LABEL = """
[[return_shipping]]
methods = ["prepaid_label"]
label_fee = 699
clause = "shop/label-fee"

[[return_shipping]]
methods = ["own_carrier"]
reimburse_postage = true
reimburse_cap = 1000
clause = "shop/postage-capped"
"""
PLACEHOLDERS = make_policy(LABEL.replace("clause =", "placeholder = true\nclause ="))
IN_DOLLARS = make_policy('currency = "USD"\n' + LABEL)


def delivered(make_service: ServiceFactory, policy: Policy, currency: str = "USD") -> OrderService:
    service = make_service(policy)
    for step in (
        place_order(line(quantity=2), currency=currency),
        order_command("dispatch_order", at(1)),
        order_command("confirm_delivery", at(2)),
    ):
        assert service.handle(step).ok
    return service


def settled(service: OrderService, postage: int | None = None) -> dict[str, Any]:
    """Receive and inspect r1 (one unit, unopened); the RefundDecided's data."""
    extra: dict[str, Any] = {} if postage is None else {"return_shipping_paid": postage}
    assert service.handle(receive_return(at(6), **extra)).ok
    outcome = service.handle(inspect_return(at(6, hours=1)))
    assert outcome.events == ("ReturnInspected", "RefundDecided"), outcome.as_dict()
    return dict(outcome.recorded[1].data)


def approve(service: OrderService) -> None:
    approval = order_command("review_return", at(5, hours=1), return_id="r1", decision="approve")
    assert service.handle(approval).events == ("ReturnApproved",)


def test_ruling_7_a_placeholder_fee_routes_the_return_to_a_person(
    make_service: ServiceFactory,
) -> None:
    service = delivered(make_service, PLACEHOLDERS)

    outcome = service.handle(request_return(at(5), method="prepaid_label"))

    assert outcome.events == ("ReturnHeldForReview",)
    held = outcome.recorded[0].data
    assert held["triggers"] == ["shop/label-fee"]
    assert "label_fee 699 is a placeholder" in held["message"]
    assert held["terms"]["shipping"]["label_fee"] == 0


def test_ruling_7_a_placeholder_fee_is_never_deducted(make_service: ServiceFactory) -> None:
    service = delivered(make_service, PLACEHOLDERS)
    assert service.handle(request_return(at(5), method="prepaid_label")).ok
    approve(service)

    refund = settled(service)

    assert refund["amount"] == 1000
    assert refund["adjustments"] == [
        {
            "kind": AdjustmentKind.NOT_APPLIED.value,
            "amount": 0,
            "clause": "shop/label-fee",
            "note": "label_fee 699 is a placeholder: the seed states no amount",
        }
    ]


def test_ruling_7_a_placeholder_cap_never_caps(make_service: ServiceFactory) -> None:
    service = delivered(make_service, PLACEHOLDERS)
    assert service.handle(request_return(at(5))).events == ("ReturnHeldForReview",)
    approve(service)

    refund = settled(service, postage=1800)

    postage = [a for a in refund["adjustments"] if a["kind"] == "return_postage"]
    assert [(a["amount"], a["clause"]) for a in postage] == [(1800, "shop/postage-capped")]


def test_ruling_7_a_stated_fee_applies_at_once(make_service: ServiceFactory) -> None:
    service = delivered(make_service, IN_DOLLARS)

    assert service.handle(request_return(at(5), method="prepaid_label")).events == (
        "ReturnAuthorized",
    )
    refund = settled(service)
    assert refund["amount"] == 1000 - 699


def test_ruling_7_a_fee_in_dollars_is_never_charged_on_a_yen_order(
    make_service: ServiceFactory,
) -> None:
    service = delivered(make_service, IN_DOLLARS, currency="JPY")

    held = service.handle(request_return(at(5), method="prepaid_label"))

    assert held.events == ("ReturnHeldForReview",)
    assert (
        "label_fee 699 is written in USD, not the order's JPY" in held.recorded[0].data["message"]
    )
    approve(service)
    refund = settled(service)
    assert refund["amount"] == 1000
    assert [a["kind"] for a in refund["adjustments"]] == ["not_applied"]


def test_ruling_7_a_shipping_rate_in_dollars_does_not_price_a_yen_order(
    make_service: ServiceFactory,
) -> None:
    policy = make_policy(
        'currency = "USD"\n[[shipping_fees]]\nflat = 500\nclause = "shop/five-dollars"'
    )
    service = make_service(policy)

    dollars = service.handle(place_order(currency="USD", shipping_fee=None))
    yen = service.handle(place_order(order_id="o2", currency="JPY", shipping_fee=None))

    assert dollars.ok
    assert yen.error is not None
    assert yen.error["code"] == "invalid_command"
    assert "in JPY" in yen.error["message"]


@pytest.mark.parametrize(
    ("top", "message"),
    [
        ('[currencies]\naccepted = ["USD", "JPY"]\nclause = "shop/c"\n', "say which currency"),
        ('currency = "EUR"\n[currencies]\naccepted = ["USD"]\nclause = "shop/c"\n', "not among"),
        ('currency = "dollars"\n', "not a currency code"),
    ],
    ids=["several-currencies-no-currency", "currency-not-accepted", "bad-code"],
)
def test_ruling_7_amounts_name_their_currency(top: str, message: str) -> None:
    with pytest.raises(InvalidPolicy) as raised:
        make_policy(top + LABEL)
    assert "currency" in str(raised.value)
    assert message in str(raised.value)


def test_ruling_7_placeholders_of_several_currencies_need_no_currency() -> None:
    body = '[currencies]\naccepted = ["USD", "JPY"]\nclause = "shop/c"\n'
    policy = make_policy(body + LABEL.replace("clause =", "placeholder = true\nclause ="))
    assert policy.amounts_currency is None


def test_ruling_7_a_single_accepted_currency_is_the_amounts_currency() -> None:
    policy = make_policy('[currencies]\naccepted = ["USD"]\nclause = "shop/c"\n' + LABEL)
    assert policy.amounts_currency == "USD"
