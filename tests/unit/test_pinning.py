"""The policy version pinned on an order is found in the registry, else in the log; the service
decides under it and `orderlog explain` explains with it, without the service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventstore import SQLiteEventStore
from lifecycle import OrderService, PolicyRegistry, UnknownOrder, UnknownPolicy
from lifecycle.pinning import pinned_policy
from projections.explain import explain_order
from tests.support import at
from tests.unit.builders import ORDER_ID, line, make_policy, order_command, place_order

FIRST = make_policy('[cancellation]\nwindow_minutes = 60\nclause = "shop/one-hour"')
EDITED = make_policy('[cancellation]\nwindow_minutes = 5\nclause = "shop/five-minutes"')


@pytest.fixture
def store() -> Iterator[SQLiteEventStore]:
    """A log where an order was placed (and cancelled, refunded in full) under FIRST."""
    log = SQLiteEventStore.in_memory()
    service = OrderService(log, PolicyRegistry([FIRST]))
    assert service.handle(place_order(line("l1", unit_price=1500), shipping_fee=300)).ok
    assert service.handle(order_command("cancel_order", at(0, minutes=30))).ok
    yield log
    log.close()


def test_the_registry_answers_first(store: SQLiteEventStore) -> None:
    registry = PolicyRegistry([FIRST])
    order = OrderService(store, registry).load(ORDER_ID)
    assert order is not None
    assert pinned_policy(store, registry, order) is FIRST


def test_a_version_the_files_lost_is_read_from_the_log_and_kept_not_current(
    store: SQLiteEventStore,
) -> None:
    registry = PolicyRegistry([EDITED])
    order = OrderService(store, registry).load(ORDER_ID)
    assert order is not None
    found = pinned_policy(store, registry, order)
    assert (found.version, found.text) == (FIRST.version, FIRST.text)
    assert registry.get("shop", FIRST.version) is found
    assert registry.current("shop") is EDITED


def test_a_version_in_neither_the_files_nor_the_log_is_unknown() -> None:
    log = SQLiteEventStore.in_memory()
    service = OrderService(log, PolicyRegistry([FIRST]))
    assert service.handle(place_order()).ok
    order = service.load(ORDER_ID)
    assert order is not None
    elsewhere = SQLiteEventStore.in_memory()  # a log without the policy's record
    with pytest.raises(UnknownPolicy, match="in neither the policy files nor the log"):
        pinned_policy(elsewhere, PolicyRegistry([EDITED]), order)
    elsewhere.close()
    log.close()


def test_explain_reads_the_pinned_policy_from_the_log_without_a_service(
    store: SQLiteEventStore,
) -> None:
    explained = explain_order(store, PolicyRegistry([EDITED]), ORDER_ID)
    assert explained is not None
    assert explained["policy_version"] == FIRST.version
    [refund] = explained["refunds"]
    assert refund["amount"] == 1500 + 300
    assert [step["amount"] for step in refund["steps"]] == [1500, 300]
    assert "original shipping refunded" in refund["steps"][1]["sentence"]


def test_explain_of_an_order_never_placed_is_an_unknown_order(store: SQLiteEventStore) -> None:
    with pytest.raises(UnknownOrder, match="o-none"):
        explain_order(store, PolicyRegistry([FIRST]), "o-none")
