"""What fulfilment teams rely on when they use `lifecycle.testing`: the example of
docs/testing-strategies.md, run as written, and the promises the strategies make."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventstore import SQLiteEventStore
from lifecycle import DECLINE_CODES, OrderService, Policy, PolicyRegistry, parse_command
from lifecycle.testing import (
    PROBLEMS,
    invalid_commands,
    place_order_commands,
    valid_commands,
)
from tests.strategies import SHIPPED, any_policies

# -- the documented example, word for word ------------------------------------------------------

REGISTRY = PolicyRegistry.shipped()
KIYOMI = REGISTRY.current("kiyomi")


def refunds_to_pay(outcome_events: list[dict[str, Any]]) -> dict[str, int]:
    """Our payment adapter's view: how much to pay back per order, from RefundIssued events."""
    owed: dict[str, int] = {}
    for event in outcome_events:
        if event["type"] == "RefundIssued":
            order_id = event["data"]["order_id"]
            owed[order_id] = owed.get(order_id, 0) + event["data"]["amount"]
    return owed


@given(valid_commands(KIYOMI, orders=3))
def test_we_never_pay_back_more_than_the_customer_paid(commands: list[dict[str, Any]]) -> None:
    service = OrderService(SQLiteEventStore.in_memory(), REGISTRY)
    written = []
    for command in commands:
        outcome = service.handle(command)
        assert outcome.ok or outcome.events == ("ReturnDeclined",)
        written += [{"type": e.type, "data": e.data} for e in outcome.recorded]
    for order_id, amount in refunds_to_pay(written).items():
        order = service.load(order_id)
        assert order is not None
        assert amount <= order.paid_total


def test_the_documented_example_is_the_one_above() -> None:
    """docs/testing-strategies.md shows the example above word for word (imports aside)."""
    docs = Path(__file__).parents[2] / "docs" / "testing-strategies.md"
    block = docs.read_text(encoding="utf-8").split("```python\n")[1].split("```")[0]
    example = block[block.index("REGISTRY = ") :]
    assert example in Path(__file__).read_text(encoding="utf-8")


# -- the promises of lifecycle.testing ----------------------------------------------------------


def _service(policy: Policy) -> OrderService:
    registry = (
        PolicyRegistry([policy]) if SHIPPED.get(policy.name, policy.version) is None else SHIPPED
    )
    return OrderService(SQLiteEventStore.in_memory(), registry)


def _time(command: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(command["at"])


def test_importing_lifecycle_does_not_import_hypothesis() -> None:
    """hypothesis is a test extra: fulfilment code imports lifecycle without it."""
    probe = "import sys, lifecycle; print('hypothesis' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@given(data=st.data(), policy=any_policies())
def test_a_valid_sequence_is_accepted_or_declined_never_refused(
    data: st.DataObject, policy: Policy
) -> None:
    """The promise of `valid_commands`, for the shipped shops and made-up ones alike."""
    start = datetime(2027, 1, 4, 12, 30, tzinfo=UTC)
    commands = data.draw(valid_commands(policy, start=start), label="commands")
    assert commands[0]["type"] in ("place_order", "start_subscription")
    times = [_time(c) for c in commands]
    assert start <= times[0]
    assert times == sorted(times), "times never go back"
    ids = [c["command_id"] for c in commands]
    assert len(set(ids)) == len(ids)
    service = _service(policy)
    for command in commands:
        assert json.loads(json.dumps(command)) == command, "plain JSON"
        outcome = service.handle(command)
        if not outcome.ok:
            assert outcome.events == ("ReturnDeclined",), (command, outcome.as_dict())
            assert (outcome.error or {})["code"] in DECLINE_CODES
    for order_id in {c["order_id"] for c in commands if "order_id" in c}:
        order = service.load(order_id)
        assert order is not None
        assert 0 <= order.refunded_total <= order.decided_total
        assert order.decided_goods_total <= order.paid_total  # reimbursements sit beside it


@given(data=st.data(), policy=any_policies())
def test_with_refusals_the_refused_commands_are_well_formed_and_write_nothing(
    data: st.DataObject, policy: Policy
) -> None:
    commands = data.draw(valid_commands(policy, refusals=True, orders=2), label="commands")
    service = _service(policy)
    for command in commands:
        parse_command(command)  # raises if it were malformed
        before = service.store.head()
        outcome = service.handle(command)
        if not outcome.events:
            assert not outcome.ok
            assert service.store.head() == before


@given(data=st.data(), policy=any_policies())
def test_a_drawn_place_order_is_accepted_on_its_own(data: st.DataObject, policy: Policy) -> None:
    command = data.draw(place_order_commands(policy), label="place_order")
    outcome = _service(policy).handle(command)
    assert outcome.ok, outcome.as_dict()


@given(data=st.data(), policy=st.none() | any_policies())
def test_a_malformed_command_is_refused_by_the_service_writing_nothing(
    data: st.DataObject, policy: Policy | None
) -> None:
    service = _service(policy or KIYOMI)
    case = data.draw(invalid_commands(policy), label="malformed")
    outcome = service.handle(case.command)
    assert (outcome.error or {}).get("code") == "invalid_command"
    assert (outcome.error or {})["message"].startswith(f"{case.field}: ")
    assert service.store.head().position == 0


def test_strategy_arguments_are_checked_when_the_strategy_is_made() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        valid_commands(KIYOMI, start=datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValueError, match="orders >= 1"):
        valid_commands(KIYOMI, orders=0)
    with pytest.raises(ValueError, match="problems must be some of"):
        invalid_commands(problems=["spilled coffee"])
    assert "unknown field" in PROBLEMS


@given(commands=valid_commands(KIYOMI, start=datetime(2030, 6, 1, tzinfo=UTC), steps=5))
def test_times_follow_the_start_given(commands: list[dict[str, Any]]) -> None:
    """Times come from `start`, never the clock: a failing example replays as it was."""
    start = datetime(2030, 6, 1, tzinfo=UTC)
    assert all(start <= _time(c) < start + timedelta(days=600) for c in commands)
