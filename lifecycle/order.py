"""An order as the fold of its events: `evolve` applies one event, `rebuild` applies them all.

Every event moves the order machine and, for a return's events, that return's machine, through
the compiled tables of `machines.py`. An event the machines forbid raises `IllegalTransition`:
only a corrupt or hand-edited log contains one, which is how replay checks a stream's path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import attrs

from . import events as ev
from .copying import replacer
from .errors import IllegalTransition
from .machines import ORDER_MACHINE, RETURN_MACHINE, Trigger
from .states import OPEN_RETURN_STATES, OrderState, ReturnState
from .streams import ORDERS, check_next_event
from .vocabulary import AdjustmentKind, Resolution, ReturnReason


@attrs.frozen(kw_only=True)
class ReturnCase:
    """One return of an order: what was asked, the policy's terms, and how far it has got."""

    return_id: str
    state: ReturnState
    request: ev.ReturnRequest
    terms: ev.ReturnTerms | None = None
    requested_at: datetime
    received_at: datetime | None = None
    return_shipping_paid: int | None = None
    inspection: tuple[ev.InspectionResult, ...] = ()
    refund: ev.RefundDecided | None = None
    refund_issued: bool = False
    decline_code: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_RETURN_STATES

    @property
    def settled_by_refund(self) -> bool:
        """Whether the policy's terms settle this return by a refund (else by sending goods:
        a replacement or an exchange)."""
        return self.terms is not None and self.terms.resolution is Resolution.REFUND

    def requested_units(self, line_id: str) -> int:
        return sum(line.quantity for line in self.request.lines if line.line_id == line_id)


@attrs.frozen(kw_only=True)
class Order:
    """The current state of one order, rebuilt from its stream."""

    placed: ev.OrderPlaced
    state: OrderState = OrderState.PLACED
    version: int = 1
    last_at: datetime
    dispatched_at: datetime | None = None
    delivered_at: datetime | None = None
    returns_close_on: date | None = None
    returns: tuple[ReturnCase, ...] = ()
    order_refund: ev.RefundDecided | None = None
    order_refund_issued: bool = False
    decided_total: int = 0
    reimbursed_total: int = 0
    refunded_total: int = 0

    @property
    def order_id(self) -> str:
        return self.placed.order_id

    @property
    def paid_total(self) -> int:
        return self.placed.paid_total

    @property
    def decided_goods_total(self) -> int:
        """Refunds decided for goods and original shipping: at most `paid_total`. The rest of
        `decided_total` (`reimbursed_total`) repays return costs, outside that cap."""
        return self.decided_total - self.reimbursed_total

    @property
    def refund_pending(self) -> int:
        """Refunds decided but not yet issued."""
        return self.decided_total - self.refunded_total

    @property
    def reimbursed_issued(self) -> int:
        """The part of `refunded_total` that repaid return costs (outside the order's cap)."""
        return sum(
            case.refund.reimbursed
            for case in self.returns
            if case.refund is not None and case.refund_issued
        )

    def line(self, line_id: str) -> ev.PlacedLine | None:
        return next((line for line in self.placed.lines if line.line_id == line_id), None)

    def find_return(self, return_id: str) -> ReturnCase | None:
        return next((case for case in self.returns if case.return_id == return_id), None)

    def packages(self) -> int:
        """How many return parcels the policy has accepted (or is reviewing) so far.

        A missing-item claim sends nothing back, and a declined return sends nothing either."""
        return sum(
            1
            for case in self.returns
            if case.terms is not None
            and case.state is not ReturnState.DECLINED
            and case.request.reason is not ReturnReason.MISSING_ITEM
            and not case.terms.returnless
        )

    def units_in_returns(self, line_id: str) -> int:
        """Units of a line already in returns that were not declined."""
        return sum(
            case.requested_units(line_id)
            for case in self.returns
            if case.state is not ReturnState.DECLINED
        )

    def units_refunded(self, line_id: str) -> int:
        """Units of a line that earlier refund decisions have paid back."""
        decisions = [case.refund for case in self.returns if case.refund is not None]
        return sum(
            line.quantity
            for decision in decisions
            for line in decision.lines
            if line.line_id == line_id
        )

    def shipping_refunded(self) -> bool:
        """Whether a refund decision has already paid back the original shipping."""
        decisions = [case.refund for case in self.returns if case.refund is not None]
        return any(
            adjustment.kind is AdjustmentKind.ORIGINAL_SHIPPING
            for decision in decisions
            for adjustment in decision.adjustments
        )


# Copies with some fields changed, as `attrs.evolve` makes them, at a third of its cost.
_order = replacer(Order)
_case = replacer(ReturnCase)


def rebuild(events: Iterable[ev.OrderEvent]) -> Order | None:
    """Fold a stream's events into the order (None for an empty stream)."""
    order: Order | None = None
    for event in events:
        order = evolve(order, event)
    return order


def evolve(order: Order | None, event: ev.OrderEvent) -> Order:
    """The order after one more event; raises `IllegalTransition` for a forbidden one."""
    placing = isinstance(event, ev.OrderPlaced)
    current = None if order is None else (order.order_id, order.state.value)
    check_next_event(ORDERS, current, event.order_id, event, event.trigger, starts=placing)
    if isinstance(event, ev.OrderPlaced):
        return Order(placed=event, last_at=event.at)
    assert order is not None, "checked above: only a placement starts an order"
    state = ORDER_MACHINE.next_state(order.state, event.trigger, f"order {order.order_id}")
    _check_money(order, event)
    order = _order(order, state=state, version=order.version + 1, last_at=event.at)
    return_id = getattr(event, "return_id", None)
    if return_id is not None:
        return _evolve_return(order, return_id, event)
    apply = _ORDER_UPDATES.get(type(event))
    return apply(order, event) if apply else order


def settlement_problem(case: ReturnCase | None, trigger: str) -> str | None:
    """Why `trigger` cannot settle this return, or None if it can: a return the policy settles
    by refund is paid its decided refund and never sent goods; one settled by a replacement or
    an exchange is sent goods and never refunded."""
    if trigger == Trigger.SHIP_REPLACEMENT and (
        case is None or case.terms is None or case.settled_by_refund
    ):
        return "settled by a refund, not a replacement"
    if trigger == Trigger.ISSUE_REFUND and (case is None or case.refund is None):
        return "settled by a replacement, not a refund"
    if trigger == Trigger.ISSUE_REFUND and case is not None and case.refund_issued:
        return "refunded already"
    if trigger == Trigger.SETTLE_BY_REFUND and (case is None or case.settled_by_refund):
        return "settled by a refund already"
    return None


def _check_money(order: Order, event: ev.OrderEvent) -> None:
    """What the machines cannot see: one decision per refund, never more decided than paid, a
    refund issued as decided, a replacement only for a return not settled by refund."""
    problem = None
    return_id = getattr(event, "return_id", None)
    case = order.find_return(return_id) if return_id is not None else None
    decided = case.refund if case is not None else order.order_refund
    if isinstance(event, ev.RefundDecided):
        if decided is not None:
            problem = "a second refund decision for the same refund"
        elif not 0 <= event.reimbursed <= event.amount:
            problem = f"a reimbursed part of {event.reimbursed} in a refund of {event.amount}"
        elif order.decided_goods_total + event.goods_amount > order.paid_total:
            problem = (
                f"refunds decided for goods and shipping would exceed the {order.paid_total} paid"
            )
    elif isinstance(event, ev.RefundIssued):
        if decided is None or event.amount != decided.amount:
            problem = "a refund issued that does not match its decision"
        elif case is not None and case.refund_issued:
            problem = "a refund issued twice"
    elif isinstance(event, ev.ReturnSettledByRefund) and settlement_problem(case, event.trigger):
        problem = "a return settled by refund twice"
    elif isinstance(event, ev.ReplacementShipped) and settlement_problem(case, event.trigger):
        problem = "a replacement shipped for a return settled by refund"
    if problem is not None:
        raise IllegalTransition(
            f"{type(event).__name__} in order {order.order_id}: {problem}",
            state=order.state.value,
            trigger=event.trigger,
        )


def _evolve_return(order: Order, return_id: str, event: ev.OrderEvent) -> Order:
    case = order.find_return(return_id)
    requested = case is None  # the event that opens the return
    if case is None:
        request = getattr(event, "request", None)
        if request is None:
            raise IllegalTransition(
                f"{type(event).__name__} for return {return_id} of order {order.order_id}, "
                "which was never requested",
                state="none",
                trigger=event.trigger,
            )
        case = ReturnCase(
            return_id=return_id,
            state=RETURN_MACHINE.initial,
            request=request,
            requested_at=event.at,
        )
    subject = f"return {return_id} of order {order.order_id}"
    case = _case(case, state=RETURN_MACHINE.next_state(case.state, event.trigger, subject))
    apply = _RETURN_UPDATES.get(type(event))
    if apply is not None:
        case = apply(case, event)
    order = _money_after(order, event)
    if requested:
        return _order(order, returns=(*order.returns, case))
    returns = tuple(case if c.return_id == return_id else c for c in order.returns)
    return _order(order, returns=returns)


def _money_after(order: Order, event: ev.OrderEvent) -> Order:
    if isinstance(event, ev.RefundDecided):
        return _order(
            order,
            decided_total=order.decided_total + event.amount,
            reimbursed_total=order.reimbursed_total + event.reimbursed,
        )
    if isinstance(event, ev.RefundIssued):
        return _order(order, refunded_total=order.refunded_total + event.amount)
    return order


def _dispatched(order: Order, event: ev.OrderDispatched) -> Order:
    return _order(order, dispatched_at=event.at)


def _delivered(order: Order, event: ev.OrderDelivered) -> Order:
    return _order(order, delivered_at=event.at, returns_close_on=event.returns_close_on)


def _order_refund_decided(order: Order, event: ev.RefundDecided) -> Order:
    return _order(_money_after(order, event), order_refund=event)


def _order_refund_issued(order: Order, event: ev.RefundIssued) -> Order:
    return _order(_money_after(order, event), order_refund_issued=True)


# Each update takes the event type it is registered for.
_ORDER_UPDATES: dict[type[ev.OrderEvent], Callable[[Order, Any], Order]] = {
    ev.OrderDispatched: _dispatched,
    ev.OrderDelivered: _delivered,
    ev.RefundDecided: _order_refund_decided,
    ev.RefundIssued: _order_refund_issued,
}


def _terms(case: ReturnCase, event: ev.ReturnAuthorized | ev.ReturnHeldForReview) -> ReturnCase:
    return _case(case, terms=event.terms)


def _declined(case: ReturnCase, event: ev.ReturnDeclined) -> ReturnCase:
    return _case(case, decline_code=event.code)


def _received(case: ReturnCase, event: ev.ReturnReceived) -> ReturnCase:
    return _case(case, received_at=event.at, return_shipping_paid=event.return_shipping_paid)


def _inspected(case: ReturnCase, event: ev.ReturnInspected | ev.ReturnRejected) -> ReturnCase:
    terms = case.terms if event.terms is None else event.terms
    return _case(case, inspection=event.lines, terms=terms)


def _refund_decided(case: ReturnCase, event: ev.RefundDecided) -> ReturnCase:
    return _case(case, refund=event)


def _refund_issued(case: ReturnCase, event: ev.RefundIssued) -> ReturnCase:
    return _case(case, refund_issued=True)


def _settled_by_refund(case: ReturnCase, event: ev.ReturnSettledByRefund) -> ReturnCase:
    assert case.terms is not None, "only an inspected return is settled"
    return _case(case, terms=attrs.evolve(case.terms, resolution=Resolution.REFUND))


_RETURN_UPDATES: dict[type[ev.OrderEvent], Callable[[ReturnCase, Any], ReturnCase]] = {
    ev.ReturnSettledByRefund: _settled_by_refund,
    ev.ReturnAuthorized: _terms,
    ev.ReturnHeldForReview: _terms,
    ev.ReturnDeclined: _declined,
    ev.ReturnReceived: _received,
    ev.ReturnInspected: _inspected,
    ev.ReturnRejected: _inspected,
    ev.RefundDecided: _refund_decided,
    ev.RefundIssued: _refund_issued,
}
