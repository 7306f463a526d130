"""A log written before a schema change goes on being used after it (issue 11, ruling 1): its
old events are read through the upcasters by every reader, the audit's path check included."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from eventstore import InMemoryEventStore, NewEvent
from eventstore.rows import StoredRow, row_hash
from lifecycle import OrderService, PolicyRegistry
from projections.app import Orderlog
from tests.integration.clitools import Orderlog as Tool
from tests.support import at


def _command(kind: str, days: float, return_id: str | None = None, **fields: Any) -> dict[str, Any]:
    command = {"type": kind, "order_id": "o1", "at": at(days).isoformat(), **fields}
    return command if return_id is None else {**command, "return_id": return_id}


def _return(return_id: str, line_id: str, days: float) -> list[dict[str, Any]]:
    one = [{"line_id": line_id, "quantity": 1}]
    inspected = [{"line_id": line_id, "quantity": 1, "condition": "unopened"}]
    return [
        _command(
            "request_return",
            days,
            return_id,
            reason="changed_mind",
            method="own_carrier",
            lines=one,
        ),
        _command("receive_return", days + 1, return_id),
        _command("inspect_return", days + 2, return_id, lines=inspected),
    ]


PLACED = _command(
    "place_order",
    0,
    policy="allegra-k",
    currency="USD",
    shipping_fee=0,
    customer={"id": "c1", "country": "CA"},
    payment_method="visa",
    lines=[
        {"line_id": "l1", "sku": "TOP", "quantity": 1, "unit_price": 1000},
        {"line_id": "l2", "sku": "TEE", "quantity": 1, "unit_price": 1000},
    ],
)


def _old_log(path: Path) -> None:
    """An Allegra K order to Canada whose first return (with its $6.99 credit) was refunded
    under schema 1 (no `reimbursed`: 1699, of which 699 the credit), then a second return
    refunded under schema 2 (its full 1000: the credit sits outside the cap)."""
    scratch = InMemoryEventStore()
    service = OrderService(scratch, PolicyRegistry.shipped())
    for command in [
        PLACED,
        _command("dispatch_order", 1),
        _command("confirm_delivery", 3),
        *_return("r1", "l1", 5),
    ]:
        assert service.handle(command).ok, command
    with Orderlog(path) as log:
        for stream in ("policy-allegra-k", "order-o1"):
            for recorded in scratch.read_stream(stream):
                data, version = dict(recorded.data), recorded.schema_version
                if recorded.type == "RefundDecided":
                    assert (data.pop("reimbursed"), data["amount"]) == (699, 1699)
                    version = 1
                event = NewEvent(
                    recorded.type, data, recorded.occurred_at, version, recorded.metadata
                )
                log.store.append(stream, [event])
        for command in _return("r2", "l2", 11):
            assert log.handle(command).ok, command
        assert [r.refund_amount for r in log.status("o1").returns] == [1699, 1000]


def test_ruling_1_verify_reads_a_schema_1_refund_through_the_upcasters(
    orderlog: Tool, db: Path
) -> None:
    _old_log(db)
    run = orderlog("verify", "--db", str(db), "--json")
    assert run.code == 0, run.out
    assert run.json()["checks"]["paths"] == "ok"


def test_ruling_1_an_export_with_a_schema_1_refund_imports(
    orderlog: Tool, db: Path, tmp_path: Path
) -> None:
    _old_log(db)
    exported = orderlog("export", "--db", str(db))
    assert exported.code == 0
    (tmp_path / "export.jsonl").write_text(exported.out)
    copy = tmp_path / "copy.db"
    run = orderlog("import", str(tmp_path / "export.jsonl"), "--db", str(copy))
    assert run.code == 0, run.err


def test_a_forged_schema_1_refund_with_garbage_adjustments_is_a_named_problem(
    orderlog: Tool, db: Path
) -> None:
    """The upcaster meets whatever a hash-valid row holds: a problem for verify, not a crash."""
    _old_log(db)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        last = StoredRow._make(
            conn.execute("SELECT * FROM events ORDER BY position DESC LIMIT 1").fetchone()
        )
        data = {"order_id": "o1", "return_id": "r2", "amount": 5, "adjustments": ["x"]}
        row = last._replace(
            position=last.position + 1,
            stream_version=last.stream_version + 1,
            type="RefundDecided",
            schema_version=1,
            data=json.dumps(data),
        )
        row = row._replace(hash=row_hash(row, last.hash))
        conn.execute(f"INSERT INTO events VALUES ({', '.join('?' * len(row))})", row)
    finally:
        conn.close()
    run = orderlog("verify", "--db", str(db), "--json")
    assert run.code == 1, run.err
    assert run.json()["problem"]["kind"] == "illegal_path"
