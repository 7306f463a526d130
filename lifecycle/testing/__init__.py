"""Hypothesis strategies for property tests against orderlog's machines, for fulfilment teams.

`valid_commands(policy)` draws time-ordered command sequences in SPEC.md's JSON wire form;
`invalid_commands()` draws malformed commands, each paired with the field `InvalidCommand` must
name; the single-value strategies compose into your own. Needs hypothesis: install the
`hypothesis` extra (`pip install 'orderlog[hypothesis]'`). Nothing else in `lifecycle` imports
this package, so `import lifecycle` never does.

The strategies live in three modules: `values` (times, money, lines, one command), `timelines`
(whole stories) and `malformed` (free and broken commands).
"""

from .malformed import PROBLEMS, Malformed, invalid_commands, well_formed_commands
from .timelines import valid_commands
from .values import (
    DEFAULT_START,
    JSONCommand,
    countries,
    currencies,
    inspect_return_commands,
    money,
    order_lines,
    payment_methods,
    place_order_commands,
    request_return_commands,
    start_subscription_commands,
    utc_times,
    wire_times,
)

__all__ = [
    "DEFAULT_START",
    "PROBLEMS",
    "JSONCommand",
    "Malformed",
    "countries",
    "currencies",
    "inspect_return_commands",
    "invalid_commands",
    "money",
    "order_lines",
    "payment_methods",
    "place_order_commands",
    "request_return_commands",
    "start_subscription_commands",
    "utc_times",
    "valid_commands",
    "well_formed_commands",
    "wire_times",
]
