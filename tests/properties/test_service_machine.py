"""OrderService under random command sequences, for every shipped policy.

Hypothesis places orders under the shipped policies and drives them with commands drawn from
the orders and returns it has seen: mostly valid, some illegal now, malformed, back-dated or
replayed. Each step checks what the service answered and wrote; after each step money, the log,
a fresh read of it and the state machines must all agree.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import assume, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from eventstore import HeadDigest, InMemoryEventStore, MemoryDatabase, RecordedEvent
from lifecycle import (
    DECLINE_CODES,
    Order,
    OrderService,
    Outcome,
    Policy,
    PolicyRegistry,
    ReturnCase,
    ReturnState,
    evolve,
    parse_command,
    rebuild,
)
from lifecycle.envelopes import from_recorded, order_events
from lifecycle.events import (
    OrderEvent,
    OrderPlaced,
    PolicyRecorded,
    SubscriptionEvent,
    SubscriptionStarted,
)
from lifecycle.machines import COMMAND_TRIGGERS, Trigger, command_trigger
from lifecycle.states import OrderState
from lifecycle.subscriptions import Subscription, evolve_subscription, rebuild_subscription
from lifecycle.testing import (
    inspect_return_commands,
    invalid_commands,
    place_order_commands,
    request_return_commands,
    start_subscription_commands,
)
from lifecycle.vocabulary import Resolution
from tests.oracle import ORDER, RETURN, SUBSCRIPTION
from tests.strategies import SHIPPED, synthetic_policies
from tests.support import T0

ACCEPTED = frozenset({"ok"})
ACCEPTED_OR_DECLINED = ACCEPTED | DECLINE_CODES

_short_gaps = st.integers(1, 600).map(lambda s: timedelta(seconds=s))
_gaps = st.one_of(
    _short_gaps,
    st.integers(1, 600).map(lambda m: timedelta(minutes=m)),
    st.integers(1, 72).map(lambda h: timedelta(hours=h)),
    st.integers(1, 4).map(lambda d: timedelta(days=d)),
    st.integers(1, 40).map(lambda d: timedelta(days=d)),
)
"""Time between commands: inside and past cancellation windows, return windows, claim hours."""


def _commands_moving(state: ReturnState) -> tuple[str, ...]:
    """The command types whose trigger the return definition allows in `state`."""
    kinds = [
        kind for (kind, _), trigger in COMMAND_TRIGGERS.items() if RETURN.allows(state, trigger)
    ]
    return tuple(dict.fromkeys(kind for kind in kinds if kind != "request_return"))


NEXT_RETURN_STEP = {
    state: kinds
    for state in ReturnState
    if state is not RETURN.initial and (kinds := _commands_moving(state))
}
"""What moves a return on from each state it can be left in (a return is never left in
`requested`: the policy answers a request at once)."""

RETURN_STEPS = ("review_return", "receive_return", "inspect_return", "ship_replacement")
ORDER_STEPS = (
    "cancel_order",
    "dispatch_order",
    "confirm_delivery",
    "report_lost",
    "request_return",
    *RETURN_STEPS,
    "issue_refund",
)
_text = st.sampled_from(["DHL", "note", "PAY-1", "TRK-123"])
LOOSE_FIELDS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "cancel_order": st.fixed_dictionaries({}, optional={"reason": _text}),
    "dispatch_order": st.fixed_dictionaries({}, optional={"carrier": _text}),
    "confirm_delivery": st.just({}),
    "report_lost": st.just({}),
    "request_return": st.fixed_dictionaries(
        {
            "lines": st.just([{"line_id": "L1", "quantity": 1}]),
            "reason": st.just("damaged"),
            "method": st.just("prepaid_label"),
        }
    ),
    "review_return": st.fixed_dictionaries(
        {"decision": st.sampled_from(["approve", "approve", "approve", "decline"])}
    ),
    "receive_return": st.fixed_dictionaries(
        {}, optional={"return_shipping_paid": st.integers(0, 2_000)}
    ),
    "inspect_return": st.just({"lines": [{"line_id": "L1", "quantity": 1, "condition": "used"}]}),
    "issue_refund": st.fixed_dictionaries({}, optional={"payment_reference": _text}),
    "ship_replacement": st.fixed_dictionaries({}, optional={"tracking_number": _text}),
}
"""Fields of each order command beyond its order, return and time, where no strategy of
`lifecycle.testing` is needed (or possible: an unknown order has no lines to return)."""


def code(outcome: Outcome) -> str:
    """`ok`, or the code of the refusal or decline."""
    return "ok" if outcome.ok else str((outcome.error or {}).get("code"))


def order_step(order: Order | None, trigger: str) -> str:
    """What a command firing `trigger` on `order` must get, as far as the order machine's
    definition says."""
    if order is None:
        return "unknown_order"
    return "ok" if ORDER.allows(order.state, trigger) else "illegal_transition"


def return_step(order: Order | None, case: ReturnCase | None, trigger: str) -> str:
    """The same for a return: the order machine first, then the return, then the return machine."""
    verdict = order_step(order, trigger)
    if verdict != "ok":
        return verdict
    if case is None:
        return "unknown_return"
    return "ok" if RETURN.allows(case.state, trigger) else "illegal_transition"


def units_left(order: Order) -> bool:
    return any(line.quantity > order.units_in_returns(line.line_id) for line in order.placed.lines)


def expected(
    command: dict[str, Any], order: Order | None, case: ReturnCase | None
) -> Collection[str]:
    """The outcome codes a command may get, worked out from the machines' definitions and the
    live state."""
    kind = command["type"]
    trigger = parse_command(command).trigger
    if kind == "request_return":
        verdict = order_step(order, trigger)
        if verdict != "ok":
            return {verdict}
        if case is not None:
            return {"illegal_transition"}
        assert order is not None
        return ACCEPTED_OR_DECLINED if units_left(order) else {"quantity_exceeds_returnable"}
    if trigger is Trigger.ISSUE_ORDER_REFUND:
        verdict = order_step(order, trigger)
        if verdict == "ok" and order is not None and order.order_refund is None:
            verdict = "illegal_transition"
        return {verdict}
    if kind in ("cancel_order", "dispatch_order", "confirm_delivery", "report_lost"):
        verdict = order_step(order, trigger)
        until = order.placed.cancellable_until if order else None
        late = until is not None and datetime.fromisoformat(command["at"]) > until
        if kind == "cancel_order" and verdict == "ok" and late:
            verdict = "cancellation_window_closed"
        return {verdict}
    verdict = return_step(order, case, trigger)
    if verdict != "ok" or case is None:
        return {verdict}
    if trigger is Trigger.DECLINE:
        return {"review_declined"}
    settled_by_refund = case.terms is not None and case.terms.resolution is Resolution.REFUND
    if kind == "issue_refund" and case.refund is None:
        return {"illegal_transition"}  # settled by a replacement
    if kind == "ship_replacement" and settled_by_refund:
        return {"illegal_transition"}
    return {"ok"}


def assert_legal_order_path(events: list[OrderEvent], live: Order) -> None:
    """Fold an order stream through the machines' definitions alone (no `evolve`): each step
    must be legal for the order (and, for a return's event, for the return), ending where the
    live order is."""
    first, *rest = events
    assert isinstance(first, OrderPlaced)
    state = ORDER.initial
    returns: dict[str, ReturnState] = {}
    for step in rest:
        assert ORDER.allows(state, step.trigger), f"{step!r} from order {state}"
        state = ORDER.after(state, step.trigger)
        return_id = getattr(step, "return_id", None)
        if return_id is not None:
            current = returns.get(return_id, RETURN.initial)
            assert RETURN.allows(current, step.trigger), f"{step!r} from {current}"
            returns[return_id] = RETURN.after(current, step.trigger)
    assert state is live.state
    assert returns == {case.return_id: case.state for case in live.returns}


def assert_legal_subscription_path(events: list[SubscriptionEvent]) -> None:
    first, *rest = events
    assert isinstance(first, SubscriptionStarted)
    state = SUBSCRIPTION.initial
    for step in rest:
        assert SUBSCRIPTION.allows(state, step.trigger), f"{step!r} from {state}"
        state = SUBSCRIPTION.after(state, step.trigger)


class ServiceMachine(RuleBasedStateMachine):
    """The service under test, a second connection to read its log fresh, and the live state
    folded from the events the service reported."""

    def __init__(self) -> None:
        super().__init__()
        database = MemoryDatabase()
        self.store = InMemoryEventStore(database)
        self.reader = InMemoryEventStore(database)
        self.registry = SHIPPED
        self.service = OrderService(self.store, self.registry)
        self.now = T0
        self.orders: dict[str, Order] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.answered: list[tuple[dict[str, Any], Outcome]] = []
        self.numbers = itertools.count(1)
        self.checked = 0
        self.digest = HeadDigest(0, "")

    def teardown(self) -> None:
        self.store.close()
        self.reader.close()

    # -- helpers -------------------------------------------------------------------------------

    def later(self, data: st.DataObject, *, short: bool = False) -> datetime:
        """The next moment: mostly minutes to days later; `short`, mostly within minutes."""
        self.now += data.draw(_short_gaps if short else _gaps, label="gap")
        return self.now

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.numbers)}"

    def pick_order(self, data: st.DataObject) -> tuple[str, Order | None]:
        """Mostly an order placed so far, now and then one that never was."""
        if not self.orders or data.draw(st.integers(0, 9), label="unknown order?") == 0:
            return "o-never-placed", None
        order_id = data.draw(st.sampled_from(sorted(self.orders)), label="order")
        return order_id, self.orders[order_id]

    def pick_return(self, data: st.DataObject, order: Order | None) -> str:
        """Mostly a return of the order, now and then one it does not have."""
        cases = list(order.returns) if order else []
        if not cases or data.draw(st.integers(0, 9), label="unknown return?") == 0:
            return "r-never-requested"
        return data.draw(st.sampled_from(cases), label="return").return_id

    def orders_in(self, *states: OrderState) -> list[str]:
        return sorted(i for i, order in self.orders.items() if order.state in states)

    def returns_in(self, *states: ReturnState) -> list[tuple[str, ReturnCase]]:
        return [
            (order_id, case)
            for order_id, order in sorted(self.orders.items())
            for case in order.returns
            if case.state in states
        ]

    def returnable(self) -> list[str]:
        """Received orders with units not yet in a return."""
        return [i for i in self.orders_in(OrderState.RECEIVED) if units_left(self.orders[i])]

    def orders_refund_due(self) -> list[str]:
        return sorted(
            order_id
            for order_id, order in self.orders.items()
            if order.order_refund is not None and not order.order_refund_issued
        )

    def pick_policy(self, data: st.DataObject) -> Policy:
        return self.registry.current(data.draw(st.sampled_from(self.registry.names()), "policy"))

    def policy_of(self, order: Order) -> Policy:
        policy = self.registry.get(order.placed.policy, order.placed.policy_version)
        assert policy is not None
        return policy

    def send(self, command: dict[str, Any], expect: Collection[str]) -> Outcome:
        """Hand a command to the service, check its answer and what it wrote, fold the events
        into the live state."""
        command.setdefault("command_id", self.new_id("cmd-"))
        before = self.store.head()
        outcome = self.service.handle(command)
        event(f"{command.get('type')}: {code(outcome)}")
        assert code(outcome) in expect, (command, outcome.as_dict())
        self.check_writes(outcome, before, self.store.head())
        for recorded in outcome.recorded:
            self.fold(recorded)
        if outcome.recorded:
            self.answered.append((command, outcome))
        return outcome

    def check_writes(self, outcome: Outcome, before: HeadDigest, after: HeadDigest) -> None:
        """Refused: nothing written. Declined: one ReturnDeclined. Accepted: `events` lists
        exactly what was written (SPEC.md), a first order's PolicyRecorded included."""
        assert not outcome.duplicate
        if not outcome.events:
            assert not outcome.ok
            assert not outcome.recorded
            assert code(outcome) not in DECLINE_CODES
            assert after == before, "a refused command wrote something"
            return
        new = list(self.reader.read_all(before.position + 1, to_position=after.position))
        assert list(outcome.recorded) == new
        assert [e.type for e in new] == list(outcome.events)
        if not outcome.ok:
            assert code(outcome) in DECLINE_CODES
            assert outcome.events == ("ReturnDeclined",)

    def fold(self, recorded: RecordedEvent) -> None:
        event = from_recorded(recorded)
        if isinstance(event, OrderEvent):
            self.orders[event.order_id] = evolve(self.orders.get(event.order_id), event)
        elif isinstance(event, SubscriptionEvent):
            current = self.subscriptions.get(event.subscription_id)
            self.subscriptions[event.subscription_id] = evolve_subscription(current, event)
        else:
            assert isinstance(event, PolicyRecorded)

    # -- placing -------------------------------------------------------------------------------

    @rule(data=st.data())
    def place_order(self, data: st.DataObject) -> None:
        policy = self.pick_policy(data)
        strategy = place_order_commands(policy, order_id=self.new_id("o"), at=self.later(data))
        self.send(data.draw(strategy, label="place_order"), ACCEPTED)

    def place_an_order_id_again(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.orders)), label="order")
        strategy = place_order_commands(
            self.pick_policy(data), order_id=order_id, at=self.later(data)
        )
        self.send(data.draw(strategy, label="place_order"), {"duplicate_order"})

    # -- the next step of an order or a return (what fulfilment mostly does) ----------------

    @precondition(lambda self: self.orders_in(OrderState.PLACED))
    @rule(data=st.data(), kind=st.sampled_from(["dispatch_order", "cancel_order"]))
    def dispatch_or_cancel(self, data: st.DataObject, kind: str) -> None:
        order_id = data.draw(st.sampled_from(self.orders_in(OrderState.PLACED)), label="order")
        self.run(data, kind, order_id)

    @precondition(lambda self: self.orders_in(OrderState.DISPATCHED))
    @rule(data=st.data(), kind=st.sampled_from(["confirm_delivery", "report_lost"]))
    def deliver_or_lose(self, data: st.DataObject, kind: str) -> None:
        order_id = data.draw(st.sampled_from(self.orders_in(OrderState.DISPATCHED)), label="order")
        self.run(data, kind, order_id)

    @precondition(lambda self: self.returnable())
    @rule(data=st.data())
    def request_return(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(self.returnable()), label="order")
        self.run(data, "request_return", order_id, f"r{len(self.orders[order_id].returns) + 1}")

    @precondition(lambda self: self.returns_in(*NEXT_RETURN_STEP))
    @rule(data=st.data())
    def next_step_of_a_return(self, data: st.DataObject) -> None:
        order_id, case = data.draw(
            st.sampled_from(self.returns_in(*NEXT_RETURN_STEP)), label="return"
        )
        kinds = NEXT_RETURN_STEP[case.state]
        if case.state is ReturnState.INSPECTED:
            kinds = ("issue_refund",) if case.refund is not None else ("ship_replacement",)
        kind = data.draw(st.sampled_from(kinds), label="command")
        self.run(data, kind, order_id, case.return_id)

    @precondition(lambda self: self.orders_refund_due())
    @rule(data=st.data())
    def pay_an_order_refund(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(self.orders_refund_due()), label="order")
        self.run(data, "issue_refund", order_id)

    # -- any step on any order: mostly illegal now, or unknown ------------------------------

    def any_step_on_any_order(self, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(ORDER_STEPS), label="command")
        order_id, order = self.pick_order(data)
        return_id = None
        if (
            kind in RETURN_STEPS
            or kind == "request_return"
            or (kind == "issue_refund" and data.draw(st.booleans(), label="a return's refund?"))
        ):
            return_id = self.pick_return(data, order)
        self.run(data, kind, order_id, return_id)

    def back_dated_command(self, data: st.DataObject) -> None:
        """A command timed before the order's last event is refused, naming `at`."""
        order_id = data.draw(st.sampled_from(sorted(self.orders)), label="order")
        back = timedelta(seconds=data.draw(st.integers(1, 10**6), label="seconds back"))
        at = self.orders[order_id].last_at - back
        command = {"type": "dispatch_order", "order_id": order_id, "at": at.isoformat()}
        outcome = self.send(command, {"invalid_command"})
        assert (outcome.error or {})["message"].startswith("at: ")

    @precondition(lambda self: self.orders)
    @rule(
        data=st.data(),
        mistake=st.sampled_from(
            [
                "any_step_on_any_order",
                "malformed_command",
                "back_dated_command",
                "place_an_order_id_again",
                "reuse_a_command_id_for_another_command",
            ]
        ),
    )
    def something_out_of_place(self, data: st.DataObject, mistake: str) -> None:
        """What fulfilment code gets wrong now and then; each is refused, writing nothing."""
        getattr(self, mistake)(data)

    # -- commands built, and what they must get ----------------------------------------------

    def run(
        self, data: st.DataObject, kind: str, order_id: str, return_id: str | None = None
    ) -> None:
        """Build a `kind` command for the order (and return), work out what it must get, send."""
        order = self.orders.get(order_id)
        case = order.find_return(return_id) if order and return_id else None
        at = self.later(data, short=kind == "cancel_order")
        command: dict[str, Any] = {"type": kind, "order_id": order_id, "at": at.isoformat()}
        if return_id is not None:
            command["return_id"] = return_id
        if kind == "request_return" and order is not None:
            strategy = request_return_commands(
                order, self.policy_of(order), return_id=return_id or "r1", at=at
            )
            command = data.draw(strategy, label="request_return")
        elif kind == "inspect_return" and order is not None and case is not None:
            strategy = inspect_return_commands(order, case, self.policy_of(order), at=at)
            command = data.draw(strategy, label="inspect_return")
        else:
            command.update(data.draw(LOOSE_FIELDS[kind], label="fields"))
        self.send(command, expected(command, order, case))

    # -- subscriptions -------------------------------------------------------------------------

    @rule(data=st.data())
    def start_subscription(self, data: st.DataObject) -> None:
        policy = self.pick_policy(data)
        strategy = start_subscription_commands(
            policy,
            subscription_id=self.new_id("s"),
            order_id=self.new_id("o"),
            at=self.later(data),
        )
        expect = "ok" if policy.subscriptions is not None else "subscription_not_offered"
        self.send(data.draw(strategy, label="start_subscription"), {expect})

    @precondition(lambda self: self.subscriptions)
    @rule(data=st.data(), kind=st.sampled_from(["renew_subscription", "cancel_subscription"]))
    def renew_or_cancel_subscription(self, data: st.DataObject, kind: str) -> None:
        subscription_id = data.draw(st.sampled_from(sorted(self.subscriptions)), label="sub")
        subscription = self.subscriptions[subscription_id]
        if kind == "renew_subscription" and data.draw(st.booleans(), label="wait till due?"):
            self.now = max(self.now, subscription.next_renewal_at)
        at = self.later(data)
        command = {"type": kind, "subscription_id": subscription_id, "at": at.isoformat()}
        expect = "ok" if SUBSCRIPTION.allows(subscription.state, command_trigger(kind)) else None
        due = at >= subscription.next_renewal_at
        if kind == "renew_subscription":
            command["order_id"] = self.new_id("o")
            expect = "renewal_not_due" if expect == "ok" and not due else expect
        elif expect == "ok" and due:
            expect = "cancellation_window_closed"
        self.send(command, {expect or "illegal_transition"})

    # -- commands that must not change anything ------------------------------------------------

    def malformed_command(self, data: st.DataObject) -> None:
        policy = self.pick_policy(data)
        case = data.draw(invalid_commands(policy, start=self.now), label="malformed")
        if case.field != "command_id":
            case.command.pop("command_id", None)  # a fresh id: not a replay of an earlier one
        self.send(case.command, {"invalid_command"})

    @precondition(lambda self: self.answered)
    @rule(data=st.data())
    def replay_a_command(self, data: st.DataObject) -> None:
        """The same command with the same id: the first outcome, marked duplicate, no write."""
        command, first = data.draw(st.sampled_from(self.answered), label="answered")
        before = self.store.head()
        outcome = self.service.handle(command)
        assert outcome.duplicate
        assert (outcome.ok, outcome.events, outcome.error) == (first.ok, first.events, first.error)
        assert outcome.recorded == first.recorded
        assert self.store.head() == before

    def reuse_a_command_id_for_another_command(self, data: st.DataObject) -> None:
        """Another command under a used id is refused, naming the id, and writes nothing."""
        command, _ = data.draw(st.sampled_from(self.answered), label="answered")
        other = {"type": "report_lost", "order_id": "o1", "at": self.now.isoformat()}
        # The very command under its own id is a replay, not another command.
        assume({k: v for k, v in command.items() if k != "command_id"} != other)
        outcome = self.send({**other, "command_id": command["command_id"]}, {"invalid_command"})
        assert (outcome.error or {})["message"].startswith("command_id: ")

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def refunds_never_exceed_what_was_paid(self) -> None:
        # Goods and shipping never exceed what was paid; reimbursed return costs sit beside
        # them (issue 11, ruling 1).
        for order in self.orders.values():
            assert 0 <= order.refunded_total <= order.decided_total
            assert 0 <= order.decided_goods_total <= order.paid_total
            decisions = [case.refund for case in order.returns if case.refund is not None]
            if order.order_refund is not None:
                decisions.append(order.order_refund)
            assert sum(decision.amount for decision in decisions) == order.decided_total
            assert sum(decision.reimbursed for decision in decisions) == order.reimbursed_total
            for decision in decisions:
                assert 0 <= decision.reimbursed <= decision.amount
                parts = [line.amount for line in decision.lines]
                parts += [adjustment.amount for adjustment in decision.adjustments]
                assert decision.amount == sum(parts), "a refund is its breakdown's sum"
            for line in order.placed.lines:
                refunded = [r for d in decisions for r in d.lines if r.line_id == line.line_id]
                assert sum(r.quantity for r in refunded) <= line.quantity
                assert sum(r.amount for r in refunded) <= line.paid

    @invariant()
    def a_fresh_read_of_the_log_is_the_live_state_along_legal_paths(self) -> None:
        """Every stream written since the last step, read again on another connection, rebuilds
        to what the service reported, by a path the machines allow."""
        touched = {e.stream_id for e in self.reader.read_all(self.checked + 1)}
        fresh = OrderService(self.reader, self.registry)
        for stream in sorted(touched):
            recorded = self.reader.read_stream(stream)
            assert [e.stream_version for e in recorded] == list(range(1, len(recorded) + 1))
            kind, _, key = stream.partition("-")
            if kind == "order":
                events = order_events(recorded)
                assert rebuild(events) == fresh.load(key) == self.orders[key]
                assert_legal_order_path(events, self.orders[key])
            elif kind == "subscription":
                steps = [
                    e for e in map(from_recorded, recorded) if isinstance(e, SubscriptionEvent)
                ]
                assert len(steps) == len(recorded)
                assert rebuild_subscription(steps) == self.subscriptions[key]
                assert_legal_subscription_path(steps)
            else:
                assert kind == "policy"
                records = [e for e in map(from_recorded, recorded) if isinstance(e, PolicyRecorded)]
                assert len(records) == len(recorded)
                assert len({record.version for record in records}) == len(records)
        self.checked = self.reader.head().position

    @invariant()
    def the_hash_chain_verifies(self) -> None:
        report = self.reader.verify(self.digest if self.digest.position else None)
        assert report.ok, report.problem
        self.digest = report.head

    @invariant()
    def refunded_states_were_paid_out(self) -> None:
        for order in self.orders.values():
            if order.state is OrderState.REFUNDED:
                assert order.order_refund_issued
            for case in order.returns:
                if case.state is ReturnState.REFUNDED:
                    assert case.refund is not None
                    assert case.refund_issued


class MadeUpPolicyMachine(ServiceMachine):
    """The same machine under one made-up policy instead of the shipped ones: any mix of the
    policy model's powers must keep the same invariants (the next shop's file will be new)."""

    @initialize(policy=synthetic_policies())
    def add_a_made_up_policy(self, policy: Policy) -> None:
        self.registry = PolicyRegistry([policy])
        self.service = OrderService(self.store, self.registry)


ServiceMachine.TestCase.settings = settings(stateful_step_count=50)
TestServiceMachine = ServiceMachine.TestCase
MadeUpPolicyMachine.TestCase.settings = settings(stateful_step_count=50)
TestMadeUpPolicyMachine = pytest.mark.slow(MadeUpPolicyMachine.TestCase)
