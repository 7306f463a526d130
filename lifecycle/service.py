"""The order service fulfilment code calls: commands in, outcomes out, events in the log.

It reads the streams a command names (the order, and the policy version the order was placed
with), asks `planning.plan` what to write, and appends with the expected versions, retrying a
few times when another writer got there first. A command id makes a command idempotent: the
same id returns the first outcome.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from eventstore import (
    NO_STREAM,
    ConcurrencyConflict,
    EventStore,
    InvalidAppend,
    PreparedAppend,
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
from .envelopes import from_recorded, load_order, to_new_event
from .errors import DomainError, InvalidCommand, OrderlogError
from .events import (
    Event,
    OrderEvent,
    OrderPlaced,
    PolicyRecorded,
    ReturnDeclined,
    SubscriptionEvent,
)
from .order import Order, evolve
from .pinning import pinned_policy
from .planning import Loaded, Write, plan
from .policy import Policy
from .registry import PolicyRegistry
from .streams import order_stream, policy_stream, subscription_stream
from .subscriptions import Subscription, evolve_subscription, rebuild_subscription
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


RECENT_ORDERS = 1024
"""How many orders' states the service keeps after its own commits (an LRU)."""


@attrs.frozen
class Known:
    """A stream as of one version: its folded state (an `Order` or `Subscription`; None for a
    policy stream) and, for an order, the policy version it was placed under."""

    state: Order | Subscription | None
    version: int
    policy: Policy | None = None


class RecentStates:
    """The last states the service wrote, by stream: a command on a hot order decides on
    them instead of reading and folding its whole stream again. They may be stale (another
    process wrote since): the append's expected version catches that for a write, and a
    refusal is confirmed against the stream's version before it is returned."""

    def __init__(self, size: int = RECENT_ORDERS) -> None:
        self.size = size
        self._entries: OrderedDict[str, Known] = OrderedDict()
        self._lock = threading.Lock()  # threads may share a service over a pooled store

    def get(self, stream: str) -> Known | None:
        with self._lock:
            known = self._entries.get(stream)
            if known is not None:
                self._entries.move_to_end(stream)
            return known

    def put(self, stream: str, known: Known) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[stream] = known
            self._entries.move_to_end(stream)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def drop(self, stream: str) -> None:
        with self._lock:
            self._entries.pop(stream, None)


@attrs.frozen
class Backoff:
    """How long to wait before retrying a lost race: full jitter over an exponential bound
    (`base` x 2^attempt, at most `cap` seconds), so racing writers spread out instead of
    colliding again in step."""

    base: float = 0.002
    cap: float = 0.25

    def delay(self, attempt: int, draw: Callable[[], float] = random.random) -> float:
        return draw() * min(self.cap, self.base * 2.0**attempt)


@attrs.define
class _Batch:
    """The streams one attempt has read and what its accepted commands left them at, for
    the commands after them; the version of each state taken from the recent ones (to
    confirm a refusal against the log); the policy versions and command ids accepted."""

    states: dict[str, Known] = attrs.Factory(dict)
    recent: dict[str, int] = attrs.Factory(dict)
    policies: set[tuple[str, str]] = attrs.Factory(set)
    ids: dict[str, tuple[int, str]] = attrs.Factory(dict)


@attrs.frozen
class _Accepted:
    """A command of a batch that will be written: its validated append and its outcome."""

    command: BaseCommand
    appends: list[StreamAppend]
    stored: dict[str, Any] | None
    prepared: PreparedAppend | None
    outcome: Outcome
    writes: list[Write]


@attrs.frozen
class _SameId:
    """A command of a batch that repeats an earlier one's command id (and content)."""

    first: int


class OrderService:
    """Handles order commands against an event store under a registry of shop policies.

    One per thread, as its store (threads may share one over a pooled store). A lost race is
    retried up to `retries` times after a jittered `backoff` pause; the states of `recent`
    orders are kept after each commit."""

    def __init__(
        self,
        store: EventStore,
        policies: PolicyRegistry,
        *,
        retries: int = 10,
        backoff: Backoff | None = None,
        recent: int = RECENT_ORDERS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.policies = policies
        self.retries = retries
        self.backoff = backoff or Backoff()
        self.recent = RecentStates(recent)
        self._sleep = sleep
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

    def handle_batch(self, commands: Iterable[BaseCommand | Mapping[str, Any]]) -> list[Outcome]:
        """Run several commands in one transaction (group commit): one fsync for them all.

        Each is decided against the log and the commands before it in the batch; a refused
        one writes nothing of its own and does not stop the others; a command id given twice
        gets the first one's outcome. The outcomes, one per command in order, are returned
        only once the transaction has committed."""
        given = list(commands)
        for attempt in range(self.retries + 1):
            try:
                return self._batch(given)
            except ConcurrencyConflict as error:
                if error.stream_id is None:  # the log stayed busy past its timeout: overload
                    return [Outcome.refused(error)] * len(given)
                if attempt < self.retries:
                    self._pause(attempt)
        # Lost the race as a whole every time: each command on its own, with its own retries.
        return [self.handle(command) for command in given]

    def load(self, order_id: str) -> Order | None:
        """The order as its stream has it now (None if never placed)."""
        return load_order(self.store.read_stream(order_stream(order_id)))[1]

    def policy_of(self, order: Order) -> Policy:
        """The policy version the order was placed under, from the registry or from the log;
        raises `UnknownPolicy`."""
        return pinned_policy(self.store, self.policies, order)

    # -- one command -------------------------------------------------------------------------

    def _with_retries(self, command: BaseCommand) -> Outcome:
        attempt = 0
        while True:
            batch = _Batch()
            try:
                accepted = self._accept(command, batch, prepare=False)
                return self._commit(accepted, batch)
            except ConcurrencyConflict as error:
                self._forget(batch.states)
                if batch.recent:  # a stale recent state: read the log at once (no race lost)
                    continue
                # A busy log was waited for already (its busy timeout): that is overload.
                if error.stream_id is None or attempt == self.retries:
                    raise
                self._pause(attempt)
                attempt += 1

    def _commit(self, accepted: _Accepted, batch: _Batch) -> Outcome:
        """Append every stream the command touches in one transaction, with its command id."""
        result = self.store.append_streams(
            accepted.appends, command_id=accepted.command.command_id, outcome=accepted.stored
        )
        if result.duplicate:  # another process recorded this command id meanwhile
            self._forget(batch.states)
            return _replayed(result.outcome, result.events, fingerprint(accepted.command))
        self._remember(batch)
        return attrs.evolve(accepted.outcome, recorded=result.events)

    def _pause(self, attempt: int) -> None:
        self._sleep(self.backoff.delay(attempt))

    # -- a batch -----------------------------------------------------------------------------

    def _batch(self, given: list[BaseCommand | Mapping[str, Any]]) -> list[Outcome]:
        """One attempt at a batch: decide each command on the states the earlier ones left,
        append all in one transaction, then give each its outcome."""
        batch = _Batch()
        slots: list[Outcome | _Accepted | _SameId] = []
        accepted: list[_Accepted] = []
        for item in given:
            try:
                slot = self._batch_entry(item, batch, len(accepted))
            except DomainError as error:
                slot = Outcome.refused(error)
            except InvalidAppend as error:
                slot = Outcome.refused(InvalidCommand(error.message))
            except ConcurrencyConflict:
                self._forget(batch.states)
                raise
            if isinstance(slot, _Accepted):
                accepted.append(slot)
            slots.append(slot)
        try:
            results = self.store.append_batch([e.prepared for e in accepted if e.prepared])
        except ConcurrencyConflict:
            self._forget(batch.states)
            raise
        self._remember(batch)
        written: dict[int, Outcome] = {}
        for index, (entry, result) in enumerate(zip(accepted, results, strict=True)):
            if result.duplicate:  # recorded by another process meanwhile
                self._forget({write.stream: None for write in entry.writes})
                written[index] = _replayed(
                    result.outcome, result.events, fingerprint(entry.command)
                )
            else:
                written[index] = attrs.evolve(entry.outcome, recorded=result.events)
        outcomes: list[Outcome] = []
        index = 0
        for slot in slots:
            if isinstance(slot, _Accepted):
                outcomes.append(written[index])
                index += 1
            elif isinstance(slot, _SameId):
                outcomes.append(attrs.evolve(written[slot.first], duplicate=True))
            else:
                outcomes.append(slot)
        return outcomes

    def _batch_entry(
        self, item: BaseCommand | Mapping[str, Any], batch: _Batch, position: int
    ) -> Outcome | _Accepted | _SameId:
        """Decide one command of a batch: the first outcome of a command id recorded before
        (or given earlier in the batch), else what it will write."""
        command = item if isinstance(item, BaseCommand) else parse_command(item)
        if command.command_id is None:
            return self._accept(command, batch)
        asked = fingerprint(command)
        earlier = batch.ids.get(command.command_id)
        if earlier is not None:
            first, seen = earlier
            _replayed({"fingerprint": seen}, (), asked)  # raises unless the same command
            return _SameId(first)
        prior = self.store.recorded(command.command_id)
        if prior is not None:
            return _replayed(prior.outcome, prior.events, asked)
        accepted = self._accept(command, batch)
        batch.ids[command.command_id] = (position, asked)
        return accepted

    # -- deciding on what is known ------------------------------------------------------------

    def _accept(self, command: BaseCommand, batch: _Batch, *, prepare: bool = True) -> _Accepted:
        """Plan the command on what `batch` knows, `prepare` its append (validate and encode
        it now, for a batch), and move `batch` on to the states it leaves. Raises the refusal
        (`DomainError`, `InvalidAppend`)."""
        writes = self._plan(command, batch)
        placed = next((e for w in writes for e in w.events if isinstance(e, OrderPlaced)), None)
        if placed is not None:
            policy = self.policies.current(placed.policy)
            writes = self._policy_record(policy, placed.at, batch) + writes
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
        stored = None
        if command.command_id is not None:  # only a command id keeps its outcome
            stored = {**outcome.as_dict(), "fingerprint": fingerprint(command)}
        prepared = None
        if prepare:
            prepared = self.store.prepare_append(appends, command.command_id, stored)
        for write in writes:
            self._advance(write, batch)
        return _Accepted(command, appends, stored, prepared, outcome, writes)

    def _plan(self, command: BaseCommand, batch: _Batch) -> list[Write]:
        """The command's writes. A refusal decided on a recent state is confirmed against the
        log first: if the stream moved meanwhile, `ConcurrencyConflict` has it decided again."""
        try:
            return plan(command, self._read(command, batch), self.policies)
        except DomainError:
            for stream, version in batch.recent.items():
                if self.store.stream_version(stream) != version:
                    self.recent.drop(stream)
                    raise ConcurrencyConflict(
                        f"stream {stream} moved on since it was last read", stream_id=stream
                    ) from None
            raise

    def _read(self, command: BaseCommand, batch: _Batch) -> Loaded:
        """What `plan` needs: the subscription and the order the command names."""
        if isinstance(command, StartSubscription | RenewSubscription | CancelSubscription):
            subscription = self._known(subscription_stream(command.subscription_id), batch)
            order_id = getattr(command, "order_id", None)  # the order a start or renewal places
            placed = self._known(order_stream(order_id), batch).version if order_id else 0
            assert subscription.state is None or isinstance(subscription.state, Subscription)
            return Loaded(
                subscription=subscription.state,
                subscription_version=subscription.version,
                order_version=placed,
            )
        assert isinstance(command, Command), f"unhandled command {type(command).__name__}"
        order = self._known(order_stream(command.order_id), batch)
        assert order.state is None or isinstance(order.state, Order)
        return Loaded(order=order.state, order_version=order.version, order_policy=order.policy)

    def _known(self, stream: str, batch: _Batch) -> Known:
        """An order's or subscription's state: as the batch left it, else a recent one, else
        folded from the log."""
        known = batch.states.get(stream)
        if known is None:
            known = self.recent.get(stream)
            if known is not None:
                batch.recent[stream] = known.version
            else:
                known = self._load(stream)
            batch.states[stream] = known
        return known

    def _load(self, stream: str) -> Known:
        recorded = self.store.read_stream(stream)
        if stream.startswith(order_stream("")):
            order = load_order(recorded)[1]
            return Known(order, len(recorded), None if order is None else self.policy_of(order))
        subscription = rebuild_subscription(
            e for e in map(from_recorded, recorded) if isinstance(e, SubscriptionEvent)
        )
        return Known(subscription, len(recorded))

    def _advance(self, write: Write, batch: _Batch) -> None:
        """Move the batch's state of `write.stream` past the write (folding the events just
        decided: nothing written is decoded again), and note a recorded policy version."""
        known = batch.states.get(write.stream)
        state = known.state if known is not None else None
        version = write.expected + len(write.events)
        policy = known.policy if known is not None else None
        for event in write.events:
            if isinstance(event, OrderEvent):
                state = evolve(state if isinstance(state, Order) else None, event)
            elif isinstance(event, SubscriptionEvent):
                state = evolve_subscription(
                    state if isinstance(state, Subscription) else None, event
                )
            elif isinstance(event, PolicyRecorded):
                batch.policies.add((event.name, event.version))
        if isinstance(state, Order) and policy is None:
            policy = self.policy_of(state)
        batch.states[write.stream] = Known(state, version, policy)

    def _remember(self, batch: _Batch) -> None:
        """After a commit: keep the orders' states, and the policy versions now recorded."""
        for stream, known in batch.states.items():
            if isinstance(known.state, Order):
                self.recent.put(stream, known)
        self._recorded_policies |= batch.policies

    def _forget(self, streams: Mapping[str, object]) -> None:
        for stream in streams:
            self.recent.drop(stream)

    def _policy_record(self, policy: Policy, at: datetime, batch: _Batch) -> list[Write]:
        """The policy's text for the log, the first time an order is placed under its version.

        It goes in the order's own transaction (so a refused order writes nothing) and first
        (so a replay meets the policy before the order)."""
        key = (policy.name, policy.version)
        if key in self._recorded_policies or key in batch.policies:
            return []
        stream = policy_stream(policy.name)
        known = batch.states.get(stream)
        if known is None:
            recorded = self.store.read_stream(stream)
            if policy.version in {r.data.get("version") for r in recorded}:
                self._recorded_policies.add(key)
                return []
            known = batch.states[stream] = Known(None, len(recorded))
        event = PolicyRecorded(
            at=at, name=policy.name, version=policy.version, source=policy.source, text=policy.text
        )
        return [Write(stream, (event,), known.version)]


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
