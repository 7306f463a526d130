"""The state machines: the compiled tables say exactly what the `transitions` definitions say,
every state can be reached, and the diagrams show every transition."""

from __future__ import annotations

import enum
from collections import deque
from typing import Any

import pytest
from transitions import Machine

from lifecycle import IllegalTransition, parse_command
from lifecycle import events as ev
from lifecycle.machines import (
    COMMAND_TRIGGERS,
    ORDER_LEVEL,
    ORDER_MACHINE,
    RETURN_MACHINE,
    SUBSCRIPTION_MACHINE,
    CompiledMachine,
    Trigger,
    command_trigger,
)
from lifecycle.states import OrderState, ReturnState, SubscriptionState
from lifecycle.wire import COMMAND_TYPES
from tests.oracle import ORDER, RETURN, SUBSCRIPTION, Definition
from tests.support import T0
from tests.unit.builders import order_command, place_order

MACHINES: list[CompiledMachine[Any]] = [ORDER_MACHINE, RETURN_MACHINE, SUBSCRIPTION_MACHINE]
by_name = pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
DEFINITIONS: dict[str, Definition[Any]] = {
    "order": ORDER,
    "return": RETURN,
    "subscription": SUBSCRIPTION,
}


def table_from_definition(definition: Machine) -> dict[tuple[str, str], str]:
    """{(state, trigger): destination} by asking the `transitions` Machine, by state name."""
    table = {}
    for state in definition.states:
        for trigger in definition.get_triggers(state):
            for transition in definition.get_transitions(trigger=trigger, source=state):
                table[(state, trigger)] = transition.dest or state  # dest None: stays put
    return table


def reachable(machine: CompiledMachine[enum.Enum]) -> set[enum.Enum]:
    seen = {machine.initial}
    queue = deque([machine.initial])
    while queue:
        state = queue.popleft()
        for (source, _), dest in machine.table.items():
            if source is state and dest not in seen:
                seen.add(dest)
                queue.append(dest)
    return seen


@by_name
def test_the_compiled_table_is_what_the_definition_says(
    machine: CompiledMachine[enum.Enum],
) -> None:
    compiled = {(s.name, trigger): d.name for (s, trigger), d in machine.table.items()}
    assert compiled == table_from_definition(machine.definition)


@by_name
def test_the_machine_has_the_states_of_its_enum_and_no_automatic_transitions(
    machine: CompiledMachine[enum.Enum],
) -> None:
    assert list(machine.definition.states) == [state.name for state in machine.states]
    assert not any(trigger.startswith("to_") for trigger in machine.definition.events)


def test_orders_start_placed_returns_requested_and_subscriptions_active() -> None:
    assert ORDER_MACHINE.initial is OrderState.PLACED
    assert RETURN_MACHINE.initial is ReturnState.REQUESTED
    assert SUBSCRIPTION_MACHINE.initial is SubscriptionState.ACTIVE


@by_name
def test_every_state_is_reachable_from_the_initial_state(
    machine: CompiledMachine[enum.Enum],
) -> None:
    assert reachable(machine) == set(machine.states)


@by_name
def test_final_states_are_those_the_definition_gives_no_trigger(
    machine: CompiledMachine[enum.Enum],
) -> None:
    no_way_out = [s for s in machine.states if not machine.definition.get_triggers(s.name)]
    assert machine.final_states() == no_way_out


def test_a_return_ends_declined_rejected_refunded_or_with_a_replacement_sent() -> None:
    assert set(RETURN_MACHINE.final_states()) == {
        ReturnState.DECLINED,
        ReturnState.REJECTED,
        ReturnState.REFUNDED,
    }
    # A replacement can carry money (postage paid back): its refund is decided and issued there.
    assert RETURN_MACHINE.allowed(ReturnState.REPLACEMENT_SENT) == [
        Trigger.DECIDE_REFUND,
        Trigger.ISSUE_REFUND,
    ]


def test_an_order_ends_refunded_and_a_subscription_ends_cancelled() -> None:
    # A received order is never final: returns can follow until the policy's window closes.
    assert ORDER_MACHINE.final_states() == [OrderState.REFUNDED]
    assert SUBSCRIPTION_MACHINE.final_states() == [SubscriptionState.CANCELLED]


def test_every_return_step_needs_the_order_to_have_reached_the_customer() -> None:
    # Refund triggers are shared with order-level refunds (cancelled or lost orders).
    shared = {"decide_refund", "issue_refund"}
    for trigger in RETURN_MACHINE.triggers:
        allowed_in = {s for s in OrderState if ORDER_MACHINE.allows(s, trigger)}
        if trigger in shared:
            assert OrderState.RECEIVED in allowed_in
        else:
            assert allowed_in == {OrderState.RECEIVED}, trigger
        assert ORDER_MACHINE.next_state(OrderState.RECEIVED, trigger, "o") is OrderState.RECEIVED


@by_name
def test_allowed_lists_the_definitions_triggers_for_each_state(
    machine: CompiledMachine[enum.Enum],
) -> None:
    for state in machine.states:
        assert set(machine.allowed(state)) == set(machine.definition.get_triggers(state.name))
        assert all(machine.allows(state, trigger) for trigger in machine.allowed(state))


@by_name
def test_the_mermaid_diagram_draws_every_transition(machine: CompiledMachine[enum.Enum]) -> None:
    text = machine.mermaid()
    edges: dict[tuple[str, str], list[str]] = {}
    for line in text.splitlines()[1:]:
        arrow, _, label = line.strip().partition(": ")
        start, _, end = arrow.partition(" --> ")
        edges[(start, end)] = label.split(", ") if label else []
    for (source, trigger), dest in machine.table.items():
        drawn = edges[(source.value, dest.value)]
        summaries = [name for name, group in machine.summaries.items() if trigger in group]
        assert trigger in drawn or any(name in drawn for name in summaries), (source, trigger)


@by_name
def test_the_mermaid_diagram_marks_the_start_and_the_ends(
    machine: CompiledMachine[enum.Enum],
) -> None:
    lines = machine.mermaid().splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert f"    [*] --> {machine.initial.value}" in lines
    for state in machine.final_states():
        assert f"    {state.value} --> [*]" in lines


def test_the_order_diagram_summarises_the_return_steps_in_one_edge() -> None:
    assert "    received --> received: any return step" in ORDER_MACHINE.mermaid().splitlines()


@pytest.mark.parametrize(
    ("machine", "state", "trigger"),
    [
        (ORDER_MACHINE, OrderState.DISPATCHED, "cancel_order"),
        (ORDER_MACHINE, OrderState.PLACED, "authorize"),
        (RETURN_MACHINE, ReturnState.AUTHORIZED, "approve"),
        (RETURN_MACHINE, ReturnState.REFUNDED, "issue_refund"),
        (SUBSCRIPTION_MACHINE, SubscriptionState.CANCELLED, "renew_subscription"),
    ],
)
def test_an_illegal_next_state_raises_illegal_transition(
    machine: CompiledMachine[enum.Enum], state: enum.Enum, trigger: str
) -> None:
    with pytest.raises(IllegalTransition) as raised:
        machine.next_state(state, trigger, "thing t1")
    error = raised.value
    assert error.code == "illegal_transition"
    assert (error.state, error.trigger) == (state.value, trigger)
    assert f"thing t1 is {state.value}" in str(error)


def test_the_refusal_says_what_is_possible_now() -> None:
    with pytest.raises(IllegalTransition, match=r"\(possible now: cancel_order, dispatch_order\)$"):
        ORDER_MACHINE.next_state(OrderState.PLACED, "confirm_delivery", "order o1")


def test_the_refusal_in_a_final_state_says_it_is_final() -> None:
    with pytest.raises(IllegalTransition, match=r"nothing \(it is final\)"):
        RETURN_MACHINE.next_state(ReturnState.DECLINED, "approve", "return r1", "approve it")


def test_the_refusal_names_the_action_tried_in_words() -> None:
    with pytest.raises(
        IllegalTransition, match=r"^cannot cancel the order: order o1 is dispatched"
    ):
        ORDER_MACHINE.next_state(
            OrderState.DISPATCHED, "cancel_order", "order o1", "cancel the order"
        )


def test_a_legal_next_state_is_the_tables_destination() -> None:
    assert ORDER_MACHINE.next_state(OrderState.PLACED, "dispatch_order", "o") is (
        OrderState.DISPATCHED
    )
    # An internal transition (no destination in the definition) stays put.
    assert RETURN_MACHINE.next_state(ReturnState.INSPECTED, "decide_refund", "r") is (
        ReturnState.INSPECTED
    )


def test_every_event_names_a_trigger_of_its_machine() -> None:
    order_triggers = {*ORDER.triggers(), Trigger.PLACE_ORDER}
    for event in ev.ORDER_EVENTS:
        assert event.TRIGGER in order_triggers, event.__name__
        if issubclass(event, ev.ReturnEvent):
            assert event.TRIGGER in RETURN.triggers(), event.__name__
    for subscription_event in ev.SUBSCRIPTION_EVENTS:
        trigger = subscription_event.TRIGGER
        assert trigger in {*SUBSCRIPTION.triggers(), Trigger.START_SUBSCRIPTION}


def test_the_trigger_enum_is_every_trigger_of_the_definitions_by_its_word() -> None:
    defined = ORDER.triggers() | RETURN.triggers() | SUBSCRIPTION.triggers()
    starts = {Trigger.PLACE_ORDER, Trigger.START_SUBSCRIPTION}  # no machine moves into being
    assert {trigger.value for trigger in Trigger} == defined | starts
    assert all(trigger == trigger.value for trigger in Trigger)  # text, as `transitions` wants


def test_every_command_type_has_its_trigger_in_the_table() -> None:
    assert {kind for kind, _ in COMMAND_TRIGGERS} == set(COMMAND_TYPES)
    assert command_trigger("issue_refund", ORDER_LEVEL) is Trigger.ISSUE_ORDER_REFUND
    with pytest.raises(KeyError):
        command_trigger("teleport_order")


@pytest.mark.parametrize(
    ("command", "trigger"),
    [
        (place_order(), Trigger.PLACE_ORDER),
        (order_command("dispatch_order", T0), Trigger.DISPATCH_ORDER),
        (order_command("issue_refund", T0, return_id="r1"), Trigger.ISSUE_REFUND),
        (order_command("issue_refund", T0), Trigger.ISSUE_ORDER_REFUND),
        (order_command("review_return", T0, return_id="r1", decision="approve"), Trigger.APPROVE),
        (order_command("review_return", T0, return_id="r1", decision="decline"), Trigger.DECLINE),
    ],
    ids=["place", "dispatch", "return-refund", "order-refund", "approve", "decline"],
)
def test_a_command_fires_the_trigger_the_table_gives_it(
    command: dict[str, object], trigger: Trigger
) -> None:
    assert parse_command(command).trigger is trigger


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_the_tests_oracle_reads_the_definition_not_the_table(name: str) -> None:
    """`tests.oracle` asks the `transitions` Machine; it must agree with what it is the
    oracle for, state by state, without being built from it."""
    oracle = DEFINITIONS[name]
    machine = next(m for m in MACHINES if m.name == name)
    assert oracle.machine is machine.definition
    assert oracle.initial is machine.initial
    assert oracle.edges == machine.table
