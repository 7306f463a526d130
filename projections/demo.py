"""`orderlog demo`: a fresh log with a realistic month of orders and returns across the shipped
policies, run through the service like fulfilment code would, then summarised.

The script is fixed (no randomness, no clock), so every run writes the same events but for the
store's recording times (and so the hashes, which cover them). That is also how the demo knows a
file is its own: it replaces only a log whose events are exactly the ones it writes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import zip_longest
from pathlib import Path
from typing import Any

from eventstore import ForeignDatabase, SQLiteEventStore, StoredRow
from eventstore.codec import parse_iso_time

from .app import Orderlog

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEMO_ACTOR = "orderlog-demo"
_SIDE_FILES = ("-wal", "-shm", "-journal")


def run_demo(path: Path, *, quiet: bool = False) -> dict[str, Any]:
    """Write the demo log to `path` and return a summary: outcome counts, the commands that
    were declined or refused (on purpose) and why, every order's status, and the refunds report.

    The log is written beside `path` first and moved into place at the end. An existing file
    is replaced only if it holds no events or exactly the events this demo writes; anything
    else raises `ForeignDatabase` and is left as it was."""
    fresh = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.demo")
    try:
        summary = _write(fresh)
        if path.exists() and not _replaceable(path, fresh):
            raise ForeignDatabase(
                f"{path} holds a log the demo did not write (its events are not the demo's); "
                "give another --db, or remove the file yourself if you mean it"
            )
        for suffix in _SIDE_FILES:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(fresh, path)
    finally:
        for suffix in ("", *_SIDE_FILES):
            Path(f"{fresh}{suffix}").unlink(missing_ok=True)
    return {"db": str(path), **summary}


def _write(path: Path) -> dict[str, Any]:
    outcomes = {"accepted": 0, "declined": 0, "refused": 0}
    not_accepted, placed = [], []
    # Each order's commands must come in time order; the log reads best fully chronological.
    commands = sorted(script(), key=lambda command: command["at"])
    with Orderlog(path) as log:
        for command in commands:
            outcome = log.handle({**command, "actor": DEMO_ACTOR})
            kind = "accepted" if outcome.ok else ("declined" if outcome.events else "refused")
            outcomes[kind] += 1
            if outcome.ok and command["type"] in _PLACING:
                placed.append(command["order_id"])
            if outcome.error is not None:
                not_accepted.append(
                    {
                        "order_id": command.get("order_id"),
                        "type": command["type"],
                        "outcome": kind,
                        **outcome.error,
                    }
                )
        # The demo's "now": an hour after its last command.
        as_of = parse_iso_time(commands[-1]["at"]) + timedelta(hours=1)
        orders = [log.status(order_id, as_of).as_dict() for order_id in placed]
        report = log.refunds(as_of)
        head = str(log.store.head())
    return {
        "commands": len(commands),
        "outcomes": outcomes,
        "not_accepted": not_accepted,
        "orders": orders,
        "refunds": report,
        "head": head,
    }


_PLACING = ("place_order", "start_subscription", "renew_subscription")


def _replaceable(path: Path, demo: Path) -> bool:
    """Whether `path` is empty, a log without events, or one holding exactly the events of the
    demo log at `demo`: every column but the recording time and the hash that covers it.
    Raises `ForeignDatabase` for a file that is not an orderlog log."""
    if path.stat().st_size == 0:
        return True
    existing, written = (SQLiteEventStore(p, read_only=True) for p in (path, demo))
    try:
        if existing.head().position == 0:
            return True
        pairs = zip_longest(existing.read_rows(), written.read_rows())
        return all(
            old is not None and new is not None and _content(old) == _content(new)
            for old, new in pairs
        )
    finally:
        existing.close()
        written.close()


def _content(row: StoredRow) -> tuple[object, ...]:
    return row[: StoredRow._fields.index("recorded_at")]


def at(day: float, hours: float = 0) -> str:
    return (START + timedelta(days=day, hours=hours)).isoformat()


def order(
    order_id: str, policy: str, day: float, lines: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {
        "type": "place_order",
        "order_id": order_id,
        "at": at(day),
        "policy": policy,
        "currency": "USD",
        "customer": {"id": f"cust-{order_id}", "country": extra.pop("country", "US")},
        "lines": lines,
        "payment_method": extra.pop("payment_method", "visa"),
        "command_id": f"{order_id}-place",
        **extra,
    }


def line(line_id: str, sku: str, price: int, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"line_id": line_id, "sku": sku, "quantity": quantity, "unit_price": price, **extra}


def step(kind: str, order_id: str, day: float, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "order_id": order_id, "at": at(day), **fields}


def delivered(order_id: str, day: float) -> list[dict[str, Any]]:
    return [
        step("dispatch_order", order_id, day + 0.1, carrier="post"),
        step("confirm_delivery", order_id, day + 3),
    ]


def returned(
    order_id: str,
    return_id: str,
    day: float,
    lines: list[tuple[str, int]],
    reason: str,
    method: str,
    condition: str,
    **request: Any,
) -> list[dict[str, Any]]:
    """A return from request to inspection: request, receive four days later, inspect."""
    postage = request.pop("postage", 850)
    wanted = [{"line_id": i, "quantity": q} for i, q in lines]
    found = [{"line_id": i, "quantity": q, "condition": condition} for i, q in lines]
    return [
        step(
            "request_return",
            order_id,
            day,
            return_id=return_id,
            lines=wanted,
            reason=reason,
            method=method,
            **request,
        ),
        step(
            "receive_return", order_id, day + 4, return_id=return_id, return_shipping_paid=postage
        ),
        step("inspect_return", order_id, day + 4.2, return_id=return_id, lines=found),
    ]


def script() -> Iterator[dict[str, Any]]:
    """The demo's commands, oldest first within each order."""
    yield from _kiyomi()
    yield from _kos_allure()
    yield from _allegra_k()
    yield from _kgm_brand()


def _kiyomi() -> Iterator[dict[str, Any]]:
    serum, masks = (
        line("l1", "KIYOMI-SERUM", 2800),
        [line("l2", "MASK-HYDRA", 1200, bundle="1+1"), line("l3", "MASK-GLOW", 1200, bundle="1+1")],
    )
    yield order("K-1001", "kiyomi", 0, [serum, *masks], shipping_fee=500, discount=400)
    yield from delivered("K-1001", 0)
    yield from returned("K-1001", "R1", 6, [("l1", 1)], "changed_mind", "own_carrier", "unopened")
    yield step("issue_refund", "K-1001", 12, return_id="R1", payment_reference="pay-K1001-R1")
    yield step(
        "request_return",
        "K-1001",
        8,
        return_id="R2",
        lines=[{"line_id": "l2", "quantity": 1}],
        reason="changed_mind",
        method="own_carrier",
    )
    yield order("K-1002", "kiyomi", 1, [serum], shipping_fee=500)
    yield step("cancel_order", "K-1002", 1.002, reason="ordered twice")
    yield step("issue_refund", "K-1002", 2, payment_reference="pay-K1002")
    yield order("K-1003", "kiyomi", 2, [serum], shipping_fee=500)
    yield step("cancel_order", "K-1003", 2.05, reason="changed mind after an hour")
    yield from delivered("K-1003", 2)
    yield from returned("K-1003", "R1", 7, [("l1", 1)], "damaged", "prepaid_label", "damaged")
    yield step("ship_replacement", "K-1003", 12, return_id="R1", tracking_number="KY-REPL-1")
    yield order("K-1004", "kiyomi", 3, [serum], shipping_fee=500)
    yield from delivered("K-1004", 3)
    yield step(
        "request_return",
        "K-1004",
        40,
        return_id="R1",
        lines=[{"line_id": "l1", "quantity": 1}],
        reason="changed_mind",
        method="own_carrier",
    )
    subscription = order(
        "K-1005", "kiyomi", 4, [line("l1", "KIYOMI-SERUM-SUB", 2800)], shipping_fee=0, discount=280
    )
    yield {
        **subscription,
        "type": "start_subscription",
        "subscription_id": "KS-1",
        "every_days": 30,
    }
    yield from delivered("K-1005", 4)
    yield {
        "type": "renew_subscription",
        "order_id": "K-1006",
        "subscription_id": "KS-1",
        "at": at(34),
    }
    yield {
        "type": "cancel_subscription",
        "subscription_id": "KS-1",
        "at": at(35),
        "reason": "moving abroad",
    }
    yield order("K-1007", "kiyomi", 30, [serum], shipping_fee=500)
    yield from delivered("K-1007", 30)
    yield from returned("K-1007", "R1", 35, [("l1", 1)], "changed_mind", "own_carrier", "unopened")


def _kos_allure() -> Iterator[dict[str, Any]]:
    cream, essence = line("l1", "KOS-CREAM", 2400), line("l2", "KOS-ESSENCE", 1800)
    yield order("S-2001", "kos-allure", 1, [cream, essence])
    yield from delivered("S-2001", 1)
    # An allergic reaction is settled without a parcel back, once a person approves it.
    yield step(
        "request_return",
        "S-2001",
        5,
        return_id="R1",
        lines=[{"line_id": "l2", "quantity": 1}],
        reason="allergic_reaction",
        method="own_carrier",
    )
    yield step(
        "review_return", "S-2001", 6, return_id="R1", decision="approve", actor="support-ana"
    )
    yield step("issue_refund", "S-2001", 14, return_id="R1")
    yield order("S-2002", "kos-allure", 2, [essence], payment_method="paypal")
    yield from delivered("S-2002", 2)
    yield step(
        "request_return",
        "S-2002",
        20,
        return_id="R1",
        lines=[{"line_id": "l2", "quantity": 1}],
        reason="changed_mind",
        method="own_carrier",
    )
    yield order("S-2003", "kos-allure", 3, [cream])
    yield from delivered("S-2003", 3)
    yield from returned(
        "S-2003",
        "R1",
        8,
        [("l1", 1)],
        "changed_mind",
        "own_carrier",
        "unopened",
        resolution="exchange",
        exchange_sku="KOS-CREAM-RICH",
    )
    yield step("ship_replacement", "S-2003", 13, return_id="R1")
    yield order("S-2004", "kos-allure", 4, [cream], currency="EUR")


def _allegra_k() -> Iterator[dict[str, Any]]:
    dress, socks = line("l1", "AK-DRESS", 3999), line("l2", "AK-SOCKS", 899, category="socks")
    blouse = line("l3", "AK-BLOUSE", 2599, quantity=2)
    yield order("A-3001", "allegra-k", 2, [dress, socks, blouse], shipping_fee=499)
    yield from delivered("A-3001", 2)
    yield from returned("A-3001", "R1", 6, [("l1", 1)], "changed_mind", "prepaid_label", "unopened")
    yield step("issue_refund", "A-3001", 13, return_id="R1")
    yield step(
        "request_return",
        "A-3001",
        7,
        return_id="R2",
        lines=[{"line_id": "l2", "quantity": 1}],
        reason="changed_mind",
        method="own_carrier",
    )
    yield from returned("A-3001", "R3", 9, [("l3", 1)], "changed_mind", "prepaid_label", "unopened")
    yield order("A-3002", "allegra-k", 3, [dress], shipping_fee=999, country="CA")
    yield from delivered("A-3002", 3)
    yield from returned("A-3002", "R1", 9, [("l1", 1)], "defective", "own_carrier", "defective")
    yield order(
        "A-3003",
        "allegra-k",
        4,
        [dress, line("l2", "AK-COAT", 8900)],
        shipping_fee=0,
        shipping_address={"country": "US"},
        billing_address={"country": "GB"},
    )
    yield from delivered("A-3003", 4)
    yield step(
        "request_return",
        "A-3003",
        9,
        return_id="R1",
        lines=[{"line_id": "l1", "quantity": 1}, {"line_id": "l2", "quantity": 1}],
        reason="changed_mind",
        method="prepaid_label",
    )
    yield step(
        "review_return",
        "A-3003",
        10,
        return_id="R1",
        decision="approve",
        note="customer confirmed by email",
    )
    yield step(
        "request_return",
        "A-3001",
        10,
        return_id="R4",
        lines=[{"line_id": "l3", "quantity": 1}],
        reason="changed_mind",
        method="own_carrier",
        resolution="exchange",
        exchange_sku="AK-DRESS-M",
    )


def _kgm_brand() -> Iterator[dict[str, Any]]:
    jacket, tee = line("l1", "KGM-JACKET", 5900), line("l2", "KGM-TEE", 1500, quantity=2)
    yield order("G-4001", "kgm-brand", 3, [jacket, tee], shipping_fee=800)
    yield from delivered("G-4001", 3)
    yield step(
        "request_return",
        "G-4001",
        6.5,
        return_id="R1",
        lines=[{"line_id": "l2", "quantity": 1}],
        reason="missing_item",
        method="own_carrier",
        evidence={"unboxing_video": True},
    )
    yield step(
        "request_return",
        "G-4001",
        6.6,
        return_id="R2",
        lines=[{"line_id": "l1", "quantity": 1}],
        reason="missing_item",
        method="own_carrier",
    )
    yield order("G-4002", "kgm-brand", 4, [jacket], shipping_fee=800)
    yield step("dispatch_order", "G-4002", 4.2)
    yield step("report_lost", "G-4002", 12)
    yield order("G-4003", "kgm-brand", 5, [jacket], shipping_fee=800)
    yield from delivered("G-4003", 5)
    yield from returned(
        "G-4003", "R1", 9, [("l1", 1)], "not_as_described", "own_carrier", "opened", postage=2400
    )
    yield order("G-4004", "kgm-brand", 6, [tee], shipping_fee=800)
    yield from delivered("G-4004", 6)
    yield from returned("G-4004", "R1", 20, [("l2", 2)], "changed_mind", "pickup", "unopened")
    yield step("issue_refund", "G-4004", 26, return_id="R1")
