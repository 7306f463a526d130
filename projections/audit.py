"""The auditor's check (`orderlog verify`): the hash chain, positions and stream versions; every
stream a legal path through the machines; and the read models equal to a fresh replay.

It reads only: nothing in the file is changed. The first problem (by position) is reported.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import cattrs

from eventstore import EventStore, HeadDigest, InvalidAppend, Problem, RecordedEvent, StoredRow
from lifecycle import events as ev
from lifecycle.envelopes import decode_recorded, order_stream, policy_stream, subscription_stream
from lifecycle.errors import IllegalTransition, InvalidPolicy
from lifecycle.order import evolve
from lifecycle.policy_files import parse_policy
from lifecycle.subscriptions import evolve_subscription

from .framework import (
    CHECKPOINTS,
    Batch,
    Envelope,
    Fact,
    Projection,
    Table,
    ensure_schema,
    facts_of,
    fewer_collections,
    lowest_checkpoint,
    read_facts,
)

Advance = Callable[[int], None]
"""Told how many more events the audit has read (for a progress bar)."""

NOT_KEPT = "none kept beside the log (readers replay it in memory)"
"""The read-model verdict for a log whose database keeps no read models (a PostgreSQL schema
written only by hosts without them): nothing there can disagree with the log."""


def audit(
    store: EventStore,
    models: sqlite3.Connection | FreshReplay | None,
    projections: Sequence[Projection],
    digest: HeadDigest | None = None,
    advance: Advance | None = None,
) -> dict[str, Any]:
    """Run every check in one pass over the log, inside one snapshot (so a writer appending
    meanwhile cannot make it see problems that are not there); returns the report as data
    (`ok`, `problem`, what each check found).

    The problem reported is the log's earliest (chain or path), else the read models'.
    `advance(n)` is told of each batch of events read (for a bar over the log's length).
    `models` is the SQLite file's connection, or a `FreshReplay` of the read models' own (a
    PostgreSQL log's: `pgmodels.PgFreshReplay`); without it, or where the database keeps no
    read models at all, they are not checked."""
    with store.snapshot(), fewer_collections():
        fresh = (
            FreshReplay(models, projections) if isinstance(models, sqlite3.Connection) else models
        )
        try:
            kept = fresh is not None and fresh.kept()
            walk = AuditWalk(store, fresh if kept else None, advance)
            chain = store.verify(digest, observe=walk.step)
            paths = walk.paths.problem
            # Read models cannot follow a broken log: they are compared only with an intact one.
            compared = walk.read_models() if chain.problem is None and paths is None else None
            head = str(store.head())
        finally:
            if fresh is not None:
                fresh.close()
    # The log's own problems come first.
    problems = [p for p in (chain.problem, paths) if p is not None]
    first = min(problems, key=lambda p: p.position) if problems else compared
    return {
        "ok": first is None,
        "checked": chain.checked,
        "head": head,
        "problem": None if first is None else _as_dict(first),
        "checks": {
            "chain": _verdict(chain.problem),
            "paths": _verdict(paths),
            "read_models": NOT_KEPT
            if not kept
            else (_verdict(compared) if not problems else "not compared: the log is broken"),
        },
    }


class AuditWalk:
    """What `audit` checks of each event above the store, fed the rows whose hashes checked
    out, batch by batch: each stream a legal path (`paths`), and a fresh replay of the read
    models (`fresh`, inside the same snapshot) to compare the kept ones with."""

    def __init__(
        self, store: EventStore, fresh: FreshReplay | None, advance: Advance | None = None
    ) -> None:
        self.store = store
        self.advance = advance
        self.paths = PathWalk(store)
        self.fresh = fresh
        self.last = 0

    def step(self, rows: list[StoredRow]) -> None:
        if self.advance is not None:
            self.advance(len(rows))
        if self.paths.problem is not None:
            return
        facts = facts_of(rows, self.store.upcasters)
        legal = self.paths.step(facts)
        if self.fresh is not None:
            self.fresh.step(legal)
        if legal:
            self.last = legal[-1].position

    def read_models(self) -> Problem | None:
        return None if self.fresh is None else self.fresh.compare(self.last)


class PathWalk:
    """Folds every stream through its machine, event by event in position order; stops at the
    first event no legal path allows (`problem`). The states of the streams seen last are
    kept (up to `keep`); a stream whose state was let go is folded again from the log, so
    memory stays bounded however many streams the log has."""

    def __init__(self, store: EventStore, keep: int = 5_000) -> None:
        self.store = store
        self.keep = keep
        self.states: OrderedDict[str, Any] = OrderedDict()
        self.problem: Problem | None = None

    def step(self, facts: list[Fact]) -> list[Fact]:
        """Check a batch; returns its facts up to (not including) the first illegal one."""
        for index, fact in enumerate(facts):
            stream = fact.stream_id
            try:
                state = self._state(stream, fact)
                self.states[stream] = fold_step(state, fact, stream)
            except _ILLEGAL as error:
                self.problem = _illegal(fact, stream, error)
                return facts[:index]
            self.states.move_to_end(stream)
            if len(self.states) > self.keep:
                self.states.popitem(last=False)
        return facts

    def _state(self, stream: str, fact: Fact) -> Any:
        if stream in self.states:
            return self.states[stream]
        state: Any = None
        if fact.stream_version == 1:
            return state  # a new stream: nothing before it
        for earlier in self.store.read_stream(stream):
            if earlier.position >= fact.position:
                break
            state = fold_step(state, earlier, stream)
        return state


class PathCheck:
    """For `import`: refuses (`InvalidAppend`) the first event that breaks its stream's path.

    Streams the log already has start from their recorded state."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.states: dict[str, Any] = {}

    def __call__(self, envelope: RecordedEvent) -> None:
        stream = envelope.stream_id
        if stream not in self.states:
            self.states[stream] = None
            for earlier in self.store.read_stream(stream):
                self.states[stream] = fold_step(self.states[stream], earlier, stream)
        try:
            self.states[stream] = fold_step(self.states[stream], envelope, stream)
        except _ILLEGAL as error:
            raise InvalidAppend(_illegal(envelope, stream, error).message) from None


def fold_step(state: Any, envelope: Envelope, stream_id: str) -> Any:
    """One more event of a stream through its machine (order, subscription or policy); the
    event must belong to the stream it is in. Old events are read through the upcasters, as
    the service reads them."""
    event = decode_recorded(envelope)
    if stream_id != home_stream(event):
        raise TypeError(f"{envelope.type} of {home_stream(event)} is in {stream_id}")
    if isinstance(event, ev.OrderEvent):
        return evolve(state, event)
    if isinstance(event, ev.SubscriptionEvent):
        return evolve_subscription(state, event)
    if isinstance(event, ev.PolicyRecorded):
        if parse_policy(event.text, event.source).version != event.version:
            raise ValueError(f"the text of {event.name} does not hash to {event.version}")
        return state
    raise TypeError(f"{envelope.type} does not belong in stream {stream_id}")


def home_stream(event: ev.Event) -> str:
    """The stream an event belongs in."""
    if isinstance(event, ev.OrderEvent):
        return order_stream(event.order_id)
    if isinstance(event, ev.SubscriptionEvent):
        return subscription_stream(event.subscription_id)
    if isinstance(event, ev.PolicyRecorded):
        return policy_stream(event.name)
    return ""


# What a bad event raises: a forbidden step, an unreadable policy, or data that does not decode.
_ILLEGAL = (
    IllegalTransition,
    InvalidPolicy,
    TypeError,
    ValueError,
    KeyError,
    cattrs.BaseValidationError,
)


def _illegal(envelope: Envelope, stream_id: str, error: Exception) -> Problem:
    message = getattr(error, "message", None) or str(error)
    return Problem(
        envelope.position,
        "illegal_path",
        f"event {envelope.position} ({envelope.type} in {stream_id}): {message}",
    )


def read_model_problem(
    store: EventStore, conn: sqlite3.Connection, projections: Sequence[Projection]
) -> Problem | None:
    """Whether the read models in `conn` are current and equal to a fresh replay of the log
    (on its own: `audit` compares them in its one pass)."""
    with store.snapshot():
        fresh = FreshReplay(conn, projections)
        try:
            head = store.head().position
            for batch in read_facts(store, 1, head):
                fresh.step(batch)
            return fresh.compare(head)
        finally:
            fresh.close()


class FreshReplay:
    """The read models rebuilt from scratch into temporary tables on the file's own connection
    (so they are compared inside the same snapshot), then compared with the file's: the
    tables' structure with what the code creates, and their rows by column name, each row as
    many times as it occurs.

    The kept read models are the connection's `main` tables; a subclass may keep them
    elsewhere (`pgmodels.PgFreshReplay`: in a PostgreSQL schema) by answering `kept`,
    `_kept_tables` and `_differences`."""

    def __init__(self, conn: sqlite3.Connection, projections: Sequence[Projection]) -> None:
        self.conn = conn
        self.projections = projections
        self.expected = expected_schema(projections)
        self._created = False
        self.problem: Problem | None = None

    def _create(self) -> None:
        for table in self._tables():
            self.conn.execute(f"DROP TABLE IF EXISTS temp.{table.name}")
            ddl = self.expected[table.name].sql
            self.conn.execute(ddl.replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
        self._created = True

    def _tables(self) -> list[Table]:
        return [table for projection in self.projections for table in projection.schema]

    def step(self, facts: list[Fact]) -> None:
        """Fold a batch into the temporary tables."""
        if self.problem is not None or not facts:
            return
        if not self._created:
            self._create()
        batch = Batch(self.conn, self.projections, schema="temp")
        fact = facts[0]
        try:
            for fact in facts:
                for projection in self.projections:
                    if fact.type in projection.handles:
                        projection.fold(batch, fact)
            batch.flush()
        except (ValueError, TypeError, KeyError, IllegalTransition, sqlite3.Error) as error:
            self.problem = Problem(
                fact.position,
                "read_model_mismatch",
                f"the read models cannot follow event {fact.position} ({fact.type}): {error}",
            )

    def compare(self, head: int) -> Problem | None:
        """The first way the file's read models differ from the fresh ones (None if none)."""
        if self.problem is not None:
            return self.problem
        tables = self._kept_tables()
        if head == 0 and CHECKPOINTS not in tables:
            return None  # a log created but never written to: nothing to model yet
        if not self._created:
            self._create()  # an empty log: empty read models
        return self._differences(head, tables)

    def kept(self) -> bool:
        """Whether the database keeps read models to compare (a SQLite file always should)."""
        return True

    def _kept_tables(self) -> set[str]:
        return _tables_in(self.conn)

    def _differences(self, head: int, tables: set[str]) -> Problem | None:
        return (
            currency_problem(self.conn, self.projections, head, tables)
            or schema_difference(lambda name: _shape(self.conn, "main", name), self.expected, head)
            or first_difference(self.conn, self._tables(), head)
        )

    def close(self) -> None:
        if self._created:
            for table in self._tables():
                self.conn.execute(f"DROP TABLE IF EXISTS temp.{table.name}")
            self._created = False


@attrs.frozen
class TableShape:
    """A table as SQLite describes it: its statement and its columns (name, type, not null,
    default, primary key rank)."""

    sql: str
    columns: tuple[tuple[Any, ...], ...]


def expected_schema(projections: Sequence[Projection]) -> dict[str, TableShape]:
    """The read-model tables exactly as the code creates them (in a scratch database)."""
    scratch = sqlite3.connect(":memory:")
    try:
        ensure_schema(scratch, projections)
        names = [CHECKPOINTS, *(t.name for p in projections for t in p.schema)]
        return {name: _shape(scratch, "main", name) for name in names}
    finally:
        scratch.close()


def _shape(conn: sqlite3.Connection, schema: str, table: str) -> TableShape:
    found = conn.execute(
        f"SELECT type, sql FROM {schema}.sqlite_master WHERE name = ?", (table,)
    ).fetchone()
    if found is None or found[0] != "table":
        return TableShape("", ())
    columns = conn.execute(f"PRAGMA {schema}.table_info({_quoted(table)})").fetchall()
    return TableShape(found[1], tuple(tuple(column[1:]) for column in columns))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def currency_problem(
    conn: sqlite3.Connection, projections: Sequence[Projection], head: int, tables: set[str]
) -> Problem | None:
    """Whether the file has read models at all (`tables`: its tables), and all of them at the
    log's head."""
    if CHECKPOINTS not in tables:
        return Problem(
            head, "read_models_missing", "the file has no read models: run `orderlog replay`"
        )
    try:
        at = lowest_checkpoint(conn, projections)
    except (sqlite3.Error, TypeError, ValueError) as error:
        return Problem(head, "read_model_schema", f"the checkpoints cannot be read: {error}")
    if at != head:
        return Problem(
            min(at + 1, head),
            "read_models_behind",
            f"the read models stop at position {at} and the log at {head}: run `orderlog replay`",
        )
    return None


def _tables_in(conn: sqlite3.Connection) -> set[str]:
    """The names of the file's own tables (and views)."""
    return {row[0] for row in conn.execute("SELECT name FROM main.sqlite_master")}


def schema_difference(
    shape_of: Callable[[str], TableShape], expected: dict[str, TableShape], head: int
) -> Problem | None:
    """The first read-model table whose columns (names, order, types, keys) or kind (a view
    for a table) are not what the code creates; `shape_of(name)` describes the kept one."""
    for name, shape in expected.items():
        actual = shape_of(name)
        if actual.columns != shape.columns:
            return Problem(
                head,
                "read_model_schema",
                f"read model {name} does not have the columns orderlog creates "
                f"({_describe(actual)} instead of {_describe(shape)}): run `orderlog replay`",
            )
    return None


def _describe(shape: TableShape) -> str:
    if not shape.columns:
        return "no such table"
    return ", ".join(f"{c[0]} {c[1]}{' key' if c[4] else ''}" for c in shape.columns)


def first_difference(
    conn: sqlite3.Connection, tables: Sequence[Table], head: int, kept: str = "the file"
) -> Problem | None:
    """Compare each read-model table with its fresh twin, both ways, inside SQLite: column by
    column name, each distinct row with the number of times it occurs (`kept` names where
    the `main` tables come from)."""
    for table in tables:
        columns = ", ".join(_quoted(column) for column in table.columns)
        counted = f"SELECT {columns}, count(*) FROM {{}}.{table.name} GROUP BY {columns}"
        for left, right in (("main", "temp"), ("temp", "main")):
            extra = conn.execute(
                f"{counted.format(left)} EXCEPT {counted.format(right)} LIMIT 1"
            ).fetchone()
            if extra is not None:
                where = kept if left == "main" else "a fresh replay"
                *values, times = extra
                row = dict(zip(table.columns, values, strict=True))
                return Problem(
                    head,
                    "read_model_mismatch",
                    f"read model {table.name} differs from a fresh replay of the log: "
                    f"{where} has {row!r}" + (f" {times} times" if times > 1 else ""),
                )
    return None


def _verdict(problem: Problem | None) -> str:
    return "ok" if problem is None else problem.message


def _as_dict(problem: Problem) -> dict[str, Any]:
    return {"position": problem.position, "kind": problem.kind, "message": problem.message}
