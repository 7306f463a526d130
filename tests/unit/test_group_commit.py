"""Group commit through the Python API (`OrderService.handle_batch`): one transaction for many
commands, each decided on the log and the commands before it; refusals write nothing of their
own and stop nothing else; command ids are honoured inside the batch and across batches; the
outcomes exist only once the batch has committed.

And the recent states the service keeps after its commits: another writer's commit never leads
it to a wrong decision."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from eventstore import AppendResult, ConcurrencyConflict, InMemoryEventStore, PreparedAppend
from lifecycle import OrderService, PolicyRegistry
from lifecycle.envelopes import order_stream
from lifecycle.service import Backoff
from tests.support import at
from tests.unit.builders import ServiceFactory, make_policy, order_command, place_order

POLICY = make_policy('[exchange]\noffered = false\nclause = "shop/no-exchanges"')


def events_in_log(service: OrderService) -> list[tuple[str, str]]:
    return [(e.stream_id, e.type) for e in service.store.read_all()]


def test_a_batch_decides_each_command_on_the_ones_before_it(
    make_service: ServiceFactory,
) -> None:
    service = make_service(POLICY)
    outcomes = service.handle_batch(
        [
            place_order(order_id="o1"),
            order_command("dispatch_order", at(1), order_id="o1", carrier="post"),
            order_command("confirm_delivery", at(2), order_id="o1"),
            place_order(order_id="o2"),
        ]
    )
    assert [o.events for o in outcomes] == [
        ("PolicyRecorded", "OrderPlaced"),
        ("OrderDispatched",),
        ("OrderDelivered",),
        ("OrderPlaced",),  # the policy text went in once, with o1
    ]
    assert all(o.ok for o in outcomes)
    assert [e.stream_version for e in outcomes[2].recorded] == [3]
    order = service.load("o1")
    assert order is not None
    assert order.state.value == "received"


def test_a_refused_command_in_a_batch_writes_nothing_and_stops_nothing(
    make_service: ServiceFactory,
) -> None:
    service = make_service(POLICY)
    outcomes = service.handle_batch(
        [
            place_order(order_id="o1"),
            order_command("confirm_delivery", at(1), order_id="o1"),  # not dispatched yet
            {"type": "dispatch_order", "order_id": "o1"},  # malformed: no time
            order_command("dispatch_order", at(1), order_id="o1", carrier="post"),
            order_command("dispatch_order", at(2), order_id="nowhere"),
        ]
    )
    assert [o.ok for o in outcomes] == [True, False, False, True, False]
    codes = [o.error["code"] for o in outcomes if o.error is not None]
    assert codes == ["illegal_transition", "invalid_command", "unknown_order"]
    assert events_in_log(service) == [
        ("policy-shop", "PolicyRecorded"),
        (order_stream("o1"), "OrderPlaced"),
        (order_stream("o1"), "OrderDispatched"),
    ]


def test_a_command_id_twice_in_a_batch_is_written_once(make_service: ServiceFactory) -> None:
    service = make_service(POLICY)
    dispatch = order_command("dispatch_order", at(1), carrier="post", command_id="d-1")
    first, again = service.handle_batch([place_order(), dispatch, dispatch])[1:]
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.events == first.events == ("OrderDispatched",)
    assert [e.position for e in again.recorded] == [e.position for e in first.recorded]
    assert [t for _, t in events_in_log(service)].count("OrderDispatched") == 1


def test_a_command_id_reused_for_other_content_in_a_batch_is_refused(
    make_service: ServiceFactory,
) -> None:
    service = make_service(POLICY)
    outcomes = service.handle_batch(
        [
            place_order(command_id="same"),
            order_command("dispatch_order", at(1), carrier="post", command_id="same"),
        ]
    )
    assert outcomes[0].ok
    assert outcomes[1].error is not None
    assert outcomes[1].error["code"] == "invalid_command"
    assert "command_id" in outcomes[1].error["message"]


def test_a_batch_replays_command_ids_recorded_before_it(make_service: ServiceFactory) -> None:
    service = make_service(POLICY)
    placed = service.handle(place_order(command_id="p-1"))
    before = service.store.head().position
    (again,) = service.handle_batch([place_order(command_id="p-1")])
    assert again.duplicate
    assert again.events == placed.events
    assert service.store.head().position == before


def test_outcomes_come_only_after_the_batch_commits(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service(POLICY)
    store = service.store
    seen: list[int] = []
    append_batch = store.append_batch

    def watched(batch: Sequence[PreparedAppend]) -> list[AppendResult]:
        results = append_batch(batch)
        seen.append(store.head().position)  # committed: other readers see it from here on
        return results

    monkeypatch.setattr(store, "append_batch", watched)
    outcomes = service.handle_batch([place_order(), order_command("cancel_order", at(1))])
    assert seen == [4]  # one transaction for both commands (a cancel decides its refund too)
    assert [e.position for o in outcomes for e in o.recorded] == [1, 2, 3, 4]


def test_a_failed_commit_gives_no_outcome_and_writes_nothing(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make_service(POLICY)

    def disk_gone(batch: Sequence[PreparedAppend]) -> list[AppendResult]:
        raise OSError("disk gone")

    monkeypatch.setattr(service.store, "append_batch", disk_gone)
    with pytest.raises(OSError, match="disk gone"):
        service.handle_batch([place_order(), order_command("cancel_order", at(1))])
    assert events_in_log(service) == []


def test_a_batch_lost_to_another_writer_is_decided_again() -> None:
    store = InMemoryEventStore()
    service = OrderService(store, PolicyRegistry([POLICY]), sleep=lambda _: None)
    rival = OrderService(store, service.policies)
    assert service.handle(place_order()).ok
    append_batch = store.append_batch
    raced: list[bool] = []

    def rival_first(batch: Sequence[PreparedAppend]) -> list[AppendResult]:
        if not raced:  # another writer cancels the order just before our commit
            raced.append(True)
            assert rival.handle(order_command("cancel_order", at(1))).ok
        return append_batch(batch)

    store.append_batch = rival_first  # type: ignore[method-assign]
    dispatch = order_command("dispatch_order", at(2), carrier="post")
    (outcome,) = service.handle_batch([dispatch])
    assert outcome.error is not None
    assert outcome.error["code"] == "illegal_transition"  # decided again on the cancelled order
    assert "OrderDispatched" not in [t for _, t in events_in_log(service)]


# -- recent states and a second writer ------------------------------------------------------------


def two_writers() -> tuple[OrderService, OrderService]:
    store = InMemoryEventStore()
    registry = PolicyRegistry([POLICY])
    ours = OrderService(store, registry, sleep=lambda _: None)
    theirs = OrderService(InMemoryEventStore(store.database), registry)
    return ours, theirs


def test_a_stale_recent_state_never_refuses_what_the_log_allows() -> None:
    ours, theirs = two_writers()
    assert ours.handle(place_order()).ok  # ours now remembers the order as placed
    assert theirs.handle(order_command("dispatch_order", at(1), carrier="post")).ok
    outcome = ours.handle(order_command("confirm_delivery", at(2)))
    assert outcome.ok, outcome.error  # "placed" would refuse it: the log was read again
    assert outcome.events == ("OrderDelivered",)


def test_a_stale_recent_state_never_accepts_what_the_log_forbids() -> None:
    ours, theirs = two_writers()
    assert ours.handle(place_order()).ok
    assert theirs.handle(order_command("cancel_order", at(1))).ok
    outcome = ours.handle(order_command("dispatch_order", at(2), carrier="post"))
    assert outcome.error is not None
    assert outcome.error["code"] == "illegal_transition"
    assert "OrderDispatched" not in [e.type for e in ours.store.read_stream(order_stream("o1"))]


def test_a_stale_recent_state_in_a_batch_is_read_again() -> None:
    ours, theirs = two_writers()
    assert ours.handle(place_order()).ok
    assert theirs.handle(order_command("dispatch_order", at(1), carrier="post")).ok
    outcomes = ours.handle_batch(
        [order_command("confirm_delivery", at(2)), order_command("cancel_order", at(3))]
    )
    assert outcomes[0].ok, outcomes[0].error
    assert outcomes[1].error is not None
    assert outcomes[1].error["code"] == "illegal_transition"


def test_the_recent_state_is_the_state_the_log_folds_to(make_service: ServiceFactory) -> None:
    service = make_service(POLICY)
    service.handle_batch([place_order(), order_command("dispatch_order", at(1), carrier="post")])
    service.handle(order_command("confirm_delivery", at(2)))
    kept = service.recent.get(order_stream("o1"))
    assert kept is not None
    assert kept.state == service.load("o1")
    assert kept.version == 3


def test_recent_states_are_bounded() -> None:
    service = OrderService(InMemoryEventStore(), PolicyRegistry([POLICY]), recent=2)
    for number in range(4):
        assert service.handle(place_order(order_id=f"o{number}")).ok
    assert [service.recent.get(order_stream(f"o{n}")) is not None for n in range(4)] == [
        False,
        False,
        True,
        True,
    ]


# -- backoff ---------------------------------------------------------------------------------------


def test_backoff_is_jittered_and_grows_up_to_its_cap() -> None:
    backoff = Backoff(base=0.01, cap=0.05)
    assert [backoff.delay(n, lambda: 1.0) for n in range(4)] == [0.01, 0.02, 0.04, 0.05]
    assert backoff.delay(3, lambda: 0.5) == 0.025
    assert backoff.delay(2, lambda: 0.0) == 0.0


def test_a_lost_race_waits_before_it_is_retried() -> None:
    pauses: list[float] = []
    store = InMemoryEventStore()
    service = OrderService(store, PolicyRegistry([POLICY]), sleep=pauses.append, recent=0)
    service.handle(place_order())
    append = store.append_streams
    failures = [2]

    def flaky(appends: Any, **options: Any) -> AppendResult:
        if failures[0]:
            failures[0] -= 1
            raise ConcurrencyConflict("someone else wrote first", stream_id="order-o1")
        return append(appends, **options)

    store.append_streams = flaky  # type: ignore[method-assign]
    assert service.handle(order_command("cancel_order", at(1))).ok
    assert len(pauses) == 2
    assert all(0 <= p <= service.backoff.base * 2**n for n, p in enumerate(pauses))


def test_a_batch_starts_renews_and_ships_a_subscription_in_order(
    make_service: ServiceFactory,
) -> None:
    from tests.unit.test_subscriptions import KIYOMI, renew, start

    service = make_service(KIYOMI)
    outcomes = service.handle_batch(
        [
            start(),
            renew(30),
            renew(30, order_id="third"),  # not due: the renewal before it moved the date on
            order_command("dispatch_order", at(31), order_id="second", carrier="post"),
        ]
    )
    assert [o.events for o in outcomes] == [
        ("PolicyRecorded", "SubscriptionStarted", "OrderPlaced"),
        ("SubscriptionRenewed", "OrderPlaced"),
        (),
        ("OrderDispatched",),
    ]
    assert outcomes[2].error is not None
    assert outcomes[2].error["code"] == "renewal_not_due"
    second = service.load("second")
    assert second is not None
    assert second.state.value == "dispatched"


def test_a_second_process_on_the_same_file_never_misleads_the_recent_states(
    tmp_path: Path,
) -> None:
    from projections.app import Orderlog

    with Orderlog(tmp_path / "shop.db") as ours, Orderlog(tmp_path / "shop.db") as theirs:
        assert ours.handle(place_order(policy="kiyomi", currency="USD")).ok
        assert theirs.handle(order_command("dispatch_order", at(0.01), carrier="post")).ok
        delivered = ours.handle(order_command("confirm_delivery", at(2)))
        assert delivered.ok, delivered.error
        assert theirs.handle(order_command("confirm_delivery", at(3))).error is not None
        assert ours.status("o1", at(3)).status.value == "received"
        assert [e.stream_version for e in delivered.recorded] == [3]
