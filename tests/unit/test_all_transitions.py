"""Every trigger in every state, through the order service.

For the order machine and for the return machine: reach each state by its shortest path over the
`transitions` definition, then fire every trigger there with the command that produces it. A
legal one must be accepted and land where the definition says; an illegal one must be refused with
`illegal_transition` and write nothing. States, triggers and legality come from the definitions
(`tests.oracle`), never from the compiled tables the service uses; the trigger a command fires is
`machines.COMMAND_TRIGGERS`'s, and only where the policy answers with another one (a decline, a
hold, a rejection) is that written below.
"""

from __future__ import annotations

import enum
import functools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from eventstore import InMemoryEventStore
from lifecycle import OrderService, PolicyRegistry, parse_command
from lifecycle.envelopes import order_events, order_stream
from lifecycle.events import RefundDecided, ReturnDeclined
from lifecycle.machines import Trigger
from lifecycle.states import OrderState, ReturnState
from tests.oracle import ORDER, RETURN, Definition
from tests.support import at
from tests.unit.builders import (
    ORDER_ID,
    RETURN_ID,
    inspect_return,
    line,
    make_policy,
    order_command,
    place_order,
    receive_return,
    request_return,
    return_case,
)

POLICY = make_policy(
    """
    [return_window]
    days = 30
    counted_from = "delivery"
    clause = "walk/window"

    [conditions]
    accepted = ["unopened"]
    clause = "walk/unopened-only"

    [[conditions.exceptions]]
    reasons = ["damaged"]
    accepted = ["unopened", "opened", "used", "damaged", "defective"]
    clause = "walk/damaged-in-any-state"

    [[non_returnable]]
    final_sale = true
    clause = "walk/final-sale"

    [replacement]
    reasons = ["damaged"]
    clause = "walk/damaged-replaced"

    [fault]
    merchant_reasons = ["damaged"]
    clause = "walk/damage-is-ours"

    # A replacement carries money: the postage the customer paid comes back when it ships.
    [[return_shipping]]
    fault = "merchant"
    reimburse_postage = true
    clause = "walk/postage-back-for-damage"

    [[return_shipping]]
    clause = "walk/customer-pays-postage"

    [exchange]
    offered = true
    clause = "walk/exchanges"

    [lost_parcel]
    refund = true
    clause = "walk/lost-refunded"

    [missing_item]
    unboxing_video = true
    within_hours = 48
    clause = "walk/missing-item"

    [[review]]
    when = "return_value_over"
    amount = 10000
    clause = "walk/review-large-returns"
    """,
    name="walk",
)

# One unit of "cheap" is a plain return; "dear" (over the 10000 review amount) trips the review;
# "final" is final sale, so asking to return it is a recorded decline.
PLACE = place_order(
    line("cheap", quantity=2, unit_price=1000),
    line("dear", unit_price=20000),
    line("final", unit_price=500, final_sale=True),
    policy="walk",
    shipping_fee=500,
)

# How the return on the way to a state is settled: an inspected return is settled either by a
# refund or by a replacement/exchange, which the machine does not tell apart (see the tests of
# the settlement at the bottom).
SETTLEMENTS: dict[str, dict[str, Any]] = {
    "refund": {"reason": "changed_mind"},
    "replacement": {"reason": "damaged"},
    "exchange": {"reason": "changed_mind", "resolution": "exchange", "exchange_sku": "CHEAP-RED"},
}


FOUND = {"refund": "unopened", "replacement": "damaged", "exchange": "unopened"}
"""What the warehouse finds of an accepted return: a damage claim holds only if it is found."""


class Scope(enum.Enum):
    ORDER = "acts on the order"
    STARTS_RETURN = "starts return r1"
    ON_RETURN = "acts on return r1"


@dataclass(frozen=True)
class Step:
    """A command that fires `trigger` (first among the events it writes) when it is legal: the
    command's own trigger, or the one the policy `answers` with instead.

    `settlement` is the one the return must have for the step to be possible (None: any)."""

    name: str
    scope: Scope
    build: Callable[[datetime, str], dict[str, Any]]
    settlement: str | None = None
    answers: Trigger | None = None

    @functools.cached_property
    def trigger(self) -> str:
        return self.answers or parse_command(self.build(at(0), "refund")).trigger


def _review(decision: str) -> Callable[[datetime, str], dict[str, Any]]:
    return lambda t, _: order_command("review_return", t, return_id=RETURN_ID, decision=decision)


STEPS: tuple[Step, ...] = (
    Step("cancel", Scope.ORDER, lambda t, _: order_command("cancel_order", t)),
    Step("dispatch", Scope.ORDER, lambda t, _: order_command("dispatch_order", t)),
    Step(
        "deliver",
        Scope.ORDER,
        lambda t, _: order_command("confirm_delivery", t),
    ),
    Step("lose", Scope.ORDER, lambda t, _: order_command("report_lost", t)),
    Step(
        "order-refund",
        Scope.ORDER,
        lambda t, _: order_command("issue_refund", t),
    ),
    Step(
        "request",
        Scope.STARTS_RETURN,
        lambda t, s: request_return(t, {"cheap": 1}, **SETTLEMENTS[s]),
    ),
    Step(
        "claim-missing-item",
        Scope.STARTS_RETURN,
        lambda t, _: request_return(
            t, {"cheap": 1}, reason="missing_item", evidence={"unboxing_video": True}
        ),
    ),
    Step(
        "request-large",
        Scope.STARTS_RETURN,
        lambda t, s: request_return(t, {"dear": 1}, **SETTLEMENTS[s]),
        answers=Trigger.HOLD_FOR_REVIEW,
    ),
    Step(
        "request-final-sale",
        Scope.STARTS_RETURN,
        # Final sale governs change-of-mind returns: a damaged final-sale item is taken back.
        lambda t, s: request_return(t, {"final": 1}, **{**SETTLEMENTS[s], "reason": "other"}),
        answers=Trigger.DECLINE,
    ),
    Step("review-decline", Scope.ON_RETURN, _review("decline")),
    Step("review-approve", Scope.ON_RETURN, _review("approve")),
    Step("receive", Scope.ON_RETURN, lambda t, _: receive_return(t, return_shipping_paid=300)),
    Step(
        "inspect-accepted",
        Scope.ON_RETURN,
        lambda t, s: inspect_return(t, [("cheap", 1, FOUND[s])]),
    ),
    Step(
        "inspect-rejected",
        Scope.ON_RETURN,
        lambda t, _: inspect_return(t, [("cheap", 1, "used")]),
        settlement="refund",  # a damaged item found damaged is accepted whatever its state
        answers=Trigger.REJECT_INSPECTION,
    ),
    Step(
        "return-refund",
        Scope.ON_RETURN,
        lambda t, _: order_command("issue_refund", t, return_id=RETURN_ID),
        settlement="refund",
    ),
    Step(
        "ship-replacement",
        Scope.ON_RETURN,
        lambda t, _: order_command("ship_replacement", t, return_id=RETURN_ID),
        settlement="replacement",
    ),
    Step(
        "settle-by-refund",
        Scope.ON_RETURN,
        lambda t, _: order_command(
            "settle_by_refund", t, return_id=RETURN_ID, actor="support-1", note="out of stock"
        ),
        settlement="replacement",
    ),
    Step(
        "ship-exchange",
        Scope.ON_RETURN,
        lambda t, _: order_command("ship_replacement", t, return_id=RETURN_ID),
        settlement="exchange",
    ),
)

FOLLOW_UPS = frozenset({Trigger.DECIDE_REFUND, Trigger.DECIDE_ORDER_REFUND, Trigger.ACCEPT_CLAIM})
"""Triggers no command fires on its own: a refund decision follows a cancellation, a lost parcel,
an accepted inspection or claim; an accepted claim follows the authorization of a missing-item
claim. They are checked as part of the commands they follow."""

# The order state where a return's steps happen: the one allowing every return trigger.
RETURN_STEP_STATES = frozenset(
    s for s in OrderState if all(ORDER.allows(s, t) for t in RETURN.triggers())
)


def expect_on_order(state: enum.Enum, step: Step) -> str:
    """The order walk: "ok" or the error code, for `step` fired on an order in `state`."""
    if not ORDER.allows(state, step.trigger):
        return "illegal_transition"
    if step.scope is Scope.ON_RETURN:
        return "unknown_return"  # the order walk opens no return: the return walk does this
    if step.scope is Scope.ORDER and state in RETURN_STEP_STATES:
        # A received order's refunds belong to its returns: there is no order-level one.
        return "illegal_transition"
    return "ok"


def expect_on_return(state: enum.Enum, step: Step) -> str:
    """The return walk: "ok" or the error code, for `step` fired on return r1 in `state`."""
    if state is RETURN.initial:  # nothing is recorded for a return not yet requested
        if step.scope is Scope.ON_RETURN:
            return "unknown_return"
        return "ok" if RETURN.allows(state, step.trigger) else "illegal_transition"
    if step.scope is Scope.STARTS_RETURN:
        return "illegal_transition"  # requesting return r1 again
    return "ok" if RETURN.allows(state, step.trigger) else "illegal_transition"


@dataclass(frozen=True)
class Walk:
    name: str
    machine: Definition[Any]
    prefix: tuple[dict[str, Any], ...]
    steps: tuple[Step, ...]
    expect: Callable[[enum.Enum, Step], str]

    def state(self, service: OrderService) -> enum.Enum:
        order = service.load(ORDER_ID)
        assert order is not None
        if self.machine is ORDER:
            return order.state
        case = order.find_return(RETURN_ID)
        return RETURN.initial if case is None else case.state

    def shortest_paths(self) -> dict[enum.Enum, list[str]]:
        """BFS over the definition with the triggers a step fires: state -> triggers to it."""
        fired = {step.trigger for step in self.steps}
        paths: dict[enum.Enum, list[str]] = {self.machine.initial: []}
        queue = deque([self.machine.initial])
        while queue:
            state = queue.popleft()
            for (source, trigger), dest in self.machine.edges.items():
                if source is state and trigger in fired and dest not in paths:
                    paths[dest] = [*paths[state], trigger]
                    queue.append(dest)
        return paths

    def commands_to(
        self, state: enum.Enum, settlement: str | None
    ) -> tuple[list[dict[str, Any]], str]:
        """The commands that walk the shortest path to `state` (the prefix not included), and
        the settlement of the return on the way: as a step on the path needs, else as asked."""
        steps, current = [], self.machine.initial
        for trigger in self.shortest_paths()[state]:
            steps.append(
                next(
                    s
                    for s in self.steps
                    if s.trigger == trigger and self.expect(current, s) == "ok"
                )
            )
            current = self.machine.after(current, trigger)
        needed = [s.settlement for s in steps if s.settlement is not None]
        chosen = needed[-1] if needed else settlement or "refund"
        commands = [
            step.build(at(0, hours=len(self.prefix) + index), chosen)
            for index, step in enumerate(steps)
        ]
        return commands, chosen


ORDER_WALK = Walk("order", ORDER, (PLACE,), STEPS, expect_on_order)
RETURN_WALK = Walk(
    "return",
    RETURN,
    (
        PLACE,
        order_command("dispatch_order", at(0, hours=1)),
        order_command("confirm_delivery", at(0, hours=2)),
    ),
    tuple(step for step in STEPS if step.scope is not Scope.ORDER),
    expect_on_return,
)
WALKS = {walk.name: walk for walk in (ORDER_WALK, RETURN_WALK)}


@dataclass(frozen=True)
class Fired:
    """What firing one step in one state did."""

    expected: str
    outcome_ok: bool
    events: tuple[str, ...]
    error_code: str | None
    head_before: int
    head_after: int
    triggers: tuple[str, ...]
    order_path: tuple[tuple[OrderState, str], ...]
    return_path: tuple[tuple[ReturnState, str], ...]
    order_state: OrderState
    return_state: ReturnState | None
    expected_order_state: OrderState
    expected_return_state: ReturnState | None


@functools.cache
def fire(walk_name: str, state: enum.Enum, step_name: str) -> Fired:
    """Reach `state` in a fresh log, fire the step, and record what happened (once per case)."""
    walk = WALKS[walk_name]
    step = next(s for s in walk.steps if s.name == step_name)
    store = InMemoryEventStore()
    try:
        service = OrderService(store, PolicyRegistry([POLICY]))
        path, settlement = walk.commands_to(state, step.settlement)
        for command in (*walk.prefix, *path):
            outcome = service.handle(command)
            assert outcome.events, (command, outcome)
        assert walk.state(service) is state, "the shortest path did not reach its state"
        before = service.load(ORDER_ID)
        assert before is not None
        case = before.find_return(RETURN_ID)
        head_before = store.head().position
        outcome = service.handle(step.build(at(1), settlement))
        head_after = store.head().position
        written = order_events(store.read_stream(order_stream(ORDER_ID), before.version + 1))
        after = service.load(ORDER_ID)
        assert after is not None
    finally:
        store.close()
    # Fold what was written through the definitions, from where the order and return were.
    order_state, order_path = before.state, []
    return_state = case.state if case is not None else RETURN.initial
    return_path = []
    for event in written:
        order_path.append((order_state, event.trigger))
        order_state = ORDER.after(order_state, event.trigger)
        if getattr(event, "return_id", None) == RETURN_ID:
            return_path.append((return_state, event.trigger))
            return_state = RETURN.after(return_state, event.trigger)
    after_case = after.find_return(RETURN_ID)
    return Fired(
        expected=walk.expect(state, step),
        outcome_ok=outcome.ok,
        events=outcome.events,
        error_code=outcome.error["code"] if outcome.error else None,
        head_before=head_before,
        head_after=head_after,
        triggers=tuple(event.trigger for event in written),
        order_path=tuple(order_path),
        return_path=tuple(return_path),
        order_state=after.state,
        return_state=after_case.state if after_case else None,
        expected_order_state=order_state,
        expected_return_state=return_state if return_path else None,
    )


def cases(walk: Walk) -> list[Any]:
    return [
        pytest.param(walk.name, state, step.name, id=f"{state.value}-{step.name}")
        for state in walk.shortest_paths()
        for step in walk.steps
    ]


def check(fired: Fired, state: enum.Enum, trigger: str, machine: Definition[Any]) -> None:
    if fired.expected != "ok":
        assert fired.error_code == fired.expected
        assert fired.events == ()
        assert fired.head_after == fired.head_before, "a refused command wrote something"
        return
    assert fired.events, f"refused: {fired.error_code}"
    assert fired.outcome_ok or fired.events[0] == ReturnDeclined.__name__
    assert fired.head_after == fired.head_before + len(fired.events)
    assert fired.triggers[0] == trigger
    assert all(t in FOLLOW_UPS for t in fired.triggers[1:])
    assert fired.order_state is fired.expected_order_state
    if machine is RETURN:
        assert fired.return_path[0] == (state, trigger)
        assert fired.return_state is fired.expected_return_state
        assert fired.return_state is RETURN.after(*fired.return_path[-1])
        # A return's steps leave the order where it is (received).
        assert fired.order_state is ORDER.after(OrderState.RECEIVED, trigger)
    else:
        assert fired.order_path[0] == (state, trigger)


def test_every_state_of_each_machine_is_reached_by_the_walk() -> None:
    assert set(ORDER_WALK.shortest_paths()) == set(OrderState)
    assert set(RETURN_WALK.shortest_paths()) == set(ReturnState)


def test_every_trigger_is_fired_by_a_step_or_follows_one() -> None:
    for walk in (ORDER_WALK, RETURN_WALK):
        fired = {step.trigger for step in walk.steps}
        assert walk.machine.triggers() == fired | (FOLLOW_UPS & walk.machine.triggers())
        assert not fired & FOLLOW_UPS
    assert ORDER_WALK.machine.triggers() | RETURN_WALK.machine.triggers() >= FOLLOW_UPS


@pytest.mark.parametrize(("walk_name", "state", "step_name"), cases(ORDER_WALK))
def test_every_order_trigger_in_every_order_state(
    walk_name: str, state: OrderState, step_name: str
) -> None:
    step = next(s for s in STEPS if s.name == step_name)
    check(fire(walk_name, state, step_name), state, step.trigger, ORDER)


@pytest.mark.parametrize(("walk_name", "state", "step_name"), cases(RETURN_WALK))
def test_every_return_trigger_in_every_return_state(
    walk_name: str, state: ReturnState, step_name: str
) -> None:
    step = next(s for s in STEPS if s.name == step_name)
    check(fire(walk_name, state, step_name), state, step.trigger, RETURN)


def test_the_walks_take_every_transition_of_both_tables() -> None:
    order_taken: set[tuple[OrderState, str]] = set()
    return_taken: set[tuple[ReturnState, str]] = set()
    for walk in (ORDER_WALK, RETURN_WALK):
        for state in walk.shortest_paths():
            for step in walk.steps:
                fired = fire(walk.name, state, step.name)
                if fired.expected == "ok":
                    order_taken.update(fired.order_path)
                    return_taken.update(fired.return_path)
    assert order_taken == set(ORDER.edges)
    assert return_taken == set(RETURN.edges)


def test_the_follow_up_triggers_follow_the_commands_they_belong_to() -> None:
    cancelled = fire("order", OrderState.PLACED, "cancel")
    assert cancelled.triggers == (Trigger.CANCEL_ORDER, Trigger.DECIDE_ORDER_REFUND)
    lost = fire("order", OrderState.DISPATCHED, "lose")
    assert lost.triggers == (Trigger.REPORT_LOST, Trigger.DECIDE_ORDER_REFUND)
    claim = fire("return", ReturnState.REQUESTED, "claim-missing-item")
    assert claim.triggers == (Trigger.AUTHORIZE, Trigger.ACCEPT_CLAIM, Trigger.DECIDE_REFUND)
    assert claim.return_state is ReturnState.INSPECTED
    inspected = fire("return", ReturnState.RECEIVED, "inspect-accepted")
    assert inspected.triggers == (Trigger.ACCEPT_INSPECTION, Trigger.DECIDE_REFUND)


# -- the settlement of an inspected return ------------------------------------------------------
# The return machine allows both issue_refund and ship_replacement from `inspected`; which one a
# return can take depends on how the policy settles it, and the other is refused.


def _inspected(settlement: str) -> tuple[OrderService, InMemoryEventStore]:
    store = InMemoryEventStore()
    service = OrderService(store, PolicyRegistry([POLICY]))
    path, _ = RETURN_WALK.commands_to(ReturnState.INSPECTED, settlement)
    for command in (*RETURN_WALK.prefix, *path):
        assert service.handle(command).events
    return service, store


@pytest.mark.parametrize(
    ("settlement", "command"),
    [
        ("refund", order_command("ship_replacement", at(1), return_id=RETURN_ID)),
        ("replacement", order_command("issue_refund", at(1), return_id=RETURN_ID)),
        ("exchange", order_command("issue_refund", at(1), return_id=RETURN_ID)),
    ],
    ids=["refund-settled-ships-nothing", "replacement-has-no-refund", "exchange-has-no-refund"],
)
def test_an_inspected_return_is_settled_only_the_way_the_policy_chose(
    settlement: str, command: dict[str, Any]
) -> None:
    service, store = _inspected(settlement)
    try:
        head = store.head().position
        outcome = service.handle(command)
        assert outcome.error is not None
        assert outcome.error["code"] == "illegal_transition"
        assert store.head().position == head
    finally:
        store.close()


def test_a_refund_settled_return_has_its_refund_decided_at_inspection() -> None:
    service, store = _inspected("refund")
    try:
        order = service.load(ORDER_ID)
        assert order is not None
        case = return_case(order)
        assert isinstance(case.refund, RefundDecided)
        # One unit of "cheap" (2 x 1000, no discount) is worth 1000.
        assert case.refund.amount == 1000
    finally:
        store.close()
