"""What holds for every stream the domain writes: its name in the log, that its first event
starts it once and every later event is its own, and that its commands come in time order.

Pure: `order.py` and `subscriptions.py` fold with these checks, `decide.py` and
`decide_subscriptions.py` decide with them.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from eventstore.codec import human_time

from .errors import IllegalTransition, InvalidCommand


def order_stream(order_id: str) -> str:
    return f"order-{order_id}"


def policy_stream(name: str) -> str:
    return f"policy-{name}"


def subscription_stream(subscription_id: str) -> str:
    return f"subscription-{subscription_id}"


@attrs.frozen
class StreamKind:
    """How the checks name a kind of stream: "order" is "placed", and a later event for an
    order that has none is "for order o1, which was never placed"."""

    noun: str
    started: str
    never: str


ORDERS = StreamKind("order", "placed", "which was never placed")
SUBSCRIPTIONS = StreamKind("subscription", "started", "never started")


def check_next_event(
    kind: StreamKind,
    current: tuple[str, str] | None,
    event_id: str,
    event: object,
    trigger: str,
    *,
    starts: bool,
) -> None:
    """Refuse an event that cannot come next in its stream: a starting event once the stream
    has begun, any other before it has, or an event of another stream.

    `current` is the stream's (id, state) so far, None before its first event. Raises
    `IllegalTransition`: only a corrupt or hand-edited log holds such an event."""
    noun, event_type = kind.noun, type(event).__name__
    if current is None:
        if not starts:
            raise IllegalTransition(
                f"{event_type} for {noun} {event_id}, {kind.never}", state="none", trigger=trigger
            )
        return
    stream_id, state = current
    if starts:
        raise IllegalTransition(
            f"{noun} {event_id} was {kind.started} twice", state=state, trigger=trigger
        )
    if event_id != stream_id:
        raise IllegalTransition(
            f"{event_type} of {noun} {event_id} in the stream of {stream_id}",
            state=state,
            trigger=trigger,
        )


def check_in_time_order(at: datetime, last_at: datetime, noun: str) -> None:
    """Refuse a command timed before the last event of the `noun` ("order") it acts on, with
    `InvalidCommand` naming `at`: a stream's commands are applied in time order."""
    if at < last_at:
        raise InvalidCommand(
            f"{human_time(at)} is earlier than the {noun}'s last event "
            f"({human_time(last_at)}); commands are applied in time order",
            field="at",
        )
