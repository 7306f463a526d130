"""The event store against a list in memory: random appends to a few streams (right, wrong and
any expected versions, several streams at once, replayed command ids, malformed batches), and
after every step the store must read, verify and number exactly as the list says."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from eventstore import (
    ANY_VERSION,
    NO_STREAM,
    AppendResult,
    ConcurrencyConflict,
    EventStore,
    HeadDigest,
    InMemoryEventStore,
    InvalidAppend,
    MemoryDatabase,
    NewEvent,
    RecordedEvent,
    SQLiteEventStore,
    StreamAppend,
)
from tests.strategies import STREAMS, expected_versions, json_objects, new_events
from tests.support import T0

_batches = st.lists(new_events(), min_size=1, max_size=3)
_command_ids = st.none() | st.sampled_from(["cmd-1", "cmd-2", "cmd-3", "cmd-4", "cmd-5"])


def _conflicts(expected: Any, actual: int) -> bool:
    """Whether a stream at `actual` refuses an append expecting `expected` (the model's rule)."""
    if expected is ANY_VERSION:
        return False
    if expected is NO_STREAM:
        return actual != 0
    return bool(expected != actual)


class StoreModel(RuleBasedStateMachine):
    """Appends go to the store and, when the model says they succeed, to `self.log` too."""

    def __init__(self) -> None:
        super().__init__()
        self.ticks = 0
        self.store, self.reader = self.open_stores()  # the reader sees every commit

        self.log: list[tuple[str, int, NewEvent, datetime]] = []
        self.commands: dict[str, AppendResult] = {}
        self.digest = self.store.head()

    def open_stores(self) -> tuple[EventStore, EventStore]:
        """The store under test, and a second store (connection) on the same log."""
        name = uuid.uuid4().hex
        return (
            SQLiteEventStore.in_memory(name, clock=self._clock),
            SQLiteEventStore.in_memory(name),
        )

    def _clock(self) -> datetime:
        self.ticks += 1
        return T0 + timedelta(seconds=self.ticks)

    def teardown(self) -> None:
        self.store.close()
        self.reader.close()

    def version(self, stream: str) -> int:
        return sum(1 for entry in self.log if entry[0] == stream)

    # -- steps ---------------------------------------------------------------------------------

    @rule(data=st.data(), stream=st.sampled_from(STREAMS), events=_batches, command_id=_command_ids)
    def append(
        self, data: st.DataObject, stream: str, events: list[NewEvent], command_id: str | None
    ) -> None:
        expected = data.draw(expected_versions(self.version(stream)), label="expected")
        self._write([StreamAppend(stream, events, expected)], command_id, data)

    @rule(
        data=st.data(),
        streams=st.lists(st.sampled_from(STREAMS), min_size=2, max_size=3, unique=True),
        command_id=_command_ids,
    )
    def append_to_several_streams(
        self, data: st.DataObject, streams: list[str], command_id: str | None
    ) -> None:
        appends = [
            StreamAppend(
                stream,
                data.draw(_batches, label=f"events for {stream}"),
                data.draw(expected_versions(self.version(stream)), label=f"expected {stream}"),
            )
            for stream in streams
        ]
        self._write(appends, command_id, data)

    @precondition(lambda self: self.commands)
    @rule(data=st.data(), stream=st.sampled_from(STREAMS), events=_batches)
    def replay_a_command_id(self, data: st.DataObject, stream: str, events: list[NewEvent]) -> None:
        """Other events under a recorded command id: the first result comes back, nothing new."""
        command_id = data.draw(st.sampled_from(sorted(self.commands)), label="command id")
        self._write([StreamAppend(stream, events, ANY_VERSION)], command_id, data)

    @rule(data=st.data(), stream=st.sampled_from(STREAMS), event=new_events())
    def malformed_append(self, data: st.DataObject, stream: str, event: NewEvent) -> None:
        """A batch the store must refuse as a whole before writing anything."""
        broken: Sequence[StreamAppend] = data.draw(
            st.sampled_from(
                [
                    [],
                    [StreamAppend(stream, [])],
                    [StreamAppend(stream, [event]), StreamAppend(stream, [event])],
                    [StreamAppend("", [event])],
                    [StreamAppend("s" * 201, [event])],
                    [StreamAppend(stream, [replace(event, occurred_at=datetime(2026, 3, 2))])],
                    [StreamAppend(stream, [replace(event, data={"amount": 9.99})])],
                    [StreamAppend(stream, [replace(event, metadata={"at": T0})])],
                    [StreamAppend(stream, [replace(event, schema_version=0)])],
                    [StreamAppend(stream, [replace(event, type="")])],
                    [StreamAppend(stream, [event], -1)],
                ]
            ),
            label="malformed batch",
        )
        before = self.store.head()
        # A recorded command id would return its first result for an expected version of -1:
        # that one check comes after the replay lookup (see the report on the store).
        command_id = data.draw(st.none() | st.just("cmd-unused"), label="command id")
        with pytest.raises(InvalidAppend):
            self.store.append_streams(broken, command_id=command_id)
        assert self.store.head() == before

    @rule(
        first=st.integers(-1, 40),
        last=st.none() | st.integers(0, 40),
        batch_size=st.integers(1, 5),
    )
    def read_a_slice(self, first: int, last: int | None, batch_size: int) -> None:
        """Any slice, in any batch size, is the model's slice."""
        got = list(self.reader.read_all(first, to_position=last, batch_size=batch_size))
        end = len(self.log) if last is None else min(last, len(self.log))
        assert [e.position for e in got] == list(range(max(first, 1), end + 1))
        for event in got:
            self._check(event, event.position)

    # -- the model's verdict on a write --------------------------------------------------------

    def _write(
        self, appends: list[StreamAppend], command_id: str | None, data: st.DataObject
    ) -> None:
        outcome = data.draw(st.none() | json_objects, label="outcome")
        before = self.store.head()
        if command_id in self.commands:
            result = self.store.append_streams(appends, command_id=command_id, outcome=outcome)
            first = self.commands[command_id]
            assert result.duplicate
            assert (result.events, result.outcome) == (first.events, first.outcome)
            assert self.store.head() == before
            return
        if any(_conflicts(a.expected_version, self.version(a.stream_id)) for a in appends):
            with pytest.raises(ConcurrencyConflict):
                self.store.append_streams(appends, command_id=command_id, outcome=outcome)
            assert self.store.head() == before
            return
        result = self.store.append_streams(appends, command_id=command_id, outcome=outcome)
        self._accepted(appends, result, before, command_id, outcome)
        if command_id is not None:
            self.commands[command_id] = result
            assert result.outcome == outcome

    def _accepted(
        self,
        appends: list[StreamAppend],
        result: AppendResult,
        before: HeadDigest,
        command_id: str | None,
        outcome: dict[str, Any] | None,
    ) -> None:
        assert not result.duplicate
        recorded_at = {event.recorded_at for event in result.events}
        assert len(recorded_at) == 1, "one append, one recorded time"
        [moment] = recorded_at
        stamp: dict[str, Any] = {} if command_id is None else {"command_id": command_id}
        if command_id is not None and outcome is not None:
            stamp["outcome"] = outcome  # on the first event only: the ledger, hash-chained
        for append in appends:
            version = self.version(append.stream_id)
            for event in append.events:
                version += 1
                stamped = replace(event, metadata={**event.metadata, **stamp})
                stamp.pop("outcome", None)
                self.log.append((append.stream_id, version, stamped, moment))
        assert [e.position for e in result.events] == list(
            range(before.position + 1, len(self.log) + 1)
        )
        for recorded in result.events:
            self._check(recorded, recorded.position)

    def _check(self, event: RecordedEvent, position: int) -> None:
        """A recorded event is what the model holds at `position`."""
        stream, version, new, recorded_at = self.log[position - 1]
        assert (event.stream_id, event.stream_version) == (stream, version)
        assert (event.type, event.schema_version) == (new.type, new.schema_version)
        assert (event.data, event.metadata) == (new.data, new.metadata)
        assert event.occurred_at == new.occurred_at
        assert event.recorded_at == recorded_at

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def the_whole_log_is_the_model(self) -> None:
        events = list(self.reader.read_all())
        assert [e.position for e in events] == list(range(1, len(self.log) + 1))
        for event in events:
            self._check(event, event.position)
        head = self.reader.head()
        assert head.position == len(self.log)
        if events:
            assert head.hash == events[-1].hash

    @invariant()
    def every_stream_is_contiguous_and_matches(self) -> None:
        for stream in STREAMS:
            events = self.reader.read_stream(stream)
            assert [e.stream_version for e in events] == list(range(1, len(events) + 1))
            assert len(events) == self.version(stream) == self.reader.stream_version(stream)
            for event in events:
                self._check(event, event.position)

    @invariant()
    def the_chain_verifies_and_extends_what_was_seen(self) -> None:
        report = self.reader.verify(self.digest)
        assert report.ok, report.problem
        assert report.checked == len(self.log)
        self.digest = report.head

    @invariant()
    def recorded_commands_return_their_first_result(self) -> None:
        for command_id, first in self.commands.items():
            recorded = self.reader.recorded(command_id)
            assert recorded is not None
            assert recorded.events == first.events
            assert recorded.outcome == first.outcome


class PlainMemoryStoreModel(StoreModel):
    """The same model against the plain in-memory backend."""

    def open_stores(self) -> tuple[EventStore, EventStore]:
        database = MemoryDatabase()
        return InMemoryEventStore(database, clock=self._clock), InMemoryEventStore(database)


StoreModel.TestCase.settings = settings(stateful_step_count=25)
PlainMemoryStoreModel.TestCase.settings = settings(stateful_step_count=25)
TestStoreModel = StoreModel.TestCase
TestPlainMemoryStoreModel = PlainMemoryStoreModel.TestCase


def test_text_that_utf8_cannot_carry_is_refused_as_an_invalid_append() -> None:
    store = SQLiteEventStore.in_memory()
    with pytest.raises(InvalidAppend):
        store.append("order-a", [NewEvent("Happened", {"note": "\ud800"}, T0)])
    assert store.head().position == 0


def test_a_log_still_extends_the_digest_it_had_when_empty() -> None:
    store = SQLiteEventStore.in_memory()
    empty = store.head()
    assert store.verify(empty).ok
    store.append("order-a", [NewEvent("Happened", {}, T0)])
    assert store.verify(empty).ok


@pytest.mark.parametrize("key", ["command_id", "outcome"])
def test_the_stores_own_metadata_keys_are_refused_from_callers(key: str) -> None:
    store = SQLiteEventStore.in_memory()
    event = NewEvent("Happened", {}, T0, metadata={key: "mine"})
    for command_id in (None, "c1"):
        with pytest.raises(InvalidAppend, match="are the store's"):
            store.append("order-a", [event], command_id=command_id)
    assert store.head().position == 0


def test_a_bad_expected_version_is_refused_even_for_a_known_command_id() -> None:
    store = SQLiteEventStore.in_memory()
    store.append("order-a", [NewEvent("Happened", {}, T0)], command_id="c1")
    with pytest.raises(InvalidAppend, match="expected version"):
        store.append("order-a", [NewEvent("Happened", {}, T0)], -1, command_id="c1")
