"""The policy version pinned on an order, found where it is: in the registry, else in the log.

The first order placed under a version writes its text to the log (`PolicyRecorded`), so an
order's rules can be read back after the file changed or went away. The service decides under
the version found here and `orderlog explain` explains with it; this module reads the store,
so it is an edge of the domain, not part of it.
"""

from __future__ import annotations

from eventstore import EventStore

from .envelopes import from_recorded
from .errors import UnknownPolicy
from .events import PolicyRecorded
from .order import Order
from .policy import Policy
from .policy_files import parse_policy
from .registry import PolicyRegistry
from .streams import policy_stream


def pinned_policy(store: EventStore, policies: PolicyRegistry, order: Order) -> Policy:
    """The policy version `order` was placed under; one found in the log is added to
    `policies` (not as current), so it is read once. Raises `UnknownPolicy` if neither the
    registry nor the log has it."""
    name, version = order.placed.policy, order.placed.policy_version
    policy = policies.get(name, version)
    if policy is not None:
        return policy
    for recorded in store.read_stream(policy_stream(name)):
        event = from_recorded(recorded)
        if isinstance(event, PolicyRecorded) and event.version == version:
            policy = parse_policy(event.text, event.source)
            policies.add(policy, current=False)
            return policy
    raise UnknownPolicy(
        f"order {order.order_id} was placed under {name} version {version}, which is in "
        "neither the policy files nor the log"
    )
