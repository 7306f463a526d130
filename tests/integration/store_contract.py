"""The event store contract: every backend runs this whole suite (see test_store_backends.py).

A backend's test class subclasses `EventStoreContract` and says how to open a store (every call a
new store on the same database) and how an attacker edits its storage (the tamper hooks).
"""

from __future__ import annotations

import abc
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from eventstore import (
    ANY_VERSION,
    NO_STREAM,
    ChainKey,
    ConcurrencyConflict,
    CorruptLog,
    EventStore,
    HeadDigest,
    InvalidAppend,
    InvalidKey,
    NewEvent,
    StoredRow,
    StreamAppend,
    Upcasters,
    WrongKey,
)
from eventstore.codec import GENESIS_HASH
from eventstore.rows import row_hash
from tests.support import T0, at, stress_scale

SHOP_KEY = b"the shop's own secret, 32 bytes!"
OTHER_KEY = b"somebody else's key, also long.."


def event(kind: str = "Happened", **data: Any) -> NewEvent:
    return NewEvent(kind, data, T0, metadata={"actor": "test"})


def events(count: int, kind: str = "Happened") -> list[NewEvent]:
    return [event(kind, n=n) for n in range(count)]


class EventStoreContract(abc.ABC):
    """Behaviour every event store backend must have."""

    supports_processes = False
    snapshots_block_writers = False
    """True where a writer cannot commit while a reader holds a snapshot (no WAL)."""

    @abc.abstractmethod
    def open_store(self, **options: Any) -> EventStore:
        """A store on this test's database (the same database every call)."""

    # -- how an attacker (or a fault) edits this backend's storage: each backend says ----------

    @abc.abstractmethod
    def hold_write_lock(self) -> AbstractContextManager[None]:
        """Hold the log's write lock from elsewhere for the duration of a block."""

    @abc.abstractmethod
    def edit_row(self, position: int, /, **columns: Any) -> None:
        """Change columns of the stored row at `position` (its position too), bypassing every
        protection the backend has; values may be of any type."""

    @abc.abstractmethod
    def delete_rows(self, *positions: int) -> None:
        """Remove the stored rows at `positions`, bypassing every protection."""

    @abc.abstractmethod
    def insert_row(self, row: StoredRow) -> None:
        """Force a row into storage, bypassing every protection."""

    @abc.abstractmethod
    def forge_ledger(self, command_id: str, first: int, last: int) -> None:
        """Add a command-ledger entry by hand."""

    @abc.abstractmethod
    def clear_ledger(self) -> None:
        """Remove every command-ledger entry by hand."""

    def run_writer_processes(self, writers: int, per_writer: int) -> None:
        """Backends with `supports_processes` run `write_events` in separate processes."""
        raise NotImplementedError

    @pytest.fixture
    def store(self) -> Iterator[EventStore]:
        store = self.open_store()
        yield store
        store.close()

    # -- appending -----------------------------------------------------------------------------

    def test_an_empty_log_has_head_zero(self, store: EventStore) -> None:
        assert store.head().position == 0
        assert store.stream_version("order-1") == 0
        assert list(store.read_all()) == []
        assert store.verify().ok

    def test_appended_events_get_positions_and_stream_versions(self, store: EventStore) -> None:
        store.append("order-1", events(2), NO_STREAM)
        result = store.append("order-2", events(1), NO_STREAM)
        store.append("order-1", events(1), 2)
        assert result.events[0].position == 3
        assert [(e.stream_id, e.stream_version) for e in store.read_all()] == [
            ("order-1", 1),
            ("order-1", 2),
            ("order-2", 1),
            ("order-1", 3),
        ]
        assert store.stream_version("order-1") == 3
        assert [e.data["n"] for e in store.read_stream("order-1", from_version=2)] == [1, 0]

    def test_recorded_events_keep_type_data_metadata_and_time(self, store: EventStore) -> None:
        placed = NewEvent(
            "OrderPlaced", {"total": 1999, "lines": [{"sku": "é"}]}, at(1), 2, {"actor": "a"}
        )
        [recorded] = store.append("order-1", [placed]).events
        [read] = store.read_stream("order-1")
        assert read == recorded
        assert (read.type, read.schema_version, read.data, read.metadata) == (
            "OrderPlaced",
            2,
            {"total": 1999, "lines": [{"sku": "é"}]},
            {"actor": "a"},
        )
        assert read.occurred_at == at(1)
        assert read.recorded_at.tzinfo is not None

    def test_a_batch_is_all_or_nothing(self, store: EventStore) -> None:
        store.append("order-1", events(1))
        bad = [event(n=1), NewEvent("Happened", {"amount": 9.99}, T0), event(n=3)]
        with pytest.raises(InvalidAppend, match="float"):
            store.append("order-1", bad)
        assert store.head().position == 1
        assert store.stream_version("order-1") == 1

    def test_a_multi_stream_append_is_one_transaction(self, store: EventStore) -> None:
        store.append("subscription-1", events(1))
        result = store.append_streams(
            [
                StreamAppend("order-7", events(2), NO_STREAM),
                StreamAppend("subscription-1", events(1), 1),
            ]
        )
        assert [(e.stream_id, e.position) for e in result.events] == [
            ("order-7", 2),
            ("order-7", 3),
            ("subscription-1", 4),
        ]
        with pytest.raises(ConcurrencyConflict):
            store.append_streams(
                [
                    StreamAppend("order-8", events(1), NO_STREAM),
                    StreamAppend("subscription-1", events(1), 1),  # stale: it is at 2
                ]
            )
        assert store.stream_version("order-8") == 0
        assert store.head().position == 4

    @pytest.mark.parametrize(
        ("expected", "conflicts"),
        [(NO_STREAM, True), (0, True), (1, True), (2, False), (3, True), (ANY_VERSION, False)],
    )
    def test_expected_version_is_checked(
        self, store: EventStore, expected: Any, conflicts: bool
    ) -> None:
        store.append("order-1", events(2))
        if conflicts:
            with pytest.raises(ConcurrencyConflict) as raised:
                store.append("order-1", events(1), expected)
            assert raised.value.code == "concurrency_conflict"
            assert store.stream_version("order-1") == 2
        else:
            store.append("order-1", events(1), expected)
            assert store.stream_version("order-1") == 3

    @pytest.mark.parametrize(
        ("bad", "message"),
        [
            (NewEvent("Happened", {}, datetime(2026, 1, 1)), "timezone"),
            (NewEvent("Happened", {"x": float("nan")}, T0), "float"),
            (NewEvent("Happened", {"x": {1, 2}}, T0), "set"),
            (NewEvent("Happened", {1: "x"}, T0), "non-text key"),  # type: ignore[dict-item]
            (NewEvent("Happened", [], T0), "JSON object"),  # type: ignore[arg-type]
            (NewEvent("", {}, T0), "event type"),
            (NewEvent("Happened", {}, T0, schema_version=0), "schema version"),
            (NewEvent("Happened", {}, T0, metadata={"at": T0}), "datetime"),
        ],
    )
    def test_malformed_events_are_refused_and_nothing_is_written(
        self, store: EventStore, bad: NewEvent, message: str
    ) -> None:
        with pytest.raises(InvalidAppend, match=message) as raised:
            store.append("order-1", [event(), bad])
        assert raised.value.code == "invalid_append"
        assert store.head().position == 0

    def test_malformed_appends_are_refused(self, store: EventStore) -> None:
        with pytest.raises(InvalidAppend, match="no events"):
            store.append("order-1", [])
        with pytest.raises(InvalidAppend, match="stream id"):
            store.append("x" * 201, events(1))
        with pytest.raises(InvalidAppend, match="twice"):
            store.append_streams([StreamAppend("a", events(1)), StreamAppend("a", events(1))])
        with pytest.raises(InvalidAppend, match="expected version"):
            store.append("order-1", events(1), -1)
        assert store.head().position == 0

    # -- idempotency ---------------------------------------------------------------------------

    def test_a_repeated_command_id_returns_the_first_result_and_writes_nothing(
        self, store: EventStore
    ) -> None:
        first = store.append("order-1", events(2), NO_STREAM, command_id="cmd-1", outcome={"ok": 1})
        again = store.append("order-1", events(5), NO_STREAM, command_id="cmd-1", outcome={"ok": 2})
        assert not first.duplicate
        assert again.duplicate
        assert again.events == first.events
        assert again.outcome == {"ok": 1}
        assert store.head().position == 2
        assert store.recorded("cmd-1") == again

    def test_an_unknown_command_id_has_no_recorded_result(self, store: EventStore) -> None:
        store.append("order-1", events(1), command_id="cmd-1")
        assert store.recorded("cmd-2") is None

    def test_a_refused_append_does_not_record_its_command_id(self, store: EventStore) -> None:
        store.append("order-1", events(1))
        with pytest.raises(ConcurrencyConflict):
            store.append("order-1", events(1), NO_STREAM, command_id="cmd-1")
        assert store.recorded("cmd-1") is None
        assert store.append("order-1", events(1), 1, command_id="cmd-1").events[0].position == 2

    def test_command_ids_are_shared_between_connections(self, store: EventStore) -> None:
        store.append("order-1", events(1), command_id="cmd-1")
        other = self.open_store()
        try:
            assert other.append("order-1", events(1), command_id="cmd-1").duplicate
        finally:
            other.close()
        assert store.head().position == 1

    # -- concurrency ---------------------------------------------------------------------------

    def test_the_second_of_two_connections_writing_from_the_same_version_loses(
        self, store: EventStore
    ) -> None:
        store.append("order-1", events(1))
        other = self.open_store()
        try:
            seen_here, seen_there = store.stream_version("order-1"), other.stream_version("order-1")
            store.append("order-1", events(1), seen_here)
            with pytest.raises(ConcurrencyConflict, match="someone else wrote first"):
                other.append("order-1", events(1), seen_there)
        finally:
            other.close()
        assert [e.stream_version for e in store.read_stream("order-1")] == [1, 2]

    def test_racing_threads_creating_one_stream_have_exactly_one_winner(self) -> None:
        self.open_store().close()  # create the schema before the race
        barrier = threading.Barrier(4)
        outcomes: list[str] = []

        def race() -> None:
            store = self.open_store()  # a connection of its own, as separate workers have
            try:
                barrier.wait()
                store.append("order-1", events(3), NO_STREAM)
                outcomes.append("won")
            except ConcurrencyConflict:
                outcomes.append("lost")
            finally:
                store.close()

        threads = [threading.Thread(target=race) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["lost", "lost", "lost", "won"]
        check = self.open_store()
        assert check.head().position == 3
        assert check.verify().ok
        check.close()

    def test_a_writer_that_cannot_get_the_lock_gets_a_conflict_not_locked(self) -> None:
        holder = self.open_store()
        waiter = self.open_store(busy_timeout=0.05)
        try:
            holder.append("order-1", events(1))
            with self.hold_write_lock(), pytest.raises(ConcurrencyConflict, match="busy"):
                waiter.append("order-2", events(1))
            assert waiter.stream_version("order-2") == 0
            waiter.append("order-2", events(1))
        finally:
            holder.close()
            waiter.close()

    @pytest.mark.slow
    def test_concurrent_writers_leave_gap_free_positions(self) -> None:
        per_writer = 150 * stress_scale()
        run_writers(self, writers=2, per_writer=per_writer)
        store = self.open_store()
        try:
            positions = [e.position for e in store.read_all()]
            assert positions == list(range(1, 2 * per_writer + 1))
            for writer in range(2):
                versions = [e.stream_version for e in store.read_stream(f"writer-{writer}")]
                assert versions == list(range(1, per_writer // 2 + 1))
            assert store.verify().ok
        finally:
            store.close()

    # -- inline listeners and upcasting --------------------------------------------------------

    def test_upcasters_bring_old_payloads_to_the_current_schema_on_read(self) -> None:
        upcasters = Upcasters()
        upcasters.register("OrderPlaced", 1, lambda d: {**d, "currency": "USD"})
        upcasters.register(
            "OrderPlaced", 2, lambda d: {"total": d["amount"], "currency": d["currency"]}
        )
        plain = self.open_store()
        plain.append("order-1", [NewEvent("OrderPlaced", {"amount": 500}, T0, schema_version=1)])
        plain.append("order-1", [NewEvent("OrderPlaced", {"total": 7, "currency": "EUR"}, T0, 3)])
        plain.close()
        store = self.open_store(upcasters=upcasters)
        try:
            read = store.read_stream("order-1")
            assert [(e.schema_version, e.data) for e in read] == [
                (3, {"total": 500, "currency": "USD"}),
                (3, {"total": 7, "currency": "EUR"}),
            ]
            assert [e.data for e in store.read_all()] == [e.data for e in read]
            [first_row, _] = list(store.read_rows())
            assert (first_row.schema_version, first_row.data) == (1, '{"amount":500}')
            assert store.verify().ok
        finally:
            store.close()

    def test_registering_an_upcaster_twice_is_refused(self) -> None:
        upcasters = Upcasters()
        upcasters.register("OrderPlaced", 1, dict)
        with pytest.raises(ValueError, match="already registered"):
            upcasters.register("OrderPlaced", 1, dict)

    # -- reading in batches --------------------------------------------------------------------

    def test_read_all_slices_by_position(self, store: EventStore) -> None:
        store.append("order-1", events(10))
        assert [e.position for e in store.read_all(4, to_position=6)] == [4, 5, 6]
        assert [e.position for e in store.read_all(9, batch_size=1)] == [9, 10]
        assert [e.position for e in store.read_all(11)] == []
        with pytest.raises(ValueError, match="batch_size"):
            list(store.read_all(batch_size=0))

    def test_read_all_does_not_run_past_the_head_it_started_at(self, store: EventStore) -> None:
        store.append("order-1", events(3))
        reader = store.read_all(batch_size=1)
        next(reader)
        store.append("order-1", events(3))
        assert [e.position for e in reader] == [2, 3]

    @pytest.mark.slow
    def test_reading_a_large_log_in_batches_keeps_memory_flat(self, store: EventStore) -> None:
        total = 20_000 * stress_scale()
        for start in range(0, total, 2000):
            store.append_streams(
                [
                    StreamAppend(f"order-{start + n}", [event(n=n, sku="SKU-12345")])
                    for n in range(2000)
                ]
            )
        small = _peak_while_reading(store, total // 10)
        large = _peak_while_reading(store, total)
        # The peak is one batch of events, whatever the log's length.
        assert large < small * 1.5 + 64 * 1024, (small, large)
        assert large < 4 * 1024 * 1024, large

    # -- tamper evidence -----------------------------------------------------------------------

    def test_verify_passes_an_intact_log_and_checks_every_link(self, store: EventStore) -> None:
        _fill(store)
        report = store.verify()
        assert report.ok
        assert report.checked == 9
        assert report.head == store.head()

    def test_verify_finds_an_edited_payload(self, store: EventStore) -> None:
        _fill(store)
        self.edit_row(5, data='{"n":99}')
        report = store.verify()
        assert not report.ok
        assert report.problem is not None
        assert (report.problem.position, report.problem.kind) == (5, "hash_mismatch")
        assert report.checked == 4

    def test_verify_finds_an_edited_recorded_time(self, store: EventStore) -> None:
        _fill(store)
        self.edit_row(9, recorded_at="2020-01-01T00:00:00.000000+00:00")
        problem = store.verify().problem
        assert problem is not None
        assert problem.position == 9

    def test_verify_finds_a_deleted_row(self, store: EventStore) -> None:
        _fill(store)
        self.delete_rows(4)
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (5, "position_gap")
        assert "position 4 is missing" in problem.message

    def test_verify_finds_swapped_rows(self, store: EventStore) -> None:
        _fill(store)
        self.edit_row(3, position=-1)
        self.edit_row(6, position=3)
        self.edit_row(-1, position=6)
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (3, "hash_mismatch")

    def test_verify_finds_a_stream_gap_even_when_the_attacker_rehashes(
        self, store: EventStore
    ) -> None:
        _fill(store)
        digest = store.head()
        # Remove order-2's second event and rebuild a perfectly consistent chain after it.
        self.delete_rows(store.read_stream("order-2")[1].position)
        self._rechain(store)
        report = store.verify()
        assert report.problem is not None
        assert report.problem.kind == "stream_version_gap"
        assert "version 3 of order-2" in report.problem.message
        # And the auditor's digest shows the rewrite too.
        assert not store.verify(digest).ok

    def test_a_kept_head_digest_is_extended_by_later_appends(self, store: EventStore) -> None:
        _fill(store)
        digest = HeadDigest.parse(str(store.head()))
        store.append("order-9", events(2))
        assert store.verify(digest).ok

    def test_a_kept_head_digest_catches_a_truncated_log(self, store: EventStore) -> None:
        _fill(store)
        digest = store.head()
        self.delete_rows(8, 9)
        report = store.verify(digest)
        assert report.problem is not None
        assert (report.problem.kind, report.problem.position) == ("truncated", 9)

    def test_a_kept_head_digest_catches_a_rewritten_log(self, store: EventStore) -> None:
        _fill(store)
        digest = store.head()
        self.edit_row(2, data='{"n":42}')
        self._rechain(store)
        assert store.verify().ok  # internally consistent again...
        report = store.verify(digest)
        assert report.problem is not None
        assert report.problem.kind == "digest_mismatch"  # ...but not the log the auditor saw

    def test_a_row_forced_in_before_position_one_is_found(self, store: EventStore) -> None:
        _fill(store)
        [first] = store.read_rows(1, to_position=1)
        self.insert_row(first._replace(position=0, stream_id="order-forged"))
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (0, "outside_chain")

    def test_the_command_id_and_outcome_are_kept_inside_the_chain(self, store: EventStore) -> None:
        result = store.append("order-1", events(2), command_id="c1", outcome={"ok": True})
        assert [e.metadata["command_id"] for e in result.events] == ["c1", "c1"]
        assert result.events[0].metadata["outcome"] == {"ok": True}
        assert "outcome" not in result.events[1].metadata
        with pytest.raises(InvalidAppend, match="are the store's"):
            store.append(
                "order-2", [NewEvent("X", {}, T0, metadata={"command_id": "c9"})], command_id="c2"
            )

    def test_verify_finds_a_forged_ledger_entry(self, store: EventStore) -> None:
        store.append("order-1", events(2), command_id="c1", outcome={"ok": True})
        store.append("order-2", events(1))
        self.forge_ledger("c2", 3, 3)
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (3, "ledger_mismatch")
        with pytest.raises(CorruptLog):
            store.recorded("c2")

    def test_verify_finds_a_deleted_ledger_entry(self, store: EventStore) -> None:
        store.append("order-1", events(1))
        store.append("order-2", events(2), command_id="c1")
        self.clear_ledger()
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (2, "ledger_mismatch")

    # -- damage is always a named problem, never an exception ---------------------------------

    @pytest.mark.parametrize(("deleted", "found"), [(1, 1), (5, 4), (9, 7)])
    def test_one_deleted_row_is_a_named_problem_even_inside_a_command(
        self, store: EventStore, deleted: int, found: int
    ) -> None:
        for n in range(3):
            store.append(f"order-{n}", events(3), command_id=f"c{n}", outcome={"n": n})
        digest = store.head()
        self.delete_rows(deleted)
        for report in (store.verify(), store.verify(digest)):
            assert report.problem is not None
            assert (report.problem.position, report.problem.kind) == (found, "ledger_mismatch")
        with pytest.raises(CorruptLog, match="does not match"):
            store.recorded(f"c{(deleted - 1) // 3}")

    def test_a_digest_beyond_any_position_is_a_truncation_not_a_crash(
        self, store: EventStore
    ) -> None:
        _fill(store)
        digest = HeadDigest.parse(f"{10**30}:{'a' * 64}")
        report = store.verify(digest)
        assert report.problem is not None
        assert (report.problem.position, report.problem.kind) == (10**30, "truncated")
        assert [e.position for e in store.read_all(8, to_position=10**30)] == [8, 9]
        assert store.read_stream("order-1", from_version=10**30) == []

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            ("data", 5),
            ("metadata", b"{}"),
            ("schema_version", "1"),
            ("stream_version", "2"),
            ("hash", None),
            ("occurred_at", 20260302),
        ],
    )
    def test_a_row_with_a_wrong_type_is_a_named_problem(
        self, store: EventStore, column: str, value: Any
    ) -> None:
        _fill(store)
        self.edit_row(3, **{column: value})
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (3, "malformed_row")
        assert column in problem.message

    @pytest.mark.parametrize("control", ["\x00", "\x1f", "\x7f", "\x85", "\x9f"])
    def test_control_characters_are_refused_in_stream_and_command_ids(
        self, store: EventStore, control: str
    ) -> None:
        with pytest.raises(InvalidAppend, match="control characters"):
            store.append(f"order{control}1", events(1))
        with pytest.raises(InvalidAppend, match="control characters"):
            store.append("order-1", events(1), command_id=f"cmd{control}1")
        with pytest.raises(InvalidAppend, match="control characters"):
            store.recorded(f"cmd{control}1")
        assert store.head().position == 0

    def test_text_holding_a_nul_cannot_cut_the_ledger_check_short(self, store: EventStore) -> None:
        noisy = NewEvent("Happened", {"note": "a\x00b"}, T0, metadata={"note": "c\x00\x85d"})
        store.append("order-1", [noisy, noisy], command_id="c1", outcome={"said": "\x00"})
        store.append("order-2", events(1))
        assert store.verify().ok
        assert store.recorded("c1") is not None
        self.forge_ledger("c1\x00", 1, 2)
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (1, "ledger_mismatch")

    def test_a_command_id_spelled_with_escapes_is_still_checked(self, store: EventStore) -> None:
        _fill(store)
        self.edit_row(4, metadata='{"actor":"test","command_id":"c\\u0039"}')
        self._rechain(store)
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (4, "ledger_mismatch")
        assert "command c9" in problem.message

    # -- the keyed chain: a MAC with a key only the shop keeps ----------------------------------

    def test_a_keyed_store_gives_every_event_the_shops_mac(self) -> None:
        store = self.open_store(key=SHOP_KEY)
        try:
            store.append("order-1", events(2), command_id="c1")
            store.append_streams([StreamAppend("order-2", events(1))])
            macs = [row.mac for row in store.read_rows()]
            assert store.key is not None
            assert all(mac and mac.startswith(f"{store.key.key_id}:") for mac in macs)
            assert store.verify().ok
        finally:
            store.close()
        assert self._verifies_without_a_key()  # the chain verifies without the key too

    def test_an_event_appended_without_the_key_fails_verify_with_the_key(self) -> None:
        keyed = self.open_store(key=SHOP_KEY)
        keyed.append("order-1", events(2))
        self.insert_row(self._next_row(keyed))  # a valid link: no key is needed for that
        assert self._verifies_without_a_key()
        problem = keyed.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (3, "mac_missing")
        assert "without the shop's key" in problem.message
        keyed.close()

    def test_a_forged_mac_fails_verify_with_the_key(self) -> None:
        keyed = self.open_store(key=SHOP_KEY)
        keyed.append("order-1", events(2))
        assert keyed.key is not None
        forged = self._next_row(keyed)
        self.insert_row(forged._replace(mac=f"{keyed.key.key_id}:{'ab' * 32}"))
        problem = keyed.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (3, "mac_mismatch")
        keyed.close()

    def test_an_edited_and_rehashed_log_fails_verify_with_the_key(self) -> None:
        keyed = self.open_store(key=SHOP_KEY)
        _fill(keyed)
        self.edit_row(5, data='{"n":99}')
        self._rechain(keyed)  # what anyone can do without the key: the chain verifies again
        assert self._verifies_without_a_key()
        problem = keyed.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (5, "mac_mismatch")
        keyed.close()

    def test_a_wrong_key_is_named_as_such(self) -> None:
        keyed = self.open_store(key=SHOP_KEY)
        _fill(keyed)
        other = self.open_store(key=OTHER_KEY)
        assert keyed.key is not None
        assert other.key is not None
        problem = other.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (1, "wrong_key")
        assert keyed.key.key_id in problem.message
        assert other.key.key_id in problem.message
        keyed.close()
        other.close()

    def test_a_keyed_log_refuses_writers_without_its_key_and_writes_nothing(self) -> None:
        keyed = self.open_store(key=SHOP_KEY)
        keyed.append("order-1", events(1))
        for key in (None, OTHER_KEY):
            writer = self.open_store(key=key)
            with pytest.raises(WrongKey, match="give the shop's key") as raised:
                writer.append("order-1", events(1))
            assert raised.value.code == "wrong_key"
            writer.close()
        assert keyed.head().position == 1
        assert keyed.verify().ok
        keyed.close()

    def test_a_log_keyed_later_is_vouched_for_by_its_first_mac(self) -> None:
        plain = self.open_store()
        plain.append("order-1", events(2))  # before the shop took a key
        keyed = self.open_store(key=SHOP_KEY)
        keyed.append("order-1", events(2))
        assert [row.mac is None for row in keyed.read_rows()] == [True, True, False, False]
        assert keyed.verify().ok
        self.edit_row(1, data='{"n":99}')
        self._rechain(keyed)  # rewriting the unkeyed part changes every later hash
        problem = keyed.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (3, "mac_mismatch")
        keyed.close()
        plain.close()

    def test_an_unkeyed_log_stays_valid_and_fails_only_a_keyed_verify(
        self, store: EventStore
    ) -> None:
        _fill(store)
        assert store.verify().ok
        keyed = self.open_store(key=SHOP_KEY)
        problem = keyed.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (1, "unkeyed_log")
        keyed.close()

    def test_a_short_key_is_refused_and_a_key_never_shows(self) -> None:
        with pytest.raises(InvalidKey, match="at least 16 bytes"):
            self.open_store(key=b"short")
        assert SHOP_KEY.decode() not in repr(ChainKey(SHOP_KEY))

    def _verifies_without_a_key(self) -> bool:
        plain = self.open_store()
        try:
            return plain.verify().ok
        finally:
            plain.close()

    def _next_row(self, store: EventStore) -> StoredRow:
        """A row continuing the log with a valid hash and no MAC: what anyone can forge."""
        last = list(store.read_rows())[-1]
        row = last._replace(
            position=last.position + 1, stream_version=last.stream_version + 1, mac=None
        )
        return row._replace(hash=row_hash(row, last.hash))

    # -- snapshots and what an append hands back -----------------------------------------------

    def test_reads_inside_a_snapshot_see_one_state_of_the_log(self, store: EventStore) -> None:
        store.append("order-1", events(2))
        other = self.open_store(busy_timeout=0.1)
        try:
            with store.snapshot():
                before = store.head()
                if self.snapshots_block_writers:
                    with pytest.raises(ConcurrencyConflict, match="busy"):
                        other.append("order-1", events(1), command_id="c1")
                    return
                other.append("order-1", events(1), command_id="c1")
                with store.snapshot():  # nested: the same state
                    assert store.head() == before
                assert store.stream_version("order-1") == 2
                assert [e.position for e in store.read_all()] == [1, 2]
                assert len(store.read_stream("order-1")) == 2
                assert store.recorded("c1") is None
                assert list(store.stream_ids()) == ["order-1"]
                assert store.verify().checked == 2
            assert store.head().position == 3
            assert store.recorded("c1") is not None
        finally:
            other.close()

    def test_an_append_hands_back_exactly_what_a_read_gives(self, store: EventStore) -> None:
        local = at(1).astimezone(timezone(timedelta(hours=9)))
        given = NewEvent("Happened", {"lines": ("a", "b"), "n": True}, local, metadata={"k": ()})
        [recorded] = store.append("order-1", [given], command_id="c1", outcome={"ok": 1}).events
        [read] = store.read_stream("order-1")
        assert recorded == read
        assert recorded.data == {"lines": ["a", "b"], "n": True}
        assert type(recorded.data["lines"]) is list
        assert recorded.occurred_at.utcoffset() == timedelta(0)
        assert recorded.recorded_at.utcoffset() == timedelta(0)

    def _rechain(self, store: EventStore) -> None:
        """Renumber positions 1..n and recompute every hash: a careful attacker's rewrite."""
        previous = GENESIS_HASH
        for new_position, row in enumerate(list(store.read_rows()), start=1):
            digest = row_hash(row._replace(position=new_position), previous)
            self.edit_row(row.position, position=new_position, hash=digest)
            previous = digest


def _fill(store: EventStore) -> None:
    """Nine events over three interleaved streams."""
    for round_ in range(3):
        for order in range(1, 4):
            store.append(f"order-{order}", [event(n=round_)])


def _peak_while_reading(store: EventStore, count: int) -> int:
    tracemalloc.start()
    try:
        seen = 0
        for _ in store.read_all(to_position=count):
            seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    return peak


def run_writers(contract: EventStoreContract, writers: int, per_writer: int) -> None:
    """Run writers at once (processes where the backend allows, else threads); each appends half
    its events to its own stream and half to a shared one, retrying lost races."""
    if contract.supports_processes:
        contract.run_writer_processes(writers, per_writer)
        return
    threads = [
        threading.Thread(target=write_events, args=(contract.open_store, n, per_writer))
        for n in range(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def write_events(open_store: Callable[[], EventStore], writer: int, count: int) -> int:
    """Append `count` events, one per transaction; returns how many races were lost and retried."""
    store = open_store()
    lost = 0
    try:
        for n in range(count):
            if n % 2:
                store.append(f"writer-{writer}", [event(n=n)])
                continue
            while True:
                version = store.stream_version("shared")
                try:
                    store.append("shared", [event(n=n, writer=writer)], version)
                    break
                except ConcurrencyConflict:
                    lost += 1
    finally:
        store.close()
    return lost


class SQLSchemaContract(EventStoreContract):
    """What every SQL backend's verify says of its tables edited by hand: the backend's test
    class says how an attacker with raw SQL runs statements (`tamper`)."""

    @abc.abstractmethod
    def tamper(self, *statements: str) -> None:
        """Run raw SQL against the log's tables, as their owner would."""

    def test_verify_reports_a_table_replaced_by_a_view(self, store: EventStore) -> None:
        _fill(store)
        self.tamper("ALTER TABLE events RENAME TO kept", "CREATE VIEW events AS SELECT * FROM kept")
        problem = store.verify().problem
        assert problem is not None
        assert (problem.kind, problem.message.split(":")[0]) == (
            "schema_altered",
            "events is a view, not a table",
        )

    def test_verify_reports_a_dropped_ledger(self, store: EventStore) -> None:
        store.append("order-1", events(2), command_id="c1")
        self.tamper("DROP TABLE commands")
        problem = store.verify().problem
        assert problem is not None
        assert (problem.kind, problem.message.split(":")[0]) == (
            "schema_altered",
            "the table commands is missing",
        )
        with pytest.raises(CorruptLog, match="tables orderlog expects"):
            store.recorded("c1")

    def test_a_ledger_with_a_renamed_column_is_a_problem_not_a_crash(
        self, store: EventStore
    ) -> None:
        store.append("order-1", events(2), command_id="c1")
        self.tamper("ALTER TABLE commands RENAME COLUMN first_position TO start")
        report = store.verify()
        assert report.problem is not None
        assert report.problem.kind == "schema_altered"
