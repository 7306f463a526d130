"""Fixtures of the unit tier: an order service over an in-memory log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventstore import InMemoryEventStore
from lifecycle import OrderService, Policy, PolicyRegistry
from tests.unit.builders import ServiceFactory


@pytest.fixture
def make_service() -> Iterator[ServiceFactory]:
    """Builds `OrderService`s over fresh in-memory logs with the given policies; closes them."""
    stores: list[InMemoryEventStore] = []

    def build(*policies: Policy) -> OrderService:
        store = InMemoryEventStore()
        stores.append(store)
        return OrderService(store, PolicyRegistry(list(policies)))

    yield build
    for store in stores:
        store.close()
