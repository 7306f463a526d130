"""Field helpers for commands: each checks its value on construction and raises `InvalidCommand`
naming the field, so Python callers and JSON callers get the same refusal."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs

from .errors import InvalidCommand
from .money import MAX_AMOUNT

COUNTRY = r"[A-Z]{2}"
CURRENCY = r"[A-Z]{3}"
WORD = r"[a-z][a-z0-9_+-]*"
"""Forms of an ISO country code, a currency code, and a vocabulary word (policy names, payment
methods)."""

MAX_ID = 100
MAX_TEXT = 500
MAX_LINES = 500
MAX_QUANTITY = 10_000
YEARS = range(1970, 3000)
"""Times outside these years are refused as absurd (and date arithmetic near 9999 overflows)."""

E = TypeVar("E", bound=enum.Enum)
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _fail(attribute: attrs.Attribute[Any], message: str) -> None:
    raise InvalidCommand(message, field=attribute.name)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""Control characters: C0, DEL and C1. No identifier may hold one (they cut text short in
SQLite's JSON functions and garble terminals)."""


def _text_validator(
    max_length: int, pattern: re.Pattern[str] | None, optional: bool, identifier: bool = False
) -> Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str):
            _fail(attribute, f"must be text, not {type(value).__name__}")
        elif not value.strip():
            _fail(attribute, "must not be empty")
        elif len(value) > max_length:
            _fail(attribute, f"is {len(value)} characters long; at most {max_length} allowed")
        elif not _is_unicode(value):
            _fail(attribute, "holds text that is not valid Unicode (a lone surrogate)")
        elif identifier and (control := _CONTROL.search(value)):
            code = f"U+{ord(control.group()):04X}"
            _fail(attribute, f"holds a control character ({code}); an id is printable text")
        elif pattern is not None and not pattern.fullmatch(value):
            _fail(attribute, f"{value!r} is not in the expected form ({pattern.pattern})")

    return check


def _is_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text(max_length: int = MAX_ID, pattern: str | None = None) -> Any:
    """A required, non-empty text field of bounded length."""
    compiled = re.compile(pattern) if pattern else None
    return attrs.field(validator=_text_validator(max_length, compiled, optional=False))


def optional_text(max_length: int = MAX_TEXT, pattern: str | None = None) -> Any:
    """An optional text field (None when absent)."""
    compiled = re.compile(pattern) if pattern else None
    return attrs.field(default=None, validator=_text_validator(max_length, compiled, optional=True))


def identifier() -> Any:
    """A required id (of an order, a line, a SKU...): non-empty printable text, no control
    characters, at most `MAX_ID` characters."""
    return attrs.field(validator=_text_validator(MAX_ID, None, optional=False, identifier=True))


def optional_identifier() -> Any:
    """An optional id (None when absent), checked as `identifier` is."""
    check = _text_validator(MAX_ID, None, optional=True, identifier=True)
    return attrs.field(default=None, validator=check)


def _integer_validator(low: int, high: int, optional: bool) -> Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if type(value) is not int:
            found = type(value).__name__
            if found == "float":
                found = "a float; amounts are integers in minor units (cents)"
            _fail(attribute, f"must be an integer, not {found}")
        elif not low <= value <= high:
            _fail(attribute, f"{value} is out of range ({low} to {high})")

    return check


def integer(low: int, high: int, **kwargs: Any) -> Any:
    """A required integer within [low, high]; bools and floats are refused."""
    return attrs.field(validator=_integer_validator(low, high, optional=False), **kwargs)


def money(**kwargs: Any) -> Any:
    """A non-negative amount in minor units."""
    return integer(0, MAX_AMOUNT, **kwargs)


def optional_money() -> Any:
    return attrs.field(default=None, validator=_integer_validator(0, MAX_AMOUNT, optional=True))


def flag() -> Any:
    """A boolean that defaults to false."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if type(value) is not bool:
            _fail(attribute, f"must be true or false, not {type(value).__name__}")

    return attrs.field(default=False, validator=check)


def _to_utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.astimezone(UTC)
    return value


def _aware(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, datetime):
        _fail(attribute, f"must be a time, not {type(value).__name__}")
    elif value.utcoffset() is None:
        _fail(attribute, "has no UTC offset; give times like 2026-03-02T09:00:00Z")
    elif value.year not in YEARS:
        _fail(attribute, f"year {value.year} is out of range ({YEARS.start} to {YEARS.stop - 1})")


def moment() -> Any:
    """A timezone-aware time, kept in UTC."""
    return attrs.field(converter=_to_utc, validator=_aware)


def choice(kind: type[E], default: E | None = None, *, optional: bool = False) -> Any:
    """One of an enum's members (its wire word is accepted too); None allowed if `optional`."""
    words = {member.value: member for member in kind}

    def convert(value: Any) -> Any:
        return words.get(value, value) if isinstance(value, str) else value

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, kind):
            _fail(attribute, f"{value!r} is not one of: {', '.join(words)}")

    if default is None and not optional:
        return attrs.field(converter=convert, validator=check)
    return attrs.field(default=default, converter=convert, validator=check)


def items(kind: type[Any], *, key: str | None = None, max_items: int = MAX_LINES) -> Any:
    """A non-empty tuple of `kind`, with `key` unique among them when given."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, tuple) or not all(isinstance(v, kind) for v in value):
            _fail(attribute, f"must be a list of {kind.__name__}")
        elif not value:
            _fail(attribute, "must not be empty")
        elif len(value) > max_items:
            _fail(attribute, f"has {len(value)} entries; at most {max_items} allowed")
        elif key is not None:
            seen = [getattr(v, key) for v in value]
            repeated = sorted({k for k in seen if seen.count(k) > 1})
            if repeated:
                _fail(attribute, f"{key} {', '.join(repeated)} appears more than once")

    return attrs.field(converter=_tuple, validator=check)


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def nested(kind: type[Any], *, optional: bool = False) -> Any:
    """A nested attrs value (a customer, an address...)."""

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, kind):
            _fail(attribute, f"must be a {kind.__name__} object")

    if optional:
        return attrs.field(default=None, validator=check)
    return attrs.field(validator=check)
