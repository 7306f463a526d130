"""Strict cattrs converters: JSON (or TOML) data to attrs objects with no silent coercion.

cattrs would turn "2" into 2 and 9.99 into 9; these hooks refuse instead. `first_problem` turns
cattrs' nested error groups into one path (`$.lines[0].quantity`) and one readable sentence.
"""

from __future__ import annotations

import enum
import functools
import typing
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import attrs
import cattrs
from cattrs.errors import ForbiddenExtraKeysError, IterableValidationNote

from eventstore.codec import NaiveTime, parse_iso_time

from .errors import InvalidCommand


class WrongType(TypeError):
    """A value of the wrong JSON type (text where a number belongs, a float for an amount...)."""


def _strict(kind: type[Any], label: str) -> Any:
    def hook(value: Any, _: Any) -> Any:
        if type(value) is not kind:
            found = type(value).__name__
            if kind is int and found == "float":
                raise WrongType(
                    "must be an integer, not a float; amounts are in minor units (cents)"
                )
            raise WrongType(f"must be {label}, not {found}")
        return value

    return hook


def _structure_datetime(value: Any, _: Any) -> datetime:
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise WrongType(f"must be an ISO-8601 time text, not {type(value).__name__}")
    try:
        return parse_iso_time(value)
    except NaiveTime:
        raise WrongType(
            f"{value!r} has no UTC offset; give times like 2026-03-02T09:00:00Z"
        ) from None
    except ValueError:
        raise WrongType(f"{value!r} is not an ISO-8601 time") from None


def _structure_date(value: Any, _: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # TOML has native dates
    if not isinstance(value, str):
        raise WrongType(f"must be a date like 2026-12-25, not {type(value).__name__}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise WrongType(f"{value!r} is not a date like 2026-12-25") from None


def _is_enum(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, enum.Enum)


def _structure_enum(value: Any, kind: type[enum.Enum]) -> Any:
    if not isinstance(value, str):
        raise WrongType(f"must be one of {', '.join(m.value for m in kind)}")
    return value  # the attrs field converts and names the field if the word is unknown


def _is_tuple(kind: Any) -> bool:
    return typing.get_origin(kind) is tuple


def make_converter(*, enum_words_checked_by_fields: bool) -> cattrs.Converter:
    """A converter that refuses extra keys and wrong JSON types.

    With `enum_words_checked_by_fields`, enum values pass through as text for the attrs field
    (see `validation.choice`) to convert and check; otherwise cattrs converts them itself.
    """
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(int, _strict(int, "an integer"))
    converter.register_structure_hook(str, _strict(str, "text"))
    converter.register_structure_hook(bool, _strict(bool, "true or false"))
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_structure_hook(date, _structure_date)
    converter.register_unstructure_hook(datetime, lambda d: d.astimezone(UTC).isoformat())
    converter.register_unstructure_hook(date, lambda d: d.isoformat())
    if enum_words_checked_by_fields:
        converter.register_structure_hook_func(_is_enum, _structure_enum)
    else:
        converter.register_structure_hook_func(_is_enum, _structure_known_enum)
    converter.register_structure_hook_factory(_is_tuple, lambda kind: _tuple_hook(converter, kind))
    converter.register_structure_hook_factory(
        attrs.has, lambda kind: _mapping_first(converter.gen_structure_attrs_fromdict(kind))
    )
    return converter


def _structure_known_enum(value: Any, kind: type[enum.Enum]) -> Any:
    words = _words(kind)
    if not isinstance(value, str) or value not in words:
        raise WrongType(f"{value!r} is not one of: {', '.join(words)}")
    return words[value]


@functools.cache
def _words(kind: type[enum.Enum]) -> dict[Any, enum.Enum]:
    """An enum's members by value, built once per enum (not on every value decoded)."""
    return {member.value: member for member in kind}


def _tuple_hook(converter: cattrs.Converter, kind: Any) -> Any:
    item_type = typing.get_args(kind)[0]
    structure_item = converter.get_structure_hook(item_type)

    def hook(value: Any, _: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise WrongType(f"must be a list, not {type(value).__name__}")
        results = []
        problems: list[Exception] = []
        for index, item in enumerate(value):
            try:
                results.append(structure_item(item, item_type))
            except Exception as error:
                error.add_note(IterableValidationNote(f"@ index {index}", index, item_type))
                problems.append(error)
        if problems:
            raise cattrs.IterableValidationError("while structuring a list", problems, kind)
        return tuple(results)

    return hook


def _mapping_first(structure: Any) -> Any:
    def hook(value: Any, kind: Any) -> Any:
        if not isinstance(value, Mapping):
            raise WrongType(f"must be an object, not {type(value).__name__}")
        return structure(value, kind)

    return hook


def first_problem(error: BaseException, path: str = "$") -> tuple[str, str]:
    """The path and message of the first leaf error in a cattrs error group."""
    while isinstance(error, BaseExceptionGroup):
        inner = error.exceptions[0]
        for note in getattr(inner, "__notes__", []):
            name = getattr(note, "name", None)
            index = getattr(note, "index", None)
            if name is not None:
                path += f".{name}"
            elif index is not None:
                path += f"[{index}]"
        error = inner
    if isinstance(error, InvalidCommand):
        if error.field:
            path += f".{error.field}"
        return path, error.detail
    if isinstance(error, ForbiddenExtraKeysError):
        extra = sorted(error.extra_fields)
        return f"{path}.{extra[0]}", f"unknown field(s): {', '.join(extra)}"
    if isinstance(error, KeyError):
        key = str(error.args[0])
        return (path if path.endswith(f".{key}") else f"{path}.{key}"), "is required"
    return path, str(error)
