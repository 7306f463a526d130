"""The order status a person sees: when the return window still counts as open."""

from __future__ import annotations

from datetime import UTC, date, datetime

from lifecycle.states import OrderState, OrderStatus
from lifecycle.status import derive_status, returns_window_open

LAST_DAY = date(2026, 4, 6)


def test_the_return_windows_last_day_is_included_to_its_last_utc_moment() -> None:
    assert returns_window_open(LAST_DAY, datetime(2026, 4, 6, 23, 59, 59, tzinfo=UTC))
    assert not returns_window_open(LAST_DAY, datetime(2026, 4, 7, 0, 0, tzinfo=UTC))


def test_no_last_day_means_returns_are_always_open() -> None:
    assert returns_window_open(None, datetime(2099, 1, 1, tzinfo=UTC))


def test_a_received_order_closes_the_day_after_its_window() -> None:
    def status(as_of: datetime) -> OrderStatus:
        return derive_status(
            OrderState.RECEIVED,
            open_returns=0,
            paid_total=1000,
            refunded_total=0,
            returns_close_on=LAST_DAY,
            as_of=as_of,
        )

    assert status(datetime(2026, 4, 6, 23, 0, tzinfo=UTC)) is OrderStatus.RECEIVED
    assert status(datetime(2026, 4, 7, 1, 0, tzinfo=UTC)) is OrderStatus.CLOSED
