"""The order service: commands in (objects or JSON dicts), outcomes out, events in the log.
Refusals write nothing; command ids make commands idempotent; the policy version an order was
placed under governs it for ever, even once the registry (or the process) has forgotten it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import pytest

from eventstore import (
    AppendResult,
    ConcurrencyConflict,
    InMemoryEventStore,
    InvalidAppend,
    StreamAppend,
)
from lifecycle import OrderService, OrderState, PolicyRegistry
from lifecycle.envelopes import order_stream, policy_stream, to_new_event
from lifecycle.events import OrderPlaced
from tests.support import at
from tests.unit.builders import (
    ServiceFactory,
    as_command,
    make_policy,
    only,
    order_command,
    place_order,
    request_return,
    when,
)

POLICY = make_policy('[exchange]\noffered = false\nclause = "shop/no-exchanges"')


def head(service: OrderService) -> int:
    return service.store.head().position


def test_a_command_may_be_a_json_dict_or_an_object(make_service: ServiceFactory) -> None:
    service = make_service(POLICY)
    assert service.handle(place_order()).events == ("PolicyRecorded", "OrderPlaced")
    outcome = service.handle(as_command(order_command("dispatch_order", at(1))))
    assert (outcome.ok, outcome.events) == (True, ("OrderDispatched",))
    assert outcome.as_dict() == {"ok": True, "events": ["OrderDispatched"]}


def test_placing_an_order_records_the_policy_text_once_per_version(
    make_service: ServiceFactory,
) -> None:
    service = make_service(POLICY)
    service.handle(place_order(order_id="o1"))
    service.handle(place_order(order_id="o2"))
    recorded = service.store.read_stream(policy_stream("shop"))
    assert [(r.type, r.data["version"]) for r in recorded] == [("PolicyRecorded", POLICY.version)]
    assert recorded[0].data["text"] == POLICY.text


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ({**place_order(), "lines": []}, "invalid_command"),
        (place_order(order_id="o2", policy="nobody"), "unknown_policy"),
        (order_command("dispatch_order", at(1), order_id="o9"), "unknown_order"),
        (order_command("confirm_delivery", at(1)), "illegal_transition"),
        (place_order(at=at(1)), "duplicate_order"),
        (order_command("dispatch_order", at(-1)), "invalid_command"),
        ({"type": "dispatch_order"}, "invalid_command"),
    ],
    ids=[
        "malformed",
        "unknown policy",
        "unknown order",
        "illegal",
        "duplicate",
        "back in time",
        "no fields",
    ],
)
def test_a_refused_command_returns_its_code_and_writes_nothing(
    make_service: ServiceFactory, command: dict[str, Any], code: str
) -> None:
    service = make_service(POLICY)
    service.handle(place_order())
    before = head(service)
    outcome = service.handle(command)
    assert not outcome.ok
    assert outcome.error is not None
    assert outcome.error["code"] == code
    assert outcome.error["message"]
    assert outcome.events == ()
    assert head(service) == before


def test_a_declined_return_is_written_and_reported_with_its_code(
    make_service: ServiceFactory,
) -> None:
    service = make_service(POLICY)
    for command in (
        place_order(),
        order_command("dispatch_order", at(1)),
        order_command("confirm_delivery", at(2)),
    ):
        service.handle(command)
    before = head(service)
    outcome = service.handle(request_return(at(3), resolution="exchange", exchange_sku="X"))
    assert (outcome.ok, outcome.events) == (False, ("ReturnDeclined",))
    assert outcome.error is not None
    assert outcome.error["code"] == "exchange_not_offered"
    assert head(service) == before + 1


# -- idempotency ---------------------------------------------------------------------------------


def test_the_same_command_id_returns_the_first_outcome_and_writes_nothing(
    make_service: ServiceFactory,
) -> None:
    service = make_service(POLICY)
    service.handle(place_order())
    dispatch = order_command("dispatch_order", at(1), command_id="dispatch-1")
    first = service.handle(dispatch)
    before = head(service)
    again = service.handle(dispatch)
    assert (again.ok, again.events, again.error) == (first.ok, first.events, first.error)
    assert (first.duplicate, again.duplicate) == (False, True)
    assert head(service) == before
    assert [r.position for r in again.recorded] == [r.position for r in first.recorded]


def test_a_repeated_decline_is_replayed_with_its_code(make_service: ServiceFactory) -> None:
    service = make_service(POLICY)
    for command in (
        place_order(),
        order_command("dispatch_order", at(1)),
        order_command("confirm_delivery", at(2)),
    ):
        service.handle(command)
    exchange = request_return(
        at(3), resolution="exchange", exchange_sku="X", command_id="exchange-1"
    )
    first = service.handle(exchange)
    before = head(service)
    again = service.handle(exchange)
    assert again.duplicate
    assert (again.ok, again.events, again.error) == (False, ("ReturnDeclined",), first.error)
    assert head(service) == before


def test_a_command_id_survives_a_new_service_over_the_same_log(
    make_service: ServiceFactory,
) -> None:
    service = make_service(POLICY)
    service.handle(place_order(command_id="place-1"))
    fresh = OrderService(service.store, PolicyRegistry([POLICY]))
    before = head(service)
    assert fresh.handle(place_order(command_id="place-1")).duplicate
    assert head(service) == before


# -- ids: refused by the command, and by the store behind it -------------------------------------


@pytest.mark.parametrize(
    ("command", "field"),
    [
        ({**place_order(), "command_id": "req\x001"}, "command_id"),
        (place_order(order_id="o\x85"), "order_id"),
        (
            {**place_order(), "customer": {**place_order()["customer"], "id": "c\x7f"}},
            "customer.id",
        ),
    ],
    ids=["NUL in the command id", "C1 in the order id", "DEL in the customer id"],
)
def test_an_id_with_a_control_character_is_refused_naming_it_and_writes_nothing(
    make_service: ServiceFactory, command: dict[str, Any], field: str
) -> None:
    """Issue 10's NUL command id: the command itself refuses it, before any store sees it."""
    service = make_service(POLICY)
    outcome = service.handle(command)
    assert outcome.error is not None
    assert outcome.error["code"] == "invalid_command"
    assert outcome.error["message"].startswith(f"{field}: holds a control character")
    assert head(service) == 0


def test_a_store_refusal_of_what_a_command_carries_is_its_invalid_command(
    make_service: ServiceFactory,
) -> None:
    """Defence in depth: should the store refuse an append the command let through, the caller
    still gets the command's `invalid_command`, never the store's own error."""
    service = make_service(POLICY)
    refusal = "stream id 'order-o1' holds control characters"

    def refuse(appends: Sequence[StreamAppend], **options: Any) -> AppendResult:
        raise InvalidAppend(refusal)

    service.store.append_streams = refuse  # type: ignore[method-assign]
    outcome = service.handle(place_order())
    assert outcome.error == {"code": "invalid_command", "message": refusal}
    assert head(service) == 0


# -- concurrency ---------------------------------------------------------------------------------


def conflicting(service: OrderService, failures: int) -> list[int]:
    """Make the store's next `failures` appends lose a race; returns the attempt counter."""
    store = service.store
    assert isinstance(store, InMemoryEventStore)
    attempts = [0]
    append = store.append_streams

    def flaky(appends: Sequence[StreamAppend], **options: Any) -> AppendResult:
        attempts[0] += 1
        if attempts[0] <= failures:
            raise ConcurrencyConflict("someone else wrote first", stream_id="order-o1")
        return append(appends, **options)

    store.append_streams = flaky  # type: ignore[method-assign]
    return attempts


def test_a_lost_race_is_retried(make_service: ServiceFactory) -> None:
    service = make_service(POLICY)
    service.handle(place_order())
    attempts = conflicting(service, failures=2)
    before = head(service)
    outcome = service.handle(order_command("dispatch_order", at(1)))
    assert outcome.ok
    assert attempts[0] == 3
    assert head(service) == before + 1


def test_after_too_many_lost_races_the_command_is_refused(make_service: ServiceFactory) -> None:
    service = make_service(POLICY)
    service.handle(place_order())
    attempts = conflicting(service, failures=100)
    outcome = service.handle(order_command("dispatch_order", at(1)))
    assert outcome.error is not None
    assert outcome.error["code"] == "concurrency_conflict"
    # The first try decided on the order's recent state: losing it reads the log again at once,
    # without counting as a retry; then `retries` retries.
    assert attempts[0] == service.retries + 2


# -- the policy version pinned on an order --------------------------------------------------------

FIVE_MINUTES = make_policy('[cancellation]\nwindow_minutes = 5\nclause = "shop/cancel-window"')
ONE_HOUR = make_policy('[cancellation]\nwindow_minutes = 60\nclause = "shop/cancel-window"')


def test_the_version_an_order_was_placed_under_still_governs_it_after_a_policy_change(
    make_service: ServiceFactory,
) -> None:
    service = make_service(FIVE_MINUTES)
    service.handle(place_order(order_id="old"))
    service.policies.add(ONE_HOUR)  # the shop edits its policy: an hour to cancel now
    service.handle(place_order(order_id="new"))
    ten_minutes = at(0, minutes=10)
    old = service.handle(order_command("cancel_order", ten_minutes, order_id="old"))
    assert old.error is not None
    assert old.error["code"] == "cancellation_window_closed"
    new = service.handle(order_command("cancel_order", ten_minutes, order_id="new"))
    assert new.events == ("OrderCancelled", "RefundDecided")
    order = service.load("old")
    assert order is not None
    assert order.placed.policy_version == FIVE_MINUTES.version


def test_a_forgotten_version_is_reloaded_from_the_log(make_service: ServiceFactory) -> None:
    service = make_service(FIVE_MINUTES)
    service.handle(place_order())
    # A new process whose policy files hold only the edited version.
    later = OrderService(service.store, PolicyRegistry([ONE_HOUR]))
    outcome = later.handle(order_command("cancel_order", at(0, minutes=10)))
    assert outcome.error is not None
    assert outcome.error["code"] == "cancellation_window_closed"
    reloaded = later.policies.get("shop", FIVE_MINUTES.version)
    assert reloaded is not None
    assert reloaded.text == FIVE_MINUTES.text
    assert later.policies.current("shop") is ONE_HOUR


def test_a_version_in_neither_the_files_nor_the_log_is_unknown_policy(
    make_service: ServiceFactory,
) -> None:
    service = make_service(FIVE_MINUTES)
    placed = only(when(None, place_order(), FIVE_MINUTES), OrderPlaced)
    unknown = attrs.evolve(placed, policy_version="0123456789abcdef")
    service.store.append(order_stream("o1"), [to_new_event(unknown, {})])
    before = head(service)
    outcome = service.handle(order_command("cancel_order", at(0, minutes=1)))
    assert outcome.error is not None
    assert outcome.error["code"] == "unknown_policy"
    assert "0123456789abcdef" in outcome.error["message"]
    assert head(service) == before


def test_the_live_order_is_the_fold_of_its_stream(make_service: ServiceFactory) -> None:
    service = make_service(POLICY)
    for command in (
        place_order(),
        order_command("dispatch_order", at(1)),
        order_command("confirm_delivery", at(2)),
    ):
        service.handle(command)
    order = service.load("o1")
    assert order is not None
    assert (order.state, order.version) == (OrderState.RECEIVED, 3)
    assert service.load("nobody") is None


def test_the_first_order_under_a_policy_version_writes_and_lists_the_policy_record_too(
    make_service: ServiceFactory,
) -> None:
    service = make_service(POLICY)
    first = service.handle(place_order(order_id="o1"))
    assert first.events == ("PolicyRecorded", "OrderPlaced")
    assert [e.type for e in first.recorded] == list(first.events)
    second = service.handle(place_order(order_id="o2"))
    assert second.events == ("OrderPlaced",)
    log = [(e.stream_id, e.type) for e in service.store.read_all()]
    assert log == [
        (policy_stream("shop"), "PolicyRecorded"),
        (order_stream("o1"), "OrderPlaced"),
        (order_stream("o2"), "OrderPlaced"),
    ]


def test_an_order_refused_after_a_lost_race_leaves_no_policy_record_behind(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service(POLICY)
    rival = OrderService(service.store, service.policies)
    append = service.store.append_streams
    raced: list[bool] = []

    def rival_first(appends: Sequence[StreamAppend], **options: Any) -> AppendResult:
        if not raced:  # another writer places the same order just before our append
            raced.append(True)
            assert rival.handle(place_order(order_id="o1")).ok
        return append(appends, **options)

    monkeypatch.setattr(service.store, "append_streams", rival_first)
    outcome = service.handle(place_order(order_id="o1"))
    assert outcome.error is not None
    assert outcome.error["code"] == "duplicate_order"
    assert [e.type for e in service.store.read_all()] == ["PolicyRecorded", "OrderPlaced"]
