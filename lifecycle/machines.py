"""The order, return and subscription state machines, defined once with `transitions`.

The `transitions` definitions below are the single source of truth: legality checks, replay
checks and the Mermaid diagrams are all read from them. For speed, each definition is compiled
once into a `{(state, trigger): next_state}` table; nothing here writes a second copy by hand.
The triggers are one enum, `Trigger`, and which trigger each command fires is one table,
`COMMAND_TRIGGERS`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Generic, TypeVar

from transitions import Machine

from .errors import IllegalTransition
from .states import OrderState, ReturnState, SubscriptionState

S = TypeVar("S", bound=enum.Enum)


class Trigger(enum.StrEnum):
    """Every transition of the three machines, by the word the definitions, events and errors
    use. A `StrEnum`, because `transitions` names its events by text."""

    # Order triggers. An order-level refund (a cancellation's, a lost parcel's) has triggers of
    # its own, so a log cannot pass one off as a step of a return.
    PLACE_ORDER = "place_order"
    CANCEL_ORDER = "cancel_order"
    DISPATCH_ORDER = "dispatch_order"
    CONFIRM_DELIVERY = "confirm_delivery"
    REPORT_LOST = "report_lost"
    DECIDE_ORDER_REFUND = "decide_order_refund"
    ISSUE_ORDER_REFUND = "issue_order_refund"
    # Return triggers: one per event that moves a return.
    AUTHORIZE = "authorize"
    DECLINE = "decline"
    HOLD_FOR_REVIEW = "hold_for_review"
    APPROVE = "approve"
    RECEIVE_RETURN = "receive_return"
    ACCEPT_INSPECTION = "accept_inspection"
    REJECT_INSPECTION = "reject_inspection"
    ACCEPT_CLAIM = "accept_claim"
    DECIDE_REFUND = "decide_refund"
    ISSUE_REFUND = "issue_refund"
    SHIP_REPLACEMENT = "ship_replacement"
    SETTLE_BY_REFUND = "settle_by_refund"
    # Subscription triggers.
    START_SUBSCRIPTION = "start_subscription"
    RENEW_SUBSCRIPTION = "renew_subscription"
    CANCEL_SUBSCRIPTION = "cancel_subscription"


T = Trigger
ORDER_LEVEL = "order"
"""The variant of `issue_refund` that names no return: the order's own refund."""

COMMAND_TRIGGERS: Mapping[tuple[str, str | None], Trigger] = MappingProxyType(
    {
        ("place_order", None): T.PLACE_ORDER,
        ("cancel_order", None): T.CANCEL_ORDER,
        ("dispatch_order", None): T.DISPATCH_ORDER,
        ("confirm_delivery", None): T.CONFIRM_DELIVERY,
        ("report_lost", None): T.REPORT_LOST,
        ("request_return", None): T.AUTHORIZE,
        ("review_return", "approve"): T.APPROVE,
        ("review_return", "decline"): T.DECLINE,
        ("receive_return", None): T.RECEIVE_RETURN,
        ("inspect_return", None): T.ACCEPT_INSPECTION,
        ("issue_refund", None): T.ISSUE_REFUND,
        ("issue_refund", ORDER_LEVEL): T.ISSUE_ORDER_REFUND,
        ("ship_replacement", None): T.SHIP_REPLACEMENT,
        ("settle_by_refund", None): T.SETTLE_BY_REFUND,
        ("start_subscription", None): T.START_SUBSCRIPTION,
        ("renew_subscription", None): T.RENEW_SUBSCRIPTION,
        ("cancel_subscription", None): T.CANCEL_SUBSCRIPTION,
    }
)
"""The trigger a command fires first, by its wire type and variant (a review's decision; an
`issue_refund` naming no return is the order's own), and so the step the machines must allow
for it. The policy may answer a return request with `decline` or `hold_for_review` instead of
`authorize`, and an inspection that accepts nothing is `reject_inspection`: each is legal
exactly where the trigger listed here is."""


def command_trigger(command_type: str, variant: str | None = None) -> Trigger:
    """The trigger of a command type (and variant); raises `KeyError` for an unknown one."""
    return COMMAND_TRIGGERS[(command_type, variant)]


_R = ReturnState
RETURN_DEFINITION = Machine(
    model=None,
    states=list(ReturnState),
    initial=_R.REQUESTED,
    auto_transitions=False,
    transitions=[
        {"trigger": T.AUTHORIZE, "source": _R.REQUESTED, "dest": _R.AUTHORIZED},
        {"trigger": T.DECLINE, "source": [_R.REQUESTED, _R.AWAITING_REVIEW], "dest": _R.DECLINED},
        {"trigger": T.HOLD_FOR_REVIEW, "source": _R.REQUESTED, "dest": _R.AWAITING_REVIEW},
        {"trigger": T.APPROVE, "source": _R.AWAITING_REVIEW, "dest": _R.AUTHORIZED},
        {"trigger": T.RECEIVE_RETURN, "source": _R.AUTHORIZED, "dest": _R.RECEIVED},
        {"trigger": T.ACCEPT_INSPECTION, "source": _R.RECEIVED, "dest": _R.INSPECTED},
        {"trigger": T.REJECT_INSPECTION, "source": _R.RECEIVED, "dest": _R.REJECTED},
        # A missing item cannot be sent back: an accepted claim skips receipt and inspection.
        {"trigger": T.ACCEPT_CLAIM, "source": _R.AUTHORIZED, "dest": _R.INSPECTED},
        {"trigger": T.DECIDE_REFUND, "source": _R.INSPECTED, "dest": None},
        {"trigger": T.ISSUE_REFUND, "source": _R.INSPECTED, "dest": _R.REFUNDED},
        {"trigger": T.SHIP_REPLACEMENT, "source": _R.INSPECTED, "dest": _R.REPLACEMENT_SENT},
        # Support settles by refund a return the policy would settle by goods (none in stock,
        # or the customer asks for money); the refund is decided and issued as any other.
        {"trigger": T.SETTLE_BY_REFUND, "source": _R.INSPECTED, "dest": None},
        # A replacement can carry money: postage paid back, an exchange's cheaper difference.
        {"trigger": T.DECIDE_REFUND, "source": _R.REPLACEMENT_SENT, "dest": None},
        {"trigger": T.ISSUE_REFUND, "source": _R.REPLACEMENT_SENT, "dest": None},
    ],
)
"""A return: requested, then the policy's answer, then the goods' way back and the settlement."""

_O = OrderState
ORDER_DEFINITION = Machine(
    model=None,
    states=list(OrderState),
    initial=_O.PLACED,
    auto_transitions=False,
    transitions=[
        {"trigger": T.CANCEL_ORDER, "source": _O.PLACED, "dest": _O.CANCELLED},
        {"trigger": T.DISPATCH_ORDER, "source": _O.PLACED, "dest": _O.DISPATCHED},
        {"trigger": T.CONFIRM_DELIVERY, "source": _O.DISPATCHED, "dest": _O.RECEIVED},
        {"trigger": T.REPORT_LOST, "source": _O.DISPATCHED, "dest": _O.LOST},
        # A cancelled or lost order is settled by an order-level refund.
        {"trigger": T.DECIDE_ORDER_REFUND, "source": [_O.CANCELLED, _O.LOST], "dest": None},
        {"trigger": T.ISSUE_ORDER_REFUND, "source": [_O.CANCELLED, _O.LOST], "dest": _O.REFUNDED},
        # Every step of a return needs the order to have reached the customer.
        *(
            {"trigger": trigger, "source": _O.RECEIVED, "dest": None}
            for trigger in RETURN_DEFINITION.events
        ),
    ],
)
"""An order: placed, then dispatched and received (or cancelled, or lost and refunded)."""

_S = SubscriptionState
SUBSCRIPTION_DEFINITION = Machine(
    model=None,
    states=list(SubscriptionState),
    initial=_S.ACTIVE,
    auto_transitions=False,
    transitions=[
        # Each renewal places a new order; the subscription itself stays active.
        {"trigger": T.RENEW_SUBSCRIPTION, "source": _S.ACTIVE, "dest": None},
        {"trigger": T.CANCEL_SUBSCRIPTION, "source": _S.ACTIVE, "dest": _S.CANCELLED},
    ],
)
"""A subscription: active, renewing into new orders, until cancelled."""


class CompiledMachine(Generic[S]):
    """A `transitions` definition compiled to a lookup table, with the questions we ask of it."""

    def __init__(
        self,
        name: str,
        definition: Machine,
        states: type[S],
        summaries: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.name = name
        self.summaries = summaries or {}
        self.definition = definition
        self.states = states
        self.initial: S = states[str(definition.initial)]
        self.table: dict[tuple[S, str], S] = compile_table(definition, states)
        self.triggers: tuple[Trigger, ...] = tuple(Trigger(name) for name in definition.events)

    def next_state(self, state: S, trigger: str, subject: str, action: str | None = None) -> S:
        """The state `trigger` leads to from `state`; raises `IllegalTransition` if none.

        `subject` names what is in `state` ("order o1"); `action` what was tried, in words."""
        try:
            return self.table[(state, trigger)]
        except KeyError:
            possible = ", ".join(self.allowed(state)) or "nothing (it is final)"
            tried = action or trigger
            raise IllegalTransition(
                f"cannot {tried}: {subject} is {state.value} (possible now: {possible})",
                state=state.value,
                trigger=trigger,
            ) from None

    def allows(self, state: S, trigger: str) -> bool:
        return (state, trigger) in self.table

    def allowed(self, state: S) -> list[Trigger]:
        """The triggers legal in `state`, in definition order."""
        return [trigger for trigger in self.triggers if (state, trigger) in self.table]

    def mermaid(self) -> str:
        """A Mermaid state diagram of the definition (renders on GitHub)."""
        edges: dict[tuple[str, str], list[str]] = {}
        for (source, trigger), dest in self.table.items():
            edges.setdefault((source.value, dest.value), []).append(trigger)
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial.value}"]
        lines += [
            f"    {source} --> {dest}: {self._label(triggers)}"
            for (source, dest), triggers in edges.items()
        ]
        lines += [f"    {state.value} --> [*]" for state in self.final_states()]
        return "\n".join(lines) + "\n"

    def _label(self, triggers: list[str]) -> str:
        """Edge label; a group of triggers named in `summaries` is shown by its name."""
        for summary, group in self.summaries.items():
            if set(group) <= set(triggers):
                triggers = [t for t in triggers if t not in group] + [summary]
        return ", ".join(triggers)

    def final_states(self) -> list[S]:
        """States with no way out."""
        return [s for s in self.states if not any(key[0] is s for key in self.table)]


def compile_table(definition: Machine, states: type[S]) -> dict[tuple[S, str], S]:
    """Read every transition out of a definition; an internal one (dest None) stays put.

    Keys hold `Trigger` members, so a table lookup by a trigger's word finds them too."""
    table: dict[tuple[S, str], S] = {}
    for name, event in definition.events.items():
        trigger = Trigger(name)
        for source_name, transitions in event.transitions.items():
            for transition in transitions:
                source = states[source_name]
                dest = source if transition.dest is None else states[transition.dest]
                table[(source, trigger)] = dest
    return table


ORDER_MACHINE = CompiledMachine(
    "order",
    ORDER_DEFINITION,
    OrderState,
    summaries={"any return step": tuple(RETURN_DEFINITION.events)},
)
RETURN_MACHINE = CompiledMachine("return", RETURN_DEFINITION, ReturnState)
SUBSCRIPTION_MACHINE = CompiledMachine("subscription", SUBSCRIPTION_DEFINITION, SubscriptionState)
