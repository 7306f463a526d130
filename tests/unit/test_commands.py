"""Commands validate on construction: whether they come from JSON (`parse_command`) or from
Python, a malformed one is `InvalidCommand` (code `invalid_command`) naming the bad field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from lifecycle import (
    CancelOrder,
    Customer,
    DomainError,
    InvalidCommand,
    OrderLine,
    PlaceOrder,
    RequestReturn,
    ReturnLine,
    command_to_dict,
    parse_command,
)
from lifecycle.money import MAX_AMOUNT, MAX_LINE_VALUE, MAX_ORDER_TOTAL
from lifecycle.validation import MAX_ID, MAX_LINES, MAX_QUANTITY
from lifecycle.vocabulary import Resolution, ReturnMethod, ReturnReason
from lifecycle.wire import COMMAND_TYPES
from tests.support import T0, at
from tests.unit.builders import inspect_return, line, order_command, place_order, request_return

Mutation = Callable[[dict[str, Any]], None]


def refusal(data: dict[str, Any]) -> InvalidCommand:
    with pytest.raises(InvalidCommand) as raised:
        parse_command(data)
    return raised.value


def mutated(base: dict[str, Any], change: Mutation) -> dict[str, Any]:
    data = copy.deepcopy(base)
    change(data)
    return data


def first_line(data: dict[str, Any]) -> dict[str, Any]:
    line_data: dict[str, Any] = data["lines"][0]
    return line_data


PLACE = place_order(line("l1", quantity=2, unit_price=1000))
RETURN = request_return(at(5))

# (id, base, change, the field named, words the message must contain)
WIRE_CASES: list[tuple[str, dict[str, Any], Mutation, str | None, str]] = [
    ("naive time", PLACE, lambda d: d.update(at="2026-03-02T09:00:00"), "at", "no UTC offset"),
    ("time not text", PLACE, lambda d: d.update(at=1772442000), "at", "ISO-8601"),
    ("time not a time", PLACE, lambda d: d.update(at="next tuesday"), "at", "ISO-8601"),
    (
        "float amount",
        PLACE,
        lambda d: first_line(d).update(unit_price=9.99),
        "lines[0].unit_price",
        "float",
    ),
    (
        "whole float amount",
        PLACE,
        lambda d: first_line(d).update(unit_price=10.0),
        "lines[0].unit_price",
        "float",
    ),
    ("float shipping", PLACE, lambda d: d.update(shipping_fee=4.5), "shipping_fee", "float"),
    (
        "negative amount",
        PLACE,
        lambda d: first_line(d).update(unit_price=-1),
        "lines[0].unit_price",
        "out of range",
    ),
    ("negative discount", PLACE, lambda d: d.update(discount=-100), "discount", "out of range"),
    (
        "absurd amount",
        PLACE,
        lambda d: first_line(d).update(unit_price=MAX_AMOUNT + 1),
        "lines[0].unit_price",
        "out of range",
    ),
    (
        "zero quantity",
        PLACE,
        lambda d: first_line(d).update(quantity=0),
        "lines[0].quantity",
        "out of range",
    ),
    (
        "absurd quantity",
        PLACE,
        lambda d: first_line(d).update(quantity=MAX_QUANTITY + 1),
        "lines[0].quantity",
        "out of range",
    ),
    ("empty line list", PLACE, lambda d: d.update(lines=[]), "lines", "must not be empty"),
    (
        "too many lines",
        PLACE,
        lambda d: d.update(lines=[line(f"l{i}") for i in range(MAX_LINES + 1)]),
        "lines",
        f"at most {MAX_LINES}",
    ),
    (
        "unknown nested field",
        PLACE,
        lambda d: d["customer"].update(vip=True),
        "customer.vip",
        "vip",
    ),
    (
        "unknown field in a line",
        PLACE,
        lambda d: first_line(d).update(colour="red"),
        "lines[0].colour",
        "colour",
    ),
    ("missing field", PLACE, lambda d: d.pop("currency"), "currency", "required"),
    (
        "missing nested field",
        PLACE,
        lambda d: first_line(d).pop("sku"),
        "lines[0].sku",
        "required",
    ),
    (
        "text for an integer",
        PLACE,
        lambda d: first_line(d).update(quantity="2"),
        "lines[0].quantity",
        "must be an integer, not str",
    ),
    (
        "true for an integer",
        PLACE,
        lambda d: first_line(d).update(quantity=True),
        "lines[0].quantity",
        "not bool",
    ),
    (
        "a number for text",
        PLACE,
        lambda d: d.update(order_id=17),
        "order_id",
        "must be text, not int",
    ),
    (
        "a list for an object",
        PLACE,
        lambda d: d.update(customer=[{"id": "c1", "country": "DE"}]),
        "customer",
        "must be an object, not list",
    ),
    ("an object for a list", PLACE, lambda d: d.update(lines={"l1": 1}), "lines", "must be a list"),
    ("null for an object", PLACE, lambda d: d.update(customer=None), "customer", "NoneType"),
    (
        "text for a flag",
        PLACE,
        lambda d: first_line(d).update(final_sale="yes"),
        "lines[0].final_sale",
        "true or false",
    ),
    (
        "absurdly long id",
        PLACE,
        lambda d: d.update(order_id="x" * 10_000),
        "order_id",
        f"at most {MAX_ID}",
    ),
    (
        "absurdly long nested text",
        PLACE,
        lambda d: first_line(d).update(sku="S" * 10_000),
        "lines[0].sku",
        "at most",
    ),
    ("blank id", PLACE, lambda d: d.update(order_id="   "), "order_id", "must not be empty"),
    (
        "duplicate line ids",
        PLACE,
        lambda d: d["lines"].append(line("l1")),
        "lines",
        "l1 appears more than once",
    ),
    (
        "discount over the goods total",
        PLACE,
        lambda d: d.update(discount=2001),
        "discount",
        "more than the goods total 2000",
    ),
    ("lowercase currency", PLACE, lambda d: d.update(currency="eur"), "currency", "[A-Z]{3}"),
    ("currency name", PLACE, lambda d: d.update(currency="Euro"), "currency", "at most 3"),
    (
        "lowercase country",
        PLACE,
        lambda d: d["customer"].update(country="de"),
        "customer.country",
        "[A-Z]{2}",
    ),
    (
        "three-letter country",
        PLACE,
        lambda d: d["customer"].update(country="DEU"),
        "customer.country",
        "at most 2",
    ),
    (
        "bad address country",
        PLACE,
        lambda d: d.update(billing_address={"country": "Germany"}),
        "billing_address.country",
        "at most 2",
    ),
    (
        "bad email",
        PLACE,
        lambda d: d["customer"].update(email="not an email"),
        "customer.email",
        "expected form",
    ),
    (
        "capitalised payment method",
        PLACE,
        lambda d: d.update(payment_method="Visa"),
        "payment_method",
        "expected form",
    ),
    ("unknown reason", RETURN, lambda d: d.update(reason="bored"), "reason", "changed_mind"),
    ("unknown method", RETURN, lambda d: d.update(method="drone"), "method", "prepaid_label"),
    (
        "replacement asked by the customer",
        RETURN,
        lambda d: d.update(resolution="replacement"),
        "resolution",
        "the policy's to offer",
    ),
    (
        "exchange without a sku",
        RETURN,
        lambda d: d.update(resolution="exchange"),
        "exchange_sku",
        "exchange",
    ),
    (
        "a sku without an exchange",
        RETURN,
        lambda d: d.update(exchange_sku="L1-BLUE"),
        "exchange_sku",
        "exchange",
    ),
    (
        "evidence not a flag",
        RETURN,
        lambda d: d.update(evidence={"unboxing_video": "yes"}),
        "evidence.unboxing_video",
        "true or false",
    ),
    (
        "unknown evidence",
        RETURN,
        lambda d: d.update(evidence={"receipt": True}),
        "evidence.receipt",
        "receipt",
    ),
    (
        "zero units returned",
        RETURN,
        lambda d: first_line(d).update(quantity=0),
        "lines[0].quantity",
        "out of range",
    ),
    (
        "unknown condition",
        inspect_return(at(6)),
        lambda d: first_line(d).update(condition="meh"),
        "lines[0].condition",
        "unopened",
    ),
    (
        "review decision not a word we know",
        order_command("review_return", at(6), return_id="r1", decision="approve"),
        lambda d: d.update(decision="maybe"),
        "decision",
        "approve",
    ),
    (
        "renewal every zero days",
        {
            **place_order(),
            "type": "start_subscription",
            "subscription_id": "s1",
            "every_days": 30,
        },
        lambda d: d.update(every_days=0),
        "every_days",
        "out of range",
    ),
]


@pytest.mark.parametrize(
    ("base", "change", "field", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in WIRE_CASES],
)
def test_a_malformed_wire_command_is_refused_naming_the_field(
    base: dict[str, Any], change: Mutation, field: str | None, words: str
) -> None:
    error = refusal(mutated(base, change))
    assert error.code == "invalid_command"
    assert error.field == field
    assert words in str(error)
    assert str(error).startswith(f"{field}: ")


def test_the_well_formed_bases_of_the_malformed_cases_are_accepted() -> None:
    for _, base, *_ in WIRE_CASES:
        parse_command(copy.deepcopy(base))


def test_an_unknown_top_level_field_is_refused_and_named_in_the_message() -> None:
    error = refusal({**PLACE, "colour": "red"})
    assert error.code == "invalid_command"
    assert error.field == "colour"
    assert "unknown field(s): colour" in str(error)


def test_an_unknown_command_type_is_refused_naming_type() -> None:
    error = refusal({**PLACE, "type": "teleport_order"})
    assert error.field == "type"
    assert "unknown command type 'teleport_order'" in str(error)


def test_an_unknown_command_type_is_not_echoed_at_any_length() -> None:
    error = refusal({**PLACE, "type": "x" * 10_000})
    assert error.field == "type"
    assert len(str(error)) < 1_000


def test_a_missing_type_is_refused_naming_type() -> None:
    data = dict(PLACE)
    del data["type"]
    error = refusal(data)
    assert error.field == "type"
    assert "is required" in str(error)


def test_a_type_that_is_not_text_is_refused_naming_type() -> None:
    assert refusal({**PLACE, "type": 7}).field == "type"


@pytest.mark.parametrize("data", [[PLACE], "place_order", None, 42], ids=repr)
def test_a_command_that_is_not_an_object_is_refused(data: Any) -> None:
    with pytest.raises(InvalidCommand, match="a command is a JSON object"):
        parse_command(data)


def test_invalid_command_is_a_domain_error_and_a_value_error() -> None:
    error = refusal({**PLACE, "discount": -1})
    assert isinstance(error, DomainError)
    assert isinstance(error, ValueError)
    assert error.as_dict() == {"code": "invalid_command", "message": str(error)}


def test_a_time_with_another_offset_is_kept_in_utc() -> None:
    command = parse_command({**PLACE, "at": "2026-03-02T10:00:00+01:00"})
    assert command.at == T0
    assert command.at.tzinfo is UTC


def test_a_z_suffixed_time_is_accepted() -> None:
    assert parse_command({**PLACE, "at": "2026-03-02T09:00:00Z"}).at == T0


# -- the same refusals for Python callers --------------------------------------------------------

CUSTOMER = Customer(id="c1", country="DE")
LINE = OrderLine(line_id="l1", sku="L1", quantity=2, unit_price=1000)


def place(**changes: Any) -> PlaceOrder:
    fields: dict[str, Any] = {
        "order_id": "o1",
        "at": T0,
        "policy": "shop",
        "currency": "EUR",
        "customer": CUSTOMER,
        "lines": [LINE],
        "payment_method": "visa",
        **changes,
    }
    return PlaceOrder(**fields)


def order_line(**changes: Any) -> OrderLine:
    return OrderLine(**{"line_id": "l1", "sku": "L1", "quantity": 1, "unit_price": 100, **changes})


PYTHON_CASES: list[tuple[str, Callable[[], object], str, str]] = [
    ("naive time", lambda: place(at=datetime(2026, 3, 2, 9, 0)), "at", "no UTC offset"),
    ("time as text", lambda: place(at="2026-03-02T09:00:00Z"), "at", "must be a time"),
    ("float amount", lambda: order_line(unit_price=9.99), "unit_price", "float"),
    ("negative amount", lambda: order_line(unit_price=-5), "unit_price", "out of range"),
    ("negative shipping", lambda: place(shipping_fee=-1), "shipping_fee", "out of range"),
    ("zero quantity", lambda: order_line(quantity=0), "quantity", "out of range"),
    ("text for an integer", lambda: order_line(quantity="2"), "quantity", "not str"),
    ("empty line list", lambda: place(lines=[]), "lines", "must not be empty"),
    ("dicts for lines", lambda: place(lines=[{"line_id": "l1"}]), "lines", "list of OrderLine"),
    ("a list for an object", lambda: place(customer=[CUSTOMER]), "customer", "Customer object"),
    ("absurdly long text", lambda: Customer(id="x" * 10_000, country="DE"), "id", "at most"),
    ("duplicate line ids", lambda: place(lines=[LINE, LINE]), "lines", "more than once"),
    ("discount over the goods", lambda: place(discount=2001), "discount", "goods total 2000"),
    ("bad currency", lambda: place(currency="eur"), "currency", "expected form"),
    ("bad country", lambda: Customer(id="c1", country="de"), "country", "expected form"),
    (
        "replacement asked by the customer",
        lambda: RequestReturn(
            order_id="o1",
            at=T0,
            return_id="r1",
            lines=(ReturnLine(line_id="l1", quantity=1),),
            reason=ReturnReason.DAMAGED,
            method=ReturnMethod.OWN_CARRIER,
            resolution=Resolution.REPLACEMENT,
        ),
        "resolution",
        "policy's to offer",
    ),
    (
        "unknown reason word",
        lambda: RequestReturn(
            order_id="o1",
            at=T0,
            return_id="r1",
            lines=(ReturnLine(line_id="l1", quantity=1),),
            reason="bored",  # type: ignore[arg-type]  # the wrong value is the point
            method=ReturnMethod.OWN_CARRIER,
        ),
        "reason",
        "changed_mind",
    ),
]


@pytest.mark.parametrize(
    ("build", "field", "words"), [pytest.param(*case[1:], id=case[0]) for case in PYTHON_CASES]
)
def test_a_malformed_command_built_in_python_is_refused_naming_the_field(
    build: Callable[[], object], field: str, words: str
) -> None:
    with pytest.raises(InvalidCommand) as raised:
        build()
    assert raised.value.code == "invalid_command"
    assert raised.value.field == field
    assert words in str(raised.value)


def test_an_unknown_keyword_in_python_is_pythons_own_type_error() -> None:
    with pytest.raises(TypeError, match="colour"):
        place(colour="red")


def test_python_callers_may_use_enum_members_or_their_wire_words() -> None:
    # The converters take a list and wire words; the declared types name what is kept.
    as_words = RequestReturn(
        order_id="o1",
        at=T0,
        return_id="r1",
        lines=[ReturnLine(line_id="l1", quantity=1)],  # type: ignore[arg-type]
        reason="damaged",  # type: ignore[arg-type]
        method="own_carrier",  # type: ignore[arg-type]
    )
    assert as_words.reason is ReturnReason.DAMAGED
    assert as_words.resolution is Resolution.REFUND


def test_a_python_time_in_another_zone_is_kept_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    assert place(at=datetime(2026, 3, 2, 10, 0, tzinfo=paris)).at == T0


# -- round trips ---------------------------------------------------------------------------------

FULL_PLACE = place_order(
    line("l1", quantity=2, unit_price=1999, category="Tights", bundle="b1"),
    line("l2", unit_price=500, final_sale=True, free_gift=True, bundle="b1"),
    shipping_fee=495,
    discount=300,
    command_id="cmd-1",
    actor="fulfilment",
    shipping_address={"country": "FR", "name": "A. Person", "city": "Lyon", "postal_code": "69001"},
    billing_address={"country": "DE", "line1": "Hauptstr. 1"},
)
ROUND_TRIPS: list[dict[str, Any]] = [
    FULL_PLACE,
    order_command("cancel_order", at(1), reason="changed my mind"),
    order_command("dispatch_order", at(1), carrier="DHL", tracking_number="JD0001"),
    order_command("confirm_delivery", at(2)),
    order_command("report_lost", at(2)),
    request_return(
        at(3),
        {"l1": 2, "l2": 1},
        reason="missing_item",
        method="pickup",
        resolution="exchange",
        exchange_sku="L1-RED",
        exchange_unit_price=1250,
        evidence={"unboxing_video": True},
    ),
    order_command("review_return", at(4), return_id="r1", decision="approve", note="ok"),
    order_command("receive_return", at(5), return_id="r1", return_shipping_paid=650),
    inspect_return(at(6), [("l1", 1, "opened"), ("l1", 1, "defective")]),
    order_command("issue_refund", at(7), return_id="r1", payment_reference="PAY-1"),
    order_command("issue_refund", at(7)),
    order_command("ship_replacement", at(7), return_id="r1", tracking_number="JD0002"),
    order_command("settle_by_refund", at(7), return_id="r1", actor="support-1", note="no stock"),
    {**FULL_PLACE, "type": "start_subscription", "subscription_id": "s1", "every_days": 30},
    order_command("renew_subscription", at(30), order_id="o2", subscription_id="s1"),
    {"type": "cancel_subscription", "at": at(31).isoformat(), "subscription_id": "s1"},
]


def test_the_round_trip_examples_cover_every_command_type() -> None:
    assert {data["type"] for data in ROUND_TRIPS} == set(COMMAND_TYPES)


@pytest.mark.parametrize("data", ROUND_TRIPS, ids=lambda d: str(d["type"]))
def test_a_command_survives_the_round_trip_through_its_wire_form(data: dict[str, Any]) -> None:
    command = parse_command(data)
    wire = command_to_dict(command)
    assert wire["type"] == data["type"] == command.TYPE
    assert parse_command(wire) == command


@pytest.mark.parametrize("data", ROUND_TRIPS, ids=lambda d: str(d["type"]))
def test_the_wire_form_repeats_every_field_given(data: dict[str, Any]) -> None:
    wire = command_to_dict(parse_command(data))
    assert_contains(wire, data)


def assert_contains(wire: Any, given: Any, path: str = "$") -> None:
    """Every value given is in the wire form (which also spells out defaults)."""
    if isinstance(given, dict):
        for key, value in given.items():
            assert key in wire, f"{path}.{key}"
            assert_contains(wire[key], value, f"{path}.{key}")
    elif isinstance(given, list):
        assert len(wire) == len(given), path
        for index, (inner, value) in enumerate(zip(wire, given, strict=True)):
            assert_contains(inner, value, f"{path}[{index}]")
    elif path == "$.at":
        assert datetime.fromisoformat(wire) == datetime.fromisoformat(given)
    else:
        assert wire == given, path


def test_the_wire_form_leaves_absent_optional_fields_out() -> None:
    wire = command_to_dict(CancelOrder(order_id="o1", at=T0))
    assert wire == {"type": "cancel_order", "at": "2026-03-02T09:00:00+00:00", "order_id": "o1"}


# -- ids hold no control characters (C0, DEL, C1) ------------------------------------------------

SUBSCRIBE = {
    **place_order(line("l1"), order_id="first"),
    "type": "start_subscription",
    "subscription_id": "s1",
    "every_days": 30,
}
EXCHANGE = request_return(at(5), resolution="exchange", exchange_sku="L1-BLUE")

# (where, base command, the field path, how to set it)
ID_FIELDS: list[tuple[str, dict[str, Any], str, Mutation | None]] = [
    ("order", PLACE, "order_id", lambda d: None),
    ("return", RETURN, "return_id", lambda d: None),
    ("line", PLACE, "lines[0].line_id", lambda d: None),
    ("sku", PLACE, "lines[0].sku", lambda d: None),
    ("exchange sku", EXCHANGE, "exchange_sku", lambda d: None),
    ("customer", PLACE, "customer.id", lambda d: None),
    ("subscription", SUBSCRIBE, "subscription_id", lambda d: None),
    ("command", PLACE, "command_id", lambda d: d.update(command_id="req-1")),
    ("refund's return", order_command("issue_refund", at(9), return_id="r1"), "return_id", None),
    ("returned line", RETURN, "lines[0].line_id", None),
    ("inspected line", inspect_return(at(7)), "lines[0].line_id", None),
    (
        "renewed subscription",
        order_command("renew_subscription", at(30), subscription_id="s1"),
        "subscription_id",
        None,
    ),
]


def _set_path(data: dict[str, Any], path: str, value: str) -> None:
    target: Any = data
    *parents, last = path.replace("[0]", ".0").split(".")
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[last] = value


@pytest.mark.parametrize("control", ["\x00", "\x1f", "\x7f", "\x85", "\x9f"], ids=repr)
@pytest.mark.parametrize(
    ("base", "path", "prepare"), [c[1:] for c in ID_FIELDS], ids=[c[0] for c in ID_FIELDS]
)
def test_an_id_with_a_control_character_is_refused_naming_it(
    base: dict[str, Any], path: str, prepare: Mutation | None, control: str
) -> None:
    data = mutated(base, prepare or (lambda d: None))
    parse_command(data)  # the base is well formed
    _set_path(data, path, f"id{control}1")
    error = refusal(data)
    assert error.field == path
    assert f"control character (U+{ord(control):04X})" in str(error)


def test_free_text_may_still_hold_any_character() -> None:
    """Notes, reasons and references are text a person typed, not ids: only ids are strict."""
    command = parse_command(order_command("cancel_order", at(1), reason="line one\nline two"))
    assert isinstance(command, CancelOrder)
    assert command.reason == "line one\nline two"


def test_an_id_in_another_script_is_accepted() -> None:
    command = parse_command({**PLACE, "order_id": "注文-7 ✓", "command_id": "ñ-1"})
    assert isinstance(command, PlaceOrder)
    assert (command.order_id, command.command_id) == ("注文-7 ✓", "ñ-1")


# -- amounts stay far inside SQLite's 64-bit integers ---------------------------------------------


def test_a_line_worth_more_than_the_maximum_is_refused_naming_its_price() -> None:
    data = place_order(line("l1", quantity=10, unit_price=MAX_LINE_VALUE // 10 + 1))
    error = refusal(data)
    assert error.field == "lines[0].unit_price"
    assert f"at most {MAX_LINE_VALUE}" in str(error)
    assert parse_command(place_order(line("l1", quantity=10, unit_price=MAX_LINE_VALUE // 10)))


def test_an_order_totalling_more_than_the_maximum_is_refused() -> None:
    lines = [line(f"l{n}", unit_price=MAX_LINE_VALUE // 2) for n in range(3)]
    error = refusal(place_order(*lines, shipping_fee=None))
    assert error.field == "lines"
    assert f"an order may total at most {MAX_ORDER_TOTAL}" in str(error)


def test_a_shipping_fee_that_takes_the_order_over_the_maximum_is_refused_naming_it() -> None:
    goods = [line("l1", unit_price=MAX_ORDER_TOTAL)]
    assert parse_command(place_order(*goods, shipping_fee=0))
    error = refusal(place_order(*goods, shipping_fee=1))
    assert error.field == "shipping_fee"


def test_the_maximum_order_total_summed_over_millions_of_orders_fits_in_64_bits() -> None:
    assert MAX_ORDER_TOTAL == MAX_LINE_VALUE == MAX_AMOUNT
    assert 5_000_000 * MAX_ORDER_TOTAL < 2**63 - 1
