"""One orderlog database opened for use: the event log, the shop policies, the order service and
the read models kept up to date inline (in the same transaction as each append).

    with Orderlog("shop.db") as log:
        log.handle({"type": "place_order", ...})
        log.status("o-1001").status

A `postgresql://` DSN opens a PostgreSQL log instead (`Orderlog("postgresql://host/db")`); its
read models live in the log's schema and move inline too (`projections.pgmodels`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eventstore import ChainKey, EventStore, OrderlogError, SQLiteEventStore, StorageErrors
from eventstore.opening import describe_target, open_log
from lifecycle.registry import PolicyRegistry
from lifecycle.service import OrderService, Outcome

from .declined_lines import DeclinedLinesProjection
from .explain import explain_order
from .framework import (
    CHECKPOINTS,
    ClosedOnExit,
    InlineProjector,
    Projection,
    catch_up,
    ensure_schema,
    lowest_checkpoint,
)
from .history import order_history
from .listing import Filters, list_declines, list_orders, list_returns, with_totals
from .orders import OrdersProjection
from .pastview import order_as_of, unchanged_since
from .refunds import RefundsProjection, refunds_report
from .reimbursements import ReimbursementsProjection
from .returns import ReturnsProjection
from .status import StatusReport, status_report

if TYPE_CHECKING:
    from .pgmodels import PgConnection
    from .readmodels import ReadModelFile

READ_MODELS: tuple[Projection, ...] = (
    OrdersProjection(),
    ReturnsProjection(),
    RefundsProjection(),
    ReimbursementsProjection(),
    DeclinedLinesProjection(),
)
"""Every read model orderlog keeps, in the order they are applied."""


class LogClosed(OrderlogError, RuntimeError):
    """The `Orderlog` was closed; open the file again to go on."""

    code = "log_closed"


class Orderlog(ClosedOnExit):
    """An orderlog SQLite file with its service and inline read models.

    Every method raises `LogClosed` once `close()` has been called."""

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        policies: PolicyRegistry | None = None,
        busy_timeout: float = 10.0,
        read_only: bool = False,
        key: ChainKey | bytes | None = None,
        read_models: str | Path | None = None,
    ) -> None:
        """Open the log at `path`; raises `DatabaseNotFound`, `ForeignDatabase`, `SchemaTooNew`.

        `read_only` changes nothing in the file (an auditor's copy): commands cannot be run,
        and read models that are missing or behind the log are rebuilt in memory instead.
        With `key` (the shop's secret, at least 16 bytes) every event written carries the
        shop's MAC and a keyed log refuses writes without it (`WrongKey`). With `read_models`
        (a file built by `replay --into` or `project --into` from this log, else
        `ForeignDatabase`) the read models are read from that file as it is, not the log's."""
        self.read_only = read_only
        self.location = describe_target(path)
        self.store: EventStore = open_log(
            path, create=create, busy_timeout=busy_timeout, read_only=read_only, key=key
        )
        self.policies = policies or PolicyRegistry.shipped()
        self.service = OrderService(self.store, self.policies)
        self._replayed: sqlite3.Connection | None = None
        self._closed = False
        self._file: ReadModelFile | None = None
        if read_models is not None:
            self._file = _read_model_file(read_models, self.store)
        self._pg: PgConnection | None = None
        if not isinstance(self.store, SQLiteEventStore):
            self._open_postgres(read_only)
            return
        self.conn = self.store.connection
        self._in_file = True
        if not read_only:
            try:
                with self.store.errors():  # a busy log is a conflict here too
                    projector = InlineProjector(self.store, self.conn, READ_MODELS)
            except BaseException:
                self.store.close()
                raise
            self.store.subscribe_inline(projector)

    def errors(self) -> AbstractContextManager[None]:
        """A block in which the errors of the read models' database (and the log's) become
        typed errors."""
        if isinstance(self.store, SQLiteEventStore):
            return self.store.errors()
        if self._pg is not None:
            return self.store.errors()  # type: ignore[attr-defined, no-any-return]
        return StorageErrors("the read models in memory", 10.0)

    @property
    def postgres_models(self) -> PgConnection | None:
        """The read models in a PostgreSQL log's own schema, if this log keeps them there."""
        return self._pg

    def _open_postgres(self, read_only: bool) -> None:
        """A PostgreSQL log keeps its read models in its own schema, moved inline; read-only,
        without them there (a log written by a release without them), they are built in
        memory instead."""
        from eventstore.postgres import PostgresEventStore

        from .pgmodels import PgConnection, PgInlineProjector, has_pg_models

        store = self.store
        assert isinstance(store, PostgresEventStore)
        try:
            with store.errors():
                own = store.own_connection()
                # The read models name their tables bare: in this log's schema, on this
                # connection (the store's own queries name the schema themselves).
                own.execute(f"SET search_path TO {store.schema}")
                pg = PgConnection(own, store.schema)
                if not read_only:
                    store.subscribe_inline(PgInlineProjector(store, READ_MODELS))
                    self._pg = pg
                elif has_pg_models(pg, READ_MODELS):
                    self._pg = pg
        except BaseException:
            store.close()
            raise
        self._in_file = self._pg is not None
        if self._pg is not None:
            self.conn = self._pg.as_sqlite()
        else:
            self.conn = sqlite3.connect(":memory:", isolation_level=None)
            ensure_schema(self.conn, READ_MODELS)

    def close(self) -> None:
        """Close the file (again is fine); later calls raise `LogClosed`."""
        if self._closed:
            return
        self._closed = True
        if self._replayed is not None:
            self._replayed.close()
        if self._file is not None:
            self._file.close()
        if not self._in_file:
            self.conn.close()
        self.store.close()  # a PostgreSQL log's read models share its connection

    def _open(self) -> None:
        if self._closed:
            raise LogClosed(f"the log at {self.location} was closed; open it again to go on")

    @property
    def read_model_file(self) -> ReadModelFile | None:
        """The read-model file given as `read_models`, if any."""
        return self._file

    def _moment(self, as_of: datetime | None) -> datetime:
        """The moment a reading is about: given, else a past-view file's own, else now."""
        return as_of or (self._file.as_of if self._file else None) or _now()

    def handle(self, command: Any) -> Outcome:
        """Run a command through the service; the read models move in the same transaction."""
        self._open()
        return self.service.handle(command)

    def handle_batch(self, commands: Iterable[Any]) -> list[Outcome]:
        """Run several commands in one transaction (group commit, `OrderService.handle_batch`):
        each decided on the log and the commands before it, a refused one writing nothing of
        its own; the outcomes are returned once the transaction has committed."""
        self._open()
        return self.service.handle_batch(commands)

    def catch_up(self) -> int:
        """Apply events the read models have not seen (written by a process without them).
        A PostgreSQL log's read models, in memory, catch up only when read: nothing here."""
        self._open()
        if not self._in_file:
            return 0
        return self._catch_up()

    def _catch_up(self) -> int:
        if self._pg is not None:
            from .pgmodels import pg_catch_up

            with self.errors():
                return pg_catch_up(self.store, self._pg, READ_MODELS)
        with self.errors():
            if lowest_checkpoint(self.conn, READ_MODELS) >= self.store.head().position:
                return 0
            return catch_up(self.store, self.conn, READ_MODELS)

    def read_models(self) -> sqlite3.Connection:
        """A connection whose read models are current: the file's own (caught up first), or,
        read-only with the file's behind, a replay in memory; or the `read_models` file's."""
        self._open()
        if self._file is not None:
            return self._file.conn
        if not self.read_only or not self._in_file:
            self._catch_up()
            return self.conn
        with self.errors():
            if self._current(self.store.head().position):
                return self.conn
            if self._replayed is None:
                self._replayed = sqlite3.connect(":memory:", isolation_level=None)
                catch_up(self.store, self._replayed, READ_MODELS)
        return self._replayed

    def status(self, order_id: str, as_of: datetime | None = None) -> StatusReport:
        """The status of one order now, or as it was at `as_of`: every field folded from the
        order's events up to then (`projections.pastview`). Raises `UnknownOrder` (also for an
        order placed after `as_of`)."""
        self._open()
        with self.errors():
            if as_of is None:
                return status_report(self.read_models(), order_id, self._moment(None))
            live = self._ready_read_models()
            if live is not None and unchanged_since(live, order_id, as_of):
                return status_report(live, order_id, as_of)  # the same as a fold, and quicker
            then = order_as_of(self.store, READ_MODELS, order_id, as_of)
            try:
                return status_report(then, order_id, as_of)
            finally:
                then.close()

    def _ready_read_models(self) -> sqlite3.Connection | None:
        """The log's read models if they are current without a replay (else None)."""
        if self._file is not None:
            return None
        if not self.read_only:
            self.catch_up()
            return self.conn
        if self._replayed is not None:
            return self._replayed
        return self.conn if self._current(self.store.head().position) else None

    def _current(self, head: int) -> bool:
        """Whether this log's own read models (in its file or schema) reach `head`."""
        if self._pg is not None:
            from .pgmodels import pg_lowest_checkpoint

            return pg_lowest_checkpoint(self._pg, READ_MODELS) >= head
        return _current(self.conn, head)

    def history(self, order_id: str, as_of: datetime | None = None) -> list[dict[str, Any]]:
        """Every event of one order (that happened by `as_of`), oldest first: position, times,
        type, who, a sentence and the event's data (`orderlog history --json`); raises
        `UnknownOrder` (also for an order placed after `as_of`)."""
        self._open()
        return order_history(self.store, order_id, as_of)

    def explain(self, order_id: str, as_of: datetime | None = None) -> dict[str, Any]:
        """Each refund of one order (decided by `as_of`), line by line with its clauses
        (`orderlog explain --json`); raises `UnknownOrder`."""
        self._open()
        return explain_order(self.store, self.policies, order_id, as_of)

    def refunds(self, as_of: datetime | None = None) -> dict[str, Any]:
        """Refund totals (per policy, currency and day, and per currency), pending and overdue
        refunds (with days overdue) as of a time (default: now)."""
        moment = self._moment(as_of)
        with self.errors():
            return with_totals(refunds_report(self.read_models(), moment), moment)

    def orders(
        self, filters: Filters | None = None, as_of: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Orders matching `filters`, oldest first (`orderlog orders --json` rows)."""
        with self.errors():
            return list_orders(self.read_models(), filters or Filters(), self._moment(as_of))

    def returns(
        self, filters: Filters | None = None, as_of: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Returns matching `filters`, in request order (`orderlog returns --json` rows)."""
        with self.errors():
            return list_returns(self.read_models(), filters or Filters(), self._moment(as_of))

    def declines(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        """Declined return requests matching `filters` (`orderlog declines --json` rows)."""
        with self.errors():
            return list_declines(self.read_models(), filters or Filters())


def _read_model_file(path: str | Path, store: EventStore) -> ReadModelFile:
    """The read-model file at `path`, refused unless it was built from `store`'s log."""
    from .readmodels import ReadModelFile  # it reads the replay module, which imports this one

    try:
        return ReadModelFile(path, store)
    except BaseException:
        store.close()
        raise


def _now() -> datetime:
    return datetime.now(UTC)


def _current(conn: sqlite3.Connection, head: int) -> bool:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    return CHECKPOINTS in tables and lowest_checkpoint(conn, READ_MODELS) >= head
