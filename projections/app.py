"""One orderlog database opened for use: the event log, the shop policies, the order service and
the read models kept up to date inline (in the same transaction as each append).

    with Orderlog("shop.db") as log:
        log.handle({"type": "place_order", ...})
        log.status("o-1001")
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from eventstore import SQLiteEventStore
from eventstore.codec import format_time
from lifecycle.registry import PolicyRegistry
from lifecycle.service import OrderService, Outcome

from .framework import InlineProjector, Projection, catch_up, lowest_checkpoint
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
    ) -> None:
        """Open the log at `path`; raises `DatabaseNotFound`, `ForeignDatabase`, `SchemaTooNew`."""
        self.store = SQLiteEventStore(path, create=create, busy_timeout=busy_timeout)
        self.policies = policies or PolicyRegistry.shipped()
        self.service = OrderService(self.store, self.policies)
        self.conn = self.store.connection
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
        self.store.close()

    def handle(self, command: Any) -> Outcome:
        """Run a command through the service; the read models move in the same transaction."""
        return self.service.handle(command)

    def catch_up(self) -> int:
        """Apply events the read models have not seen (written by a process without them)."""
        if lowest_checkpoint(self.conn, READ_MODELS) >= self.store.head().position:
            return 0
        return catch_up(self.store, self.conn, READ_MODELS)

    def status(self, order_id: str, as_of: datetime | None = None) -> dict[str, Any] | None:
        """SPEC.md's status object for one order (None if there is no such order)."""
        self.catch_up()
        row = order_row(self.conn, order_id)
        if row is None:
            return None
        return {
            "order_id": row["order_id"],
            "policy": row["policy"],
            "policy_version": row["policy_version"],
            "status": status_of(self.conn, row, as_of),
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
                for r in returns_of(self.conn, order_id)
            ],
        }

    def refunds(self, as_of: datetime) -> dict[str, Any]:
        """Refund totals, pending and overdue refunds as of a time."""
        self.catch_up()
        return refunds_report(self.conn, as_of)


def iso(value: date | datetime | None) -> str | None:
    """Times as the read models store them; dates as ISO dates."""
    if value is None:
        return None
    return format_time(value) if isinstance(value, datetime) else value.isoformat()
