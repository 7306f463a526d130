"""The event store contract: every backend runs this whole suite (see test_store_backends.py).

A backend's test class subclasses `EventStoreContract` and says how to open a store, a second
store on the same database, and a raw connection an attacker could use to tamper with it.
"""

from __future__ import annotations

import abc
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest

from eventstore import (
    ANY_VERSION,
    NO_STREAM,
    ConcurrencyConflict,
    CorruptLog,
    EventStore,
    HeadDigest,
    InvalidAppend,
    NewEvent,
    StreamAppend,
    Upcasters,
)
from tests.support import T0, at, stress_scale


def event(kind: str = "Happened", **data: Any) -> NewEvent:
    return NewEvent(kind, data, T0, metadata={"actor": "test"})


def events(count: int, kind: str = "Happened") -> list[NewEvent]:
    return [event(kind, n=n) for n in range(count)]


class EventStoreContract(abc.ABC):
    """Behaviour every event store backend must have."""

    supports_processes = False

    @abc.abstractmethod
    def open_store(self, **options: Any) -> EventStore:
        """A store on this test's database (the same database every call)."""

    @abc.abstractmethod
    def raw_connection(self) -> Any:
        """A plain DB-API connection to this test's database, as an attacker with it would have."""

    def tamper(self, *statements: str) -> None:
        """Run raw SQL against the database."""
        conn = self.raw_connection()
        try:
            for statement in statements:
                conn.execute(statement)
        finally:
            conn.close()

    @contextmanager
    def hold_write_lock(self) -> Iterator[None]:
        """Hold the database's write lock from another connection for the duration of a block."""
        conn = self.raw_connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()

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
            (NewEvent("Happened", {}, T0, metadata={"at": T0}), "datetime"),  # type: ignore[dict-item]
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
        total = 200_000 * stress_scale()
        for start in range(0, total, 5000):
            store.append_streams(
                [
                    StreamAppend(f"order-{start + n}", [event(n=n, sku="SKU-12345")])
                    for n in range(5000)
                ]
            )
        small = _peak_while_reading(store, total // 10)
        large = _peak_while_reading(store, total)
        # The peak is one batch of events, whatever the log's length.
        assert large < small * 1.5 + 64 * 1024, (small, large)
        assert large < 4 * 1024 * 1024, large

    # -- tamper evidence -----------------------------------------------------------------------

    def test_a_raw_update_or_delete_is_refused_by_the_database(self, store: EventStore) -> None:
        store.append("order-1", events(2), command_id="c")
        for statement in (
            "UPDATE events SET data = '{}' WHERE position = 1",
            "DELETE FROM events WHERE position = 2",
            "DELETE FROM commands",
        ):
            with pytest.raises(Exception, match="append-only"):
                self.tamper(statement)
        assert store.verify().ok
        assert store.head().position == 2

    def test_verify_passes_an_intact_log_and_checks_every_link(self, store: EventStore) -> None:
        _fill(store)
        report = store.verify()
        assert report.ok
        assert report.checked == 9
        assert report.head == store.head()

    def test_verify_finds_an_edited_payload(self, store: EventStore) -> None:
        _fill(store)
        self._untriggered("UPDATE events SET data = '{\"n\":99}' WHERE position = 5")
        report = store.verify()
        assert not report.ok
        assert report.problem is not None
        assert (report.problem.position, report.problem.kind) == (5, "hash_mismatch")
        assert report.checked == 4

    def test_verify_finds_an_edited_recorded_time(self, store: EventStore) -> None:
        _fill(store)
        self._untriggered(
            "UPDATE events SET recorded_at = '2020-01-01T00:00:00.000000+00:00' WHERE position = 9"
        )
        problem = store.verify().problem
        assert problem is not None
        assert problem.position == 9

    def test_verify_finds_a_deleted_row(self, store: EventStore) -> None:
        _fill(store)
        self._untriggered("DELETE FROM events WHERE position = 4")
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (5, "position_gap")
        assert "position 4 is missing" in problem.message

    def test_verify_finds_swapped_rows(self, store: EventStore) -> None:
        _fill(store)
        self._untriggered(
            "UPDATE events SET position = -1 WHERE position = 3",
            "UPDATE events SET position = 3 WHERE position = 6",
            "UPDATE events SET position = 6 WHERE position = -1",
        )
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (3, "hash_mismatch")

    def test_verify_finds_a_stream_gap_even_when_the_attacker_rehashes(
        self, store: EventStore
    ) -> None:
        _fill(store)
        digest = store.head()
        # Remove order-2's second event and rebuild a perfectly consistent chain after it.
        self._untriggered("DELETE FROM events WHERE stream_id = 'order-2' AND stream_version = 2")
        self._untriggered(*_rechain_statements(store))
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
        self._untriggered("DELETE FROM events WHERE position >= 8")
        report = store.verify(digest)
        assert report.problem is not None
        assert (report.problem.kind, report.problem.position) == ("truncated", 9)

    def test_a_kept_head_digest_catches_a_rewritten_log(self, store: EventStore) -> None:
        _fill(store)
        digest = store.head()
        self._untriggered("UPDATE events SET data = '{\"n\":42}' WHERE position = 2")
        self._untriggered(*_rechain_statements(store))
        assert store.verify().ok  # internally consistent again...
        report = store.verify(digest)
        assert report.problem is not None
        assert report.problem.kind == "digest_mismatch"  # ...but not the log the auditor saw

    def test_a_row_before_position_one_is_refused_and_found_if_forced_in(
        self, store: EventStore
    ) -> None:
        _fill(store)
        copy_first = (
            "INSERT INTO events SELECT 0, 'order-forged', 1, type, schema_version, data, "
            "metadata, occurred_at, recorded_at, hash FROM events WHERE position = 1"
        )
        with pytest.raises(Exception, match="positions start at 1"):
            self.tamper(copy_first)
        self._untriggered(copy_first)
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
        self._untriggered(
            "INSERT INTO commands (command_id, first_position, last_position, recorded_at) "
            "VALUES ('c2', 3, 3, 'x')"
        )
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (3, "ledger_mismatch")
        with pytest.raises(CorruptLog):
            store.recorded("c2")

    def test_verify_finds_a_deleted_ledger_entry(self, store: EventStore) -> None:
        store.append("order-1", events(1))
        store.append("order-2", events(2), command_id="c1")
        self._untriggered("DELETE FROM commands")
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (2, "ledger_mismatch")

    def _untriggered(self, *statements: str) -> None:
        """Tamper as an attacker does: drop the append-only triggers first."""
        self.tamper(
            *(
                f"DROP TRIGGER IF EXISTS {trigger}"
                for trigger in (
                    "events_no_update",
                    "events_no_delete",
                    "events_positions",
                    "commands_no_update",
                    "commands_no_delete",
                )
            ),
            *statements,
        )


def _fill(store: EventStore) -> None:
    """Nine events over three interleaved streams."""
    for round_ in range(3):
        for order in range(1, 4):
            store.append(f"order-{order}", [event(n=round_)])


def _rechain_statements(store: EventStore) -> list[str]:
    """SQL that renumbers positions 1..n and recomputes every hash: a careful attacker's rewrite."""
    from eventstore.codec import GENESIS_HASH
    from eventstore.rows import StoredRow, row_hash

    rows = sorted(store._rows_between(1, 10**9, 10**9), key=lambda r: r.position)
    statements = ["UPDATE events SET position = -position"]
    previous = GENESIS_HASH
    for new_position, row in enumerate(rows, start=1):
        fixed = StoredRow(new_position, *row[1:9], "")
        digest = row_hash(fixed, previous)
        statements.append(
            f"UPDATE events SET position = {new_position}, hash = '{digest}' "
            f"WHERE position = {-row.position}"
        )
        previous = digest
    return statements


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
