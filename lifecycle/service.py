"""The order service fulfilment code calls: commands in, outcomes out, events in the log.

It reads the streams a command names (the order, and the policy version the order was placed
with), asks `planning.plan` what to write, and appends with the expected versions, retrying a
few times when another writer got there first. A command id makes a command idempotent: the
same id returns the first outcome.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from eventstore import (
    NO_STREAM,
    ConcurrencyConflict,
    EventStore,
    InvalidAppend,
    RecordedEvent,
    StreamAppend,
)

from .commands import (
    BaseCommand,
    CancelSubscription,
    Command,
    RenewSubscription,
    StartSubscription,
)
from .envelopes import from_recorded, order_events, to_new_event
from .errors import DomainError, InvalidCommand, OrderlogError
from .events import Event, OrderPlaced, PolicyRecorded, ReturnDeclined, SubscriptionEvent
from .order import Order, rebuild
from .pinning import pinned_policy
from .planning import Loaded, Write, plan
from .policy import Policy
from .registry import PolicyRegistry
from .streams import order_stream, policy_stream, subscription_stream
from .subscriptions import rebuild_subscription
from .wire import command_to_dict, parse_command


@attrs.frozen(kw_only=True)
class Outcome:
    """What became of a command: the events written (by type), or the error or decline."""

    ok: bool
    events: tuple[str, ...] = ()
    error: Mapping[str, str] | None = None
    recorded: tuple[RecordedEvent, ...] = attrs.field(default=(), repr=False)
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

    def handle(self, command: BaseCommand | Mapping[str, Any]) -> Outcome:
        """Run one command (an object or its JSON dict). Never raises for a refused command:
        the outcome carries the error code and message, and nothing was written."""
        try:
            parsed = command if isinstance(command, BaseCommand) else parse_command(command)
            if parsed.command_id is not None:
                prior = self.store.recorded(parsed.command_id)
                if prior is not None:
                    return _replayed(prior.outcome, prior.events, fingerprint(parsed))
            return self._with_retries(parsed)
        except (DomainError, ConcurrencyConflict) as error:
            return Outcome.refused(error)
        except InvalidAppend as error:
            # The store refuses what the command carried (an id with control characters).
            return Outcome.refused(InvalidCommand(error.message))

    def load(self, order_id: str) -> Order | None:
        """The order as its stream has it now (None if never placed)."""
        return rebuild(order_events(self.store.read_stream(order_stream(order_id))))

    def policy_of(self, order: Order) -> Policy:
        """The policy version the order was placed under, from the registry or from the log;
        raises `UnknownPolicy`."""
        return pinned_policy(self.store, self.policies, order)

    def _with_retries(self, command: BaseCommand) -> Outcome:
        for attempt in range(self.retries + 1):
            try:
                return self._commit(command, plan(command, self._read(command), self.policies))
            except ConcurrencyConflict:
                if attempt == self.retries:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, command: BaseCommand) -> Loaded:
        """What `plan` needs of the log: the subscription and the order the command names."""
        if isinstance(command, StartSubscription | RenewSubscription | CancelSubscription):
            recorded = self.store.read_stream(subscription_stream(command.subscription_id))
            subscription = rebuild_subscription(
                e for e in map(from_recorded, recorded) if isinstance(e, SubscriptionEvent)
            )
            order_id = getattr(command, "order_id", None)  # the order a start or renewal places
            placed = self.store.stream_version(order_stream(order_id)) if order_id else 0
            return Loaded(
                subscription=subscription,
                subscription_version=len(recorded),
                order_version=placed,
            )
        assert isinstance(command, Command), f"unhandled command {type(command).__name__}"
        recorded = self.store.read_stream(order_stream(command.order_id))
        order = rebuild(order_events(recorded))
        policy = self.policy_of(order) if order is not None else None
        return Loaded(order=order, order_version=len(recorded), order_policy=policy)

    def _commit(self, command: BaseCommand, writes: list[Write]) -> Outcome:
        """Append every stream the command touches in one transaction, with its command id."""
        placed = next((e for w in writes for e in w.events if isinstance(e, OrderPlaced)), None)
        if placed is not None:
            writes = self._policy_record(self.policies.current(placed.policy), placed.at) + writes
        metadata = _metadata(command)
        appends = [
            StreamAppend(
                write.stream,
                [to_new_event(event, metadata) for event in write.events],
                write.expected or NO_STREAM,
            )
            for write in writes
        ]
        outcome = _outcome_of([event for write in writes for event in write.events])
        stored = {**outcome.as_dict(), "fingerprint": fingerprint(command)}
        result = self.store.append_streams(appends, command_id=command.command_id, outcome=stored)
        if result.duplicate:  # another process recorded this command id meanwhile
            return _replayed(result.outcome, result.events, fingerprint(command))
        if placed is not None:
            self._recorded_policies.add((placed.policy, placed.policy_version))
        return attrs.evolve(outcome, recorded=result.events)

    def _policy_record(self, policy: Policy, at: datetime) -> list[Write]:
        """The policy's text for the log, the first time an order is placed under its version.

        It goes in the order's own transaction (so a refused order writes nothing) and first
        (so a replay meets the policy before the order)."""
        key = (policy.name, policy.version)
        if key in self._recorded_policies:
            return []
        stream = policy_stream(policy.name)
        recorded = self.store.read_stream(stream)
        if policy.version in {r.data.get("version") for r in recorded}:
            self._recorded_policies.add(key)
            return []
        event = PolicyRecorded(
            at=at, name=policy.name, version=policy.version, source=policy.source, text=policy.text
        )
        return [Write(stream, (event,), len(recorded))]


def _metadata(command: BaseCommand) -> dict[str, Any]:
    # The store adds the command id itself (with the outcome), inside the hash chain.
    data = {"command": command.TYPE, "actor": command.actor}
    return {key: value for key, value in data.items() if value is not None}


def _outcome_of(events: Sequence[Event]) -> Outcome:
    names = tuple(type(event).__name__ for event in events)
    declined = next((e for e in events if isinstance(e, ReturnDeclined)), None)
    if declined is not None:
        error = {"code": declined.code, "message": declined.message}
        return Outcome(ok=False, events=names, error=error)
    return Outcome(ok=True, events=names)


def fingerprint(command: BaseCommand) -> str:
    """What a command asks, without its id: the same id sent with other content is refused."""
    content = {k: v for k, v in command_to_dict(command).items() if k != "command_id"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def _replayed(
    payload: Mapping[str, Any] | None, events: tuple[RecordedEvent, ...], asked: str
) -> Outcome:
    """The first outcome of a command id, if it is the same command sent again."""
    payload = payload or {}
    if payload.get("fingerprint", asked) != asked:
        raise InvalidCommand(
            "was already used for a different command; use a new command_id for a new command",
            field="command_id",
        )
    return Outcome(
        ok=bool(payload.get("ok", True)),
        events=tuple(payload.get("events", [e.type for e in events])),
        error=payload.get("error"),
        recorded=events,
        duplicate=True,
    )
