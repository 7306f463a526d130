"""Legality as the `transitions` definitions state it, asked of the `Machine` objects themselves
(`get_triggers`, `get_transitions`): the oracle of tests that check legality, kept apart from
the compiled tables that the code under test uses."""

from __future__ import annotations

import enum
from typing import Generic, TypeVar

from transitions import Machine

from lifecycle.machines import ORDER_DEFINITION, RETURN_DEFINITION, SUBSCRIPTION_DEFINITION
from lifecycle.states import OrderState, ReturnState, SubscriptionState

S = TypeVar("S", bound=enum.Enum)


class Definition(Generic[S]):
    """One machine's transitions, read once from its `transitions` definition."""

    def __init__(self, name: str, machine: Machine, states: type[S]) -> None:
        self.name = name
        self.machine = machine
        self.states = states
        self.initial: S = states[str(machine.initial)]
        self.edges: dict[tuple[S, str], S] = {}
        for state in states:
            for trigger in machine.get_triggers(state.name):
                for transition in machine.get_transitions(trigger=trigger, source=state.name):
                    dest = state if transition.dest is None else states[transition.dest]
                    self.edges[(state, str(trigger))] = dest  # dest None: an internal one

    def allows(self, state: enum.Enum, trigger: str) -> bool:
        return (state, str(trigger)) in self.edges

    def after(self, state: S, trigger: str) -> S:
        """Where `trigger` leads from `state`; raises `KeyError` where it is illegal."""
        return self.edges[(state, str(trigger))]

    def triggers(self) -> set[str]:
        return {str(trigger) for trigger in self.machine.events}


ORDER = Definition("order", ORDER_DEFINITION, OrderState)
RETURN = Definition("return", RETURN_DEFINITION, ReturnState)
SUBSCRIPTION = Definition("subscription", SUBSCRIPTION_DEFINITION, SubscriptionState)
