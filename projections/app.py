"""One orderlog database opened for use: the event log, the shop policies, the order service and
the read models kept up to date inline (in the same transaction as each append).

    with Orderlog("shop.db") as log:
        log.handle({"type": "place_order", ...})
        log.status("o-1001")
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from eventstore import SQLiteEventStore
from lifecycle.registry import PolicyRegistry
from lifecycle.service import OrderService, Outcome

from .framework import CHECKPOINTS, InlineProjector, Projection, catch_up, lowest_checkpoint
from .orders import OrdersProjection, order_row, status_of
from .refunds import RefundsProjection, refunds_report
from .returns import ReturnsProjection, returns_of

READ_MODELS: tuple[Projection, ...] = (
    OrdersProjection(),
    ReturnsProjection(),
    RefundsProjection(),
)
"""Every read model orderlog keeps, in the order they are applied."""


class Orderlog:
    """An orderlog SQLite file with its service and inline read models."""

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        policies: PolicyRegistry | None = None,
        busy_timeout: float = 10.0,
        read_only: bool = False,
    ) -> None:
        """Open the log at `path`; raises `DatabaseNotFound`, `ForeignDatabase`, `SchemaTooNew`.

        `read_only` changes nothing in the file (an auditor's copy): commands cannot be run,
        and read models that are missing or behind the log are rebuilt in memory instead."""
        self.read_only = read_only
        self.store = SQLiteEventStore(
            path, create=create, busy_timeout=busy_timeout, read_only=read_only
        )
        self.policies = policies or PolicyRegistry.shipped()
        self.service = OrderService(self.store, self.policies)
        self.conn = self.store.connection
        self._replayed: sqlite3.Connection | None = None
        if not read_only:
            self.store.subscribe_inline(InlineProjector(self.store, self.conn, READ_MODELS))

    def __enter__(self) -> Orderlog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._replayed is not None:
            self._replayed.close()
        self.store.close()

    def handle(self, command: Any) -> Outcome:
        """Run a command through the service; the read models move in the same transaction."""
        return self.service.handle(command)

    def catch_up(self) -> int:
        """Apply events the read models have not seen (written by a process without them)."""
        if lowest_checkpoint(self.conn, READ_MODELS) >= self.store.head().position:
            return 0
        return catch_up(self.store, self.conn, READ_MODELS)

    def read_models(self) -> sqlite3.Connection:
        """A connection whose read models are current: the file's own (caught up first), or,
        read-only with the file's behind, a replay in memory."""
        if not self.read_only:
            self.catch_up()
            return self.conn
        if _current(self.conn, self.store.head().position):
            return self.conn
        if self._replayed is None:
            self._replayed = sqlite3.connect(":memory:", isolation_level=None)
            catch_up(self.store, self._replayed, READ_MODELS)
        return self._replayed

    def status(self, order_id: str, as_of: datetime | None = None) -> dict[str, Any] | None:
        """SPEC.md's status object for one order (None if there is no such order)."""
        conn = self.read_models()
        row = order_row(conn, order_id)
        if row is None:
            return None
        return {
            "order_id": row["order_id"],
            "policy": row["policy"],
            "policy_version": row["policy_version"],
            "status": status_of(conn, row, as_of),
            "currency": row["currency"],
            "paid_total": row["paid_total"],
            "refunded_total": row["refunded_total"],
            "refund_pending": row["decided_total"] - row["refunded_total"],
            "placed_at": row["placed_at"],
            "cancellable_until": row["cancellable_until"],
            "returns_close_on": row["returns_close_on"],
            "returns": [
                {
                    "return_id": r["return_id"],
                    "status": r["state"],
                    "refund_amount": r["refund_amount"],
                    "refund_due_by": r["refund_due_by"],
                }
                for r in returns_of(conn, order_id)
            ],
        }

    def refunds(self, as_of: datetime) -> dict[str, Any]:
        """Refund totals, pending and overdue refunds as of a time."""
        return refunds_report(self.read_models(), as_of)


def _current(conn: sqlite3.Connection, head: int) -> bool:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    return CHECKPOINTS in tables and lowest_checkpoint(conn, READ_MODELS) >= head
