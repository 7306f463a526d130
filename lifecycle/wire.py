"""Commands and events to JSON-able dicts and back (SPEC.md's wire form).

`parse_command` is the one door for untrusted input: any problem becomes `InvalidCommand` naming
the field. Events are the domain's own output, so decoding them trusts their shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import cattrs

from .commands import ORDER_COMMANDS, SUBSCRIPTION_COMMANDS, BaseCommand
from .errors import InvalidCommand
from .events import EVENT_TYPES, Event
from .structuring import first_problem, make_converter

COMMAND_TYPES: dict[str, type[BaseCommand]] = {
    cls.TYPE: cls for cls in (*ORDER_COMMANDS, *SUBSCRIPTION_COMMANDS)
}
"""Every command class by its wire `type`."""

_commands = make_converter(enum_words_checked_by_fields=True)
_events = make_converter(enum_words_checked_by_fields=False)


def parse_command(data: Mapping[str, Any]) -> BaseCommand:
    """Build a command from its JSON object; raises `InvalidCommand` naming the bad field."""
    if not isinstance(data, Mapping):
        raise InvalidCommand(f"a command is a JSON object, not {type(data).__name__}")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise InvalidCommand("is required: one of " + ", ".join(COMMAND_TYPES), field="type")
    cls = COMMAND_TYPES.get(kind)
    if cls is None:
        raise InvalidCommand(
            f"unknown command type {kind[:40]!r}; one of {', '.join(COMMAND_TYPES)}", field="type"
        )
    fields = {key: value for key, value in data.items() if key != "type"}
    try:
        return _structure_hook(cls)(fields, cls)
    except RecursionError:
        raise InvalidCommand("the command is nested too deeply") from None
    except InvalidCommand as error:
        raise InvalidCommand(error.detail, field=error.field) from None
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as error:
        path, message = first_problem(error)
        field = None if path == "$" else path.removeprefix("$.")
        raise InvalidCommand(message, field=field) from None


def _structure_hook(cls: type[BaseCommand]) -> Callable[[Any, Any], BaseCommand]:
    """The converter's hook for one command class, found once (not dispatched per call)."""
    hook = _STRUCTURE.get(cls)
    if hook is None:
        hook = _STRUCTURE[cls] = _commands.get_structure_hook(cls)
    return hook


def _unstructure_hook(cls: type[Event]) -> Callable[[Any], Any]:
    """The converter's hook for one event class, found once (not dispatched per call)."""
    hook = _UNSTRUCTURE.get(cls)
    if hook is None:
        hook = _UNSTRUCTURE[cls] = _events.get_unstructure_hook(cls)
    return hook


_STRUCTURE: dict[type[BaseCommand], Callable[[Any, Any], BaseCommand]] = {}
_UNSTRUCTURE: dict[type[Event], Callable[[Any], Any]] = {}


def command_to_dict(command: BaseCommand) -> dict[str, Any]:
    """The JSON object of a command, `type` first; absent optional fields are left out."""
    data = _commands.unstructure(command)
    return {"type": command.TYPE, **_without_nones(data)}


def event_to_dict(event: Event) -> dict[str, Any]:
    """An event's data for the store, without its time (the envelope carries `occurred_at`)."""
    data: dict[str, Any] = _unstructure_hook(type(event))(event)
    del data["at"]
    return data


def event_from_dict(event_type: str, data: Mapping[str, Any], at: datetime) -> Event:
    """Rebuild an event from its stored type, data and time; raises `KeyError` if unknown."""
    cls = EVENT_TYPES[event_type]
    return _events.structure({**data, "at": at}, cls)


def _without_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nones(v) for v in value]
    return value
