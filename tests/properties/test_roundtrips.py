"""Round trips: commands through their JSON wire form, events through the store, and the
malformed commands of `lifecycle.testing` through `parse_command`, which must name the field."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore import InMemoryEventStore
from lifecycle import InvalidCommand, OrderService, Policy, command_to_dict, decide, parse_command
from lifecycle.commands import Command
from lifecycle.envelopes import from_recorded, order_stream, to_new_event
from lifecycle.events import EVENT_TYPES, Event, OrderEvent
from lifecycle.order import Order, evolve
from lifecycle.testing import (
    invalid_commands,
    utc_times,
    valid_commands,
    well_formed_commands,
    wire_times,
)
from tests.strategies import SHIPPED, any_policies, instances, json_objects, shipped_policies


def _without_subscriptions(policy: Policy) -> Policy:
    return attrs.evolve(policy, subscriptions=None)


# -- commands -----------------------------------------------------------------------------------


@given(data=st.data(), policy=st.none() | shipped_policies())
def test_a_well_formed_command_survives_its_wire_form(data: st.DataObject, policy: Any) -> None:
    command = parse_command(data.draw(well_formed_commands(policy), label="command"))
    wire = command_to_dict(command)
    assert parse_command(json.loads(json.dumps(wire))) == command
    assert command_to_dict(parse_command(wire)) == wire


@given(data=st.data(), policy=any_policies())
def test_every_command_of_a_valid_sequence_survives_its_wire_form(
    data: st.DataObject, policy: Policy
) -> None:
    for raw in data.draw(valid_commands(policy, refusals=True), label="commands"):
        command = parse_command(raw)
        assert parse_command(json.loads(json.dumps(command_to_dict(command)))) == command


@given(moment=utc_times(), data=st.data())
def test_a_wire_time_names_the_same_instant(moment: datetime, data: st.DataObject) -> None:
    text = data.draw(wire_times(moment), label="text")
    parsed = datetime.fromisoformat(text)
    assert parsed.utcoffset() is not None
    assert parsed == moment


# -- events -------------------------------------------------------------------------------------


@given(
    event=st.sampled_from(sorted(EVENT_TYPES.values(), key=lambda c: c.__name__)).flatmap(
        instances
    ),
    metadata=json_objects,
)
def test_any_event_survives_the_store_unchanged(event: Event, metadata: dict[str, Any]) -> None:
    """Every event shape, with any text, numbers and times in it, reads back equal."""
    store = InMemoryEventStore()
    try:
        [written] = store.append("stream-1", [to_new_event(event, metadata)]).events
        [read] = store.read_stream("stream-1")
        assert read == written
        assert read.metadata == metadata
        assert from_recorded(read) == event
    finally:
        store.close()


@given(data=st.data(), policy=shipped_policies())
def test_events_the_domain_decides_survive_the_store_unchanged(
    data: st.DataObject, policy: Policy
) -> None:
    """Events from `decide` on a valid sequence, appended and read back, are the same events."""
    policy = _without_subscriptions(policy)
    orders: dict[str, Order] = {}
    store = InMemoryEventStore()
    try:
        for raw in data.draw(valid_commands(policy, orders=2), label="commands"):
            command = parse_command(raw)
            assert isinstance(command, Command)
            events = decide(orders.get(command.order_id), command, policy)
            stream = order_stream(command.order_id)
            result = store.append(
                stream, [to_new_event(e, {"command": raw["type"]}) for e in events]
            )
            assert [from_recorded(r) for r in result.events] == events
            for event in events:
                orders[event.order_id] = evolve(orders.get(event.order_id), event)
        for order_id, order in orders.items():
            stored = [from_recorded(r) for r in store.read_stream(order_stream(order_id))]
            assert all(isinstance(e, OrderEvent) for e in stored)
            assert stored[0].at == order.placed.at
    finally:
        store.close()


# -- malformed commands -------------------------------------------------------------------------


@given(data=st.data(), policy=st.none() | shipped_policies())
def test_a_malformed_command_is_refused_naming_its_field(data: st.DataObject, policy: Any) -> None:
    case = data.draw(invalid_commands(policy), label="malformed")
    with pytest.raises(InvalidCommand) as raised:
        parse_command(case.command)
    assert raised.value.code == "invalid_command"
    assert raised.value.field == case.field, raised.value.message


def test_a_lone_surrogate_is_refused_as_an_invalid_command() -> None:
    service = OrderService(InMemoryEventStore(), SHIPPED)
    outcome = service.handle(
        {"type": "dispatch_order", "order_id": "\ud800", "at": "2026-03-02T09:00:00Z"}
    )
    assert (outcome.error or {}).get("code") == "invalid_command"
