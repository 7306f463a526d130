"""Parsing policy files: TOML text to a validated `Policy`, versioned by the hash of its text.

A bad file gets `InvalidPolicy` naming the file and the field (`kiyomi.toml: refund.deadline_days:
must be an integer`). Text in, policy out: reading the files is `policy_loading.py`'s job.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterator
from typing import Any

import attrs
import cattrs

from . import validation
from .deadlines import time_zone
from .errors import InvalidPolicy
from .money import MAX_AMOUNT
from .policy import DEFAULT_CLAUSES, REGIONS, Policy
from .structuring import first_problem, make_converter

_converter = make_converter(enum_words_checked_by_fields=False)
NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
COUNTRY = re.compile(validation.COUNTRY)
CURRENCY = re.compile(validation.CURRENCY)
WORD = re.compile(validation.WORD)
LOADER_FIELDS = ("version", "source", "text")


def policy_version(text: str) -> str:
    """A policy's version: the first 16 hex digits of the SHA-256 of its file's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def parse_policy(text: str, source: str) -> Policy:
    """Parse and validate a policy file's text; raises `InvalidPolicy`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidPolicy(source, "(file)", f"is not valid TOML: {error}") from None
    for key in LOADER_FIELDS:
        if key in data:
            raise InvalidPolicy(source, key, "is set by orderlog when the file is read; remove it")
    try:
        policy = _converter.structure(data, Policy)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as error:
        path, message = first_problem(error)
        raise InvalidPolicy(source, path.removeprefix("$.") or "(top)", message) from None
    policy = attrs.evolve(policy, version=policy_version(text), source=source, text=text)
    check_policy(policy)
    return policy


def check_policy(policy: Policy) -> None:
    """The checks types cannot express: names, clause ids, countries, ranges."""
    source = policy.source
    if not NAME.fullmatch(policy.name):
        raise InvalidPolicy(source, "name", "must be lowercase letters, digits and dashes")
    try:
        time_zone(policy.timezone)
    except ValueError as error:
        raise InvalidPolicy(source, "timezone", str(error)) from None
    for clause in policy.clauses:
        if not clause.startswith(f"{policy.name}/"):
            raise InvalidPolicy(source, f"clauses.{clause}", f"must start with {policy.name}/")
    for path, key, value in _walk(attrs.asdict(policy, recurse=True), ""):
        _check_value(policy, path, key, value)
    _check_currency(policy)
    for index, trigger in enumerate(policy.review):
        needed = {"return_value_over": "amount", "return_share_over": "percent"}.get(
            trigger.when.value
        )
        if needed and getattr(trigger, needed) is None:
            raise InvalidPolicy(
                source, f"review[{index}].{needed}", f"{trigger.when.value} needs {needed}"
            )


def _check_currency(policy: Policy) -> None:
    """Amounts are per currency: a policy that takes several currencies and states amounts
    must say which one they are written in, and that one must be taken."""
    source, accepted = policy.source, policy.currencies.accepted if policy.currencies else None
    if policy.currency is not None:
        if not CURRENCY.fullmatch(policy.currency):
            raise InvalidPolicy(source, "currency", f"{policy.currency!r} is not a currency code")
        if accepted is not None and policy.currency not in accepted:
            raise InvalidPolicy(
                source, "currency", f"{policy.currency} is not among [currencies] accepted"
            )
        return
    stated = next(_stated_amounts(policy), None)
    if stated is not None and accepted is not None and len(accepted) > 1:
        raise InvalidPolicy(
            source,
            "currency",
            f"{stated} is an amount, and the policy takes {', '.join(accepted)}: say which "
            'currency its amounts are in (currency = "USD")',
        )


def _stated_amounts(policy: Policy) -> Iterator[str]:
    """The paths of the amounts a policy states as the shop's own (placeholders left out)."""
    for index, fee in enumerate(policy.shipping_fees):
        if fee.flat or fee.free_over is not None:
            yield f"shipping_fees[{index}].flat"
    for index, rule in enumerate(policy.return_shipping):
        for name in ("label_fee", "pickup_fee", "credit", "reimburse_cap"):
            if getattr(rule, name) and not rule.placeholder:
                yield f"return_shipping[{index}].{name}"
    for index, trigger in enumerate(policy.review):
        if trigger.amount is not None and not trigger.placeholder:
            yield f"review[{index}].amount"


def _check_value(policy: Policy, path: str, key: str, value: Any) -> None:
    source = policy.source
    is_clause = (key == "clause" or key.endswith("_clause")) and isinstance(value, str)
    if is_clause and value not in policy.clauses and value not in DEFAULT_CLAUSES:
        raise InvalidPolicy(source, path, f"clause {value!r} is not defined in [clauses]")
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        raise InvalidPolicy(source, path, "must not be negative")
    if isinstance(value, int) and value > MAX_AMOUNT:
        raise InvalidPolicy(
            source, path, f"is over {MAX_AMOUNT}, the largest number orderlog takes"
        )
    if key == "percent" and isinstance(value, int) and value > 100:
        raise InvalidPolicy(source, path, "is a percentage: 0 to 100")
    if key == "countries":
        for country in value:
            if country != "*" and country not in REGIONS and not COUNTRY.fullmatch(country):
                raise InvalidPolicy(source, path, f"{country!r} is not a country code or region")
    if path == "currencies.accepted":
        for currency in value:
            if not CURRENCY.fullmatch(currency):
                raise InvalidPolicy(source, path, f"{currency!r} is not a currency code")
    if path == "payment_methods.accepted":
        for method in value:
            if not WORD.fullmatch(method):
                raise InvalidPolicy(source, path, f"{method!r} is not a lowercase word like visa")


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """Every (path, key, value) in a nested dict/list, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            yield child, str(key), item
            yield from _walk(item, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
