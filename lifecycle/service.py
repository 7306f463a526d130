"""The order service fulfilment code calls: commands in, outcomes out, events in the log.

It loads the order from its stream, asks `decide` under the policy version the order was placed
with, and appends with the expected version, retrying a few times when another writer got there
first. A command id makes a command idempotent: the same id returns the first outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from eventstore import (
    NO_STREAM,
    ConcurrencyConflict,
    EventStore,
    RecordedEvent,
    StreamAppend,
)

from .commands import Command, PlaceOrder
from .decide import decide
from .envelopes import from_recorded, order_events, order_stream, policy_stream, to_new_event
from .errors import DomainError, OrderlogError, UnknownOrder, UnknownPolicy
from .events import OrderEvent, PolicyRecorded, ReturnDeclined
from .order import Order, rebuild
from .policy import Policy
from .policy_files import parse_policy
from .registry import PolicyRegistry
from .wire import parse_command


@attrs.frozen(kw_only=True)
class Outcome:
    """What became of a command: the events written (by type), or the error or decline."""

    ok: bool
    events: tuple[str, ...] = ()
    error: Mapping[str, str] | None = None
    recorded: tuple[RecordedEvent, ...] = ()
    duplicate: bool = False

    @classmethod
    def refused(cls, error: OrderlogError) -> Outcome:
        return cls(ok=False, error=error.as_dict())

    def as_dict(self) -> dict[str, Any]:
        """SPEC.md's JSON shape: `ok`, `events`, and `error` when not ok."""
        data: dict[str, Any] = {"ok": self.ok, "events": list(self.events)}
        if self.error is not None:
            data["error"] = dict(self.error)
        return data


class OrderService:
    """Handles order commands against an event store under a registry of shop policies."""

    def __init__(self, store: EventStore, policies: PolicyRegistry, *, retries: int = 3) -> None:
        self.store = store
        self.policies = policies
        self.retries = retries
        self._recorded_policies: set[tuple[str, str]] = set()

    def handle(self, command: Command | Mapping[str, Any]) -> Outcome:
        """Run one command (an object or its JSON dict). Never raises for a refused command:
        the outcome carries the error code and message, and nothing was written."""
        try:
            parsed = command if isinstance(command, Command) else parse_command(command)
            if parsed.command_id is not None:
                prior = self.store.recorded(parsed.command_id)
                if prior is not None:
                    return _replayed(prior.outcome, prior.events)
            return self._with_retries(parsed)
        except (DomainError, ConcurrencyConflict) as error:
            return Outcome.refused(error)

    def load(self, order_id: str) -> Order | None:
        """The order as its stream has it now (None if never placed)."""
        return rebuild(order_events(self.store.read_stream(order_stream(order_id))))

    def policy_of(self, order: Order) -> Policy:
        """The policy version the order was placed under, from the registry or from the log."""
        name, version = order.placed.policy, order.placed.policy_version
        policy = self.policies.get(name, version)
        if policy is not None:
            return policy
        for recorded in self.store.read_stream(policy_stream(name)):
            event = from_recorded(recorded)
            if isinstance(event, PolicyRecorded) and event.version == version:
                policy = parse_policy(event.text, event.source)
                self.policies.add(policy, current=False)
                return policy
        raise UnknownPolicy(
            f"order {order.order_id} was placed under {name} version {version}, which is in "
            "neither the policy files nor the log"
        )

    def _with_retries(self, command: Command) -> Outcome:
        for attempt in range(self.retries + 1):
            try:
                return self._attempt(command)
            except ConcurrencyConflict:
                if attempt == self.retries:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, command: Command) -> Outcome:
        stream = order_stream(command.order_id)
        recorded = self.store.read_stream(stream)
        order = rebuild(order_events(recorded))
        if order is not None:
            policy = self.policy_of(order)
        elif isinstance(command, PlaceOrder):
            policy = self.policies.current(command.policy)
        else:
            raise UnknownOrder(command.order_id)
        events = decide(order, command, policy)
        metadata = _metadata(command)
        appends = [
            StreamAppend(
                stream,
                [to_new_event(event, metadata) for event in events],
                len(recorded) if recorded else NO_STREAM,
            )
        ]
        if isinstance(command, PlaceOrder):
            appends += self._policy_record(policy, command, metadata)
        outcome = _outcome_of(events)
        result = self.store.append_streams(
            appends, command_id=command.command_id, outcome=outcome.as_dict()
        )
        if result.duplicate:  # another process recorded this command id meanwhile
            return _replayed(result.outcome, result.events)
        return attrs.evolve(outcome, recorded=result.events)

    def _policy_record(
        self, policy: Policy, command: Command, metadata: dict[str, Any]
    ) -> list[StreamAppend]:
        """Put the policy's text in the log the first time an order is placed under it."""
        key = (policy.name, policy.version)
        if key in self._recorded_policies:
            return []
        stream = policy_stream(policy.name)
        recorded = self.store.read_stream(stream)
        versions = {r.data.get("version") for r in recorded}
        if policy.version in versions:
            self._recorded_policies.add(key)
            return []
        event = PolicyRecorded(
            at=command.at,
            name=policy.name,
            version=policy.version,
            source=policy.source,
            text=policy.text,
        )
        return [StreamAppend(stream, [to_new_event(event, metadata)], len(recorded) or NO_STREAM)]


def _metadata(command: Command) -> dict[str, Any]:
    data = {"command": command.TYPE, "command_id": command.command_id, "actor": command.actor}
    return {key: value for key, value in data.items() if value is not None}


def _outcome_of(events: Sequence[OrderEvent]) -> Outcome:
    names = tuple(type(event).__name__ for event in events)
    declined = next((e for e in events if isinstance(e, ReturnDeclined)), None)
    if declined is not None:
        error = {"code": declined.code, "message": declined.message}
        return Outcome(ok=False, events=names, error=error)
    return Outcome(ok=True, events=names)


def _replayed(payload: Mapping[str, Any] | None, events: tuple[RecordedEvent, ...]) -> Outcome:
    payload = payload or {}
    return Outcome(
        ok=bool(payload.get("ok", True)),
        events=tuple(payload.get("events", [e.type for e in events])),
        error=payload.get("error"),
        recorded=events,
        duplicate=True,
    )
