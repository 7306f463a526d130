"""A hash-valid row with data orderlog never writes (forged with the chain recomputed): every
reading command reports it as `corrupt_log` in one line naming its position and `verify`, never
as an internal error or as a refusal of some command."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from eventstore.rows import StoredRow, row_hash
from tests.integration.clitools import Orderlog, applied, assert_one_line_error
from tests.integration.workloads import journey

READERS = [
    ("status", "o1"),
    ("status", "o1", "--as-of", "2030-01-01"),
    ("history", "o1"),
    ("explain", "o1"),
    ("refunds",),
    ("replay",),
]

FORGERIES: dict[str, tuple[str, dict[str, Any]]] = {
    # A refund decision with no amount (or anything else but its return).
    "missing_fields": ("RefundDecided", {"order_id": "o1", "return_id": "r1"}),
    # Postage paid as text: no event of that type holds it.
    "wrong_type": (
        "ReturnReceived",
        {"order_id": "o1", "return_id": "r1", "return_shipping_paid": "abc"},
    ),
    # A second dispatch of a delivered order: it decodes, but no order can take that step.
    "forbidden_step": ("OrderDispatched", {"order_id": "o1", "carrier": None}),
}

CASES = [
    (forgery, reader)
    for forgery in sorted(FORGERIES)
    for reader in READERS
    # history lists events without folding them: a forbidden step is shown, for verify to name
    if not (forgery == "forbidden_step" and reader[0] == "history")
]


def forge_next_row(db: Path, event_type: str, data: dict[str, Any]) -> int:
    """Append a row to o1's stream with its hash recomputed, as anyone without the key can;
    returns its position."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        last = StoredRow._make(
            conn.execute(
                "SELECT * FROM events WHERE stream_id = 'order-o1' ORDER BY position DESC LIMIT 1"
            ).fetchone()
        )
        head = conn.execute("SELECT position, hash FROM events ORDER BY position DESC").fetchone()
        row = last._replace(
            position=head[0] + 1,
            stream_version=last.stream_version + 1,
            type=event_type,
            schema_version=1,
            data=json.dumps(data),
        )
        row = row._replace(hash=row_hash(row, head[1]))
        conn.execute(f"INSERT INTO events VALUES ({', '.join('?' * len(row))})", row)
    finally:
        conn.close()
    return row.position


@pytest.fixture
def forged_log(request: pytest.FixtureRequest, orderlog: Orderlog, db: Path, tmp_path: Path) -> int:
    assert applied(orderlog, db, tmp_path, journey("o1")).code == 1  # its late request declines
    event_type, data = FORGERIES[request.param]
    return forge_next_row(db, event_type, data)


@pytest.mark.parametrize(
    ("forged_log", "reader"),
    CASES,
    indirect=["forged_log"],
    ids=[f"{forgery}-{' '.join(reader)}" for forgery, reader in CASES],
)
def test_a_forged_hash_valid_row_is_a_corrupt_log_for_every_reading_command(
    orderlog: Orderlog, db: Path, forged_log: int, reader: tuple[str, ...]
) -> None:
    run = orderlog(*reader, "--db", str(db))

    assert run.code == 2
    assert_one_line_error(run, "corrupt_log")
    assert f"event {forged_log} " in run.err
    assert "run `orderlog verify`" in run.err


@pytest.mark.parametrize("forged_log", ["forbidden_step"], indirect=True)
def test_verify_names_the_forged_row_the_readers_point_to(
    orderlog: Orderlog, db: Path, forged_log: int
) -> None:
    run = orderlog("verify", "--db", str(db), "--json")

    assert run.code == 1
    assert run.json()["problem"]["position"] == forged_log
