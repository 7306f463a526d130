"""orderlog's domain: order and return state machines, commands, events, shop policies, refunds.

Fulfilment code uses `OrderService` with an event store and a `PolicyRegistry`:

    service = OrderService(SQLiteEventStore("shop.db"), PolicyRegistry.shipped())
    outcome = service.handle({"type": "place_order", ...})

`decide` and `evolve` are the pure core underneath, and `planning.plan` the one dispatch of a
command to them; only the edges know a store or a file exists: `service.py`, `envelopes.py`
(its bridge to the store's records), `pinning.py` (an order's policy version, from the registry
or the log), and `registry.py` with `policy_loading.py` (policy files read from disk).
`OrderService` and `Outcome` are loaded on first use, so importing a pure module such as
`lifecycle.decide` (which runs this package's code first) loads no store module.
"""

from typing import TYPE_CHECKING, Any

from .commands import (
    Address,
    BaseCommand,
    CancelOrder,
    CancelSubscription,
    Command,
    ConfirmDelivery,
    Customer,
    DispatchOrder,
    Evidence,
    InspectedLine,
    InspectReturn,
    IssueRefund,
    OrderLine,
    PlaceOrder,
    ReceiveReturn,
    RenewSubscription,
    ReportLost,
    RequestReturn,
    ReturnLine,
    ReviewReturn,
    SettleByRefund,
    ShipReplacement,
    StartSubscription,
)
from .decide import decide
from .errors import (
    DECLINE_CODES,
    CancellationWindowClosed,
    ConcurrencyConflict,
    DomainError,
    DuplicateOrder,
    IllegalTransition,
    InvalidCommand,
    InvalidPolicy,
    OrderlogError,
    QuantityExceedsReturnable,
    UnknownOrder,
    UnknownPolicy,
    UnknownReturn,
    UnsupportedCurrency,
)
from .machines import ORDER_MACHINE, RETURN_MACHINE, SUBSCRIPTION_MACHINE, Trigger
from .order import Order, ReturnCase, evolve, rebuild
from .policy import Policy
from .registry import PolicyRegistry
from .states import OrderState, OrderStatus, ReturnState, SubscriptionState
from .status import order_status
from .vocabulary import Condition, Resolution, ReturnMethod, ReturnReason, ReviewDecision
from .wire import command_to_dict, parse_command

if TYPE_CHECKING:
    from .service import OrderService, Outcome

_SERVICE_NAMES = ("OrderService", "Outcome")


def __getattr__(name: str) -> Any:
    if name not in _SERVICE_NAMES:
        raise AttributeError(f"module 'lifecycle' has no attribute {name!r}")
    from . import service

    value = getattr(service, name)
    globals()[name] = value  # later look-ups skip this function
    return value


__all__ = [
    "DECLINE_CODES",
    "ORDER_MACHINE",
    "RETURN_MACHINE",
    "SUBSCRIPTION_MACHINE",
    "Address",
    "BaseCommand",
    "CancelOrder",
    "CancelSubscription",
    "CancellationWindowClosed",
    "Command",
    "ConcurrencyConflict",
    "Condition",
    "ConfirmDelivery",
    "Customer",
    "DispatchOrder",
    "DomainError",
    "DuplicateOrder",
    "Evidence",
    "IllegalTransition",
    "InspectReturn",
    "InspectedLine",
    "InvalidCommand",
    "InvalidPolicy",
    "IssueRefund",
    "Order",
    "OrderLine",
    "OrderService",
    "OrderState",
    "OrderStatus",
    "OrderlogError",
    "Outcome",
    "PlaceOrder",
    "Policy",
    "PolicyRegistry",
    "QuantityExceedsReturnable",
    "ReceiveReturn",
    "RenewSubscription",
    "ReportLost",
    "RequestReturn",
    "Resolution",
    "ReturnCase",
    "ReturnLine",
    "ReturnMethod",
    "ReturnReason",
    "ReturnState",
    "ReviewDecision",
    "ReviewReturn",
    "SettleByRefund",
    "ShipReplacement",
    "StartSubscription",
    "SubscriptionState",
    "Trigger",
    "UnknownOrder",
    "UnknownPolicy",
    "UnknownReturn",
    "UnsupportedCurrency",
    "command_to_dict",
    "decide",
    "evolve",
    "order_status",
    "parse_command",
    "rebuild",
]
