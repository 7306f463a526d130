"""Policy files: TOML validated on load (a bad file is `InvalidPolicy` naming the file and the
field), versioned by the hash of their text, and found by name in a registry."""

from __future__ import annotations

import hashlib
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from lifecycle import InvalidPolicy, PolicyRegistry, UnknownPolicy
from lifecycle.policy import CountedFrom
from lifecycle.policy_files import parse_policy, policy_version
from lifecycle.policy_loading import load_policy
from tests.unit.builders import make_policy

HEADER = 'name = "shop"\ntitle = "Shop"\n'
CLAUSES = '[clauses]\n"shop/a" = "Clause A."\n'


def policy_text(body: str = "", *, top: str = "") -> str:
    """A policy file: header, top-level keys, one defined clause (`shop/a`), then `body`."""
    return f"{HEADER}{top}\n{CLAUSES}\n{body}\n"


def refusal(text: str, source: str = "shop.toml") -> InvalidPolicy:
    with pytest.raises(InvalidPolicy) as raised:
        parse_policy(text, source)
    return raised.value


BAD_FILES = [
    (
        "wrong type",
        '[refund]\ndeadline_days = "ten"\nclause = "shop/a"',
        "refund.deadline_days",
        "must be an integer, not str",
    ),
    (
        "float for an integer",
        '[refund]\ndeadline_days = 1.5\nclause = "shop/a"',
        "refund.deadline_days",
        "float",
    ),
    (
        "text for a list",
        '[currencies]\naccepted = "EUR"\nclause = "shop/a"',
        "currencies.accepted",
        "must be a list",
    ),
    (
        "unknown key",
        '[refund]\ndeadline_days = 10\nclause = "shop/a"\nbusiness = true',
        "refund.business",
        "unknown field(s): business",
    ),
    (
        "unknown key in a list of tables",
        '[[return_shipping]]\nclause = "shop/a"\nfee = 5',
        "return_shipping[0].fee",
        "unknown field(s): fee",
    ),
    ("missing key", '[refund]\nclause = "shop/a"', "refund.deadline_days", "is required"),
    (
        "undefined clause id",
        '[refund]\ndeadline_days = 10\nclause = "shop/refunds"',
        "refund.clause",
        "'shop/refunds' is not defined in [clauses]",
    ),
    (
        "undefined clause id deep inside",
        '[conditions]\naccepted = ["unopened"]\nclause = "shop/a"\n'
        '[[conditions.exceptions]]\nreasons = ["damaged"]\naccepted = ["used"]\n'
        'clause = "shop/nope"',
        "conditions.exceptions[0].clause",
        "not defined",
    ),
    (
        "negative amount",
        '[[shipping_fees]]\nflat = -495\nclause = "shop/a"',
        "shipping_fees[0].flat",
        "must not be negative",
    ),
    (
        "amount past what orderlog takes",
        '[[shipping_fees]]\nflat = 1000000000001\nclause = "shop/a"',
        "shipping_fees[0].flat",
        "the largest number orderlog takes",
    ),
    (
        "negative window",
        '[return_window]\ndays = -1\nclause = "shop/a"',
        "return_window.days",
        "must not be negative",
    ),
    (
        "restocking percent over 100",
        '[restocking_fee]\npercent = 101\nclause = "shop/a"',
        "restocking_fee.percent",
        "0 to 100",
    ),
    (
        "review share over 100 percent",
        '[[review]]\nwhen = "return_share_over"\npercent = 150\nclause = "shop/a"',
        "review[0].percent",
        "0 to 100",
    ),
    (
        "country name instead of code",
        '[[return_shipping]]\ncountries = ["Germany"]\nclause = "shop/a"',
        "return_shipping[0].countries",
        "'Germany' is not a country code or region",
    ),
    (
        "lowercase country",
        '[[shipping_fees]]\ncountries = ["de"]\nflat = 0\nclause = "shop/a"',
        "shipping_fees[0].countries",
        "'de'",
    ),
    (
        "bad currency",
        '[currencies]\naccepted = ["EUR", "euro"]\nclause = "shop/a"',
        "currencies.accepted",
        "'euro' is not a currency code",
    ),
    (
        "review trigger missing its amount",
        '[[review]]\nwhen = "return_value_over"\nclause = "shop/a"',
        "review[0].amount",
        "return_value_over needs amount",
    ),
    (
        "review trigger missing its percent",
        '[[review]]\nwhen = "return_share_over"\nclause = "shop/a"',
        "review[0].percent",
        "return_share_over needs percent",
    ),
    (
        "unknown review trigger",
        '[[review]]\nwhen = "customer_is_rude"\nclause = "shop/a"',
        "review[0].when",
        "billing_country_differs",
    ),
    (
        "unknown word",
        '[return_window]\ndays = 30\ncounted_from = "dispatch"\nclause = "shop/a"',
        "return_window.counted_from",
        "purchase, delivery",
    ),
    (
        "unknown reason word",
        '[replacement]\nreasons = ["broken"]\nclause = "shop/a"',
        "replacement.reasons[0]",
        "'broken' is not one of",
    ),
    (
        "bad holiday",
        '[refund]\ndeadline_days = 5\nbusiness_days = true\nholidays = ["25/12/2026"]\n'
        'clause = "shop/a"',
        "refund.holidays[0]",
        "is not a date",
    ),
    ("not TOML at all", "[refund\ndeadline_days = 5", "(file)", "is not valid TOML"),
]


@pytest.mark.parametrize(
    ("body", "field", "words"), [pytest.param(*case[1:], id=case[0]) for case in BAD_FILES]
)
def test_a_bad_policy_file_is_refused_naming_the_file_and_the_field(
    body: str, field: str, words: str
) -> None:
    error = refusal(policy_text(body), "shop.toml")
    assert error.code == "invalid_policy"
    assert error.source == "shop.toml"
    assert error.field == field
    assert str(error).startswith(f"shop.toml: {field}: ")
    assert words in str(error)


def test_the_bad_files_are_fine_without_their_mistake() -> None:
    assert parse_policy(policy_text(), "shop.toml").name == "shop"


@pytest.mark.parametrize("key", ["version", "source", "text"])
def test_a_key_only_the_loader_sets_is_refused(key: str) -> None:
    error = refusal(policy_text(top=f'{key} = "abc"\n'))
    assert error.field == key
    assert "is set by orderlog" in str(error)


def test_an_unknown_top_level_key_is_refused_naming_the_file_and_the_key() -> None:
    error = refusal(policy_text(top="colour = 1\n"), "mine.toml")
    assert error.source == "mine.toml"
    assert str(error).startswith("mine.toml: ")
    assert "unknown field(s): colour" in str(error)


def test_a_policy_without_a_name_is_refused() -> None:
    error = refusal(f'title = "Shop"\n{CLAUSES}')
    assert error.field == "name"
    assert "is required" in str(error)


def test_a_policy_name_must_be_a_lowercase_word() -> None:
    error = refusal(policy_text().replace('name = "shop"', 'name = "My Shop"'))
    assert error.field == "name"


def test_a_clause_id_must_start_with_the_policy_name() -> None:
    error = refusal(f'{HEADER}[clauses]\n"other/a" = "Not ours."\n')
    assert error.field == "clauses.other/a"
    assert "must start with shop/" in str(error)


def test_orderlogs_default_clauses_may_be_cited() -> None:
    policy = parse_policy(
        policy_text('[cancellation]\nclause = "orderlog/cancel-before-dispatch"'), "shop.toml"
    )
    assert policy.cancellation is not None
    assert policy.cancellation.window_minutes is None


def test_the_eu_region_word_and_the_wildcard_are_countries() -> None:
    policy = parse_policy(
        policy_text(
            '[[shipping_fees]]\ncountries = ["EU"]\nflat = 495\nclause = "shop/a"\n'
            '[[shipping_fees]]\ncountries = ["*"]\nflat = 1500\nclause = "shop/a"'
        ),
        "shop.toml",
    )
    assert [rule.countries for rule in policy.shipping_fees] == [("EU",), ("*",)]


def test_toml_dates_are_read_as_holidays() -> None:
    policy = parse_policy(
        policy_text(
            "[refund]\ndeadline_days = 5\nbusiness_days = true\n"
            'holidays = [2026-12-25, "2026-12-26"]\nclause = "shop/a"'
        ),
        "shop.toml",
    )
    assert policy.refund is not None
    assert policy.refund.holidays == (date(2026, 12, 25), date(2026, 12, 26))


# -- versions ------------------------------------------------------------------------------------


def test_the_version_is_the_hash_of_the_files_text() -> None:
    text = policy_text()
    policy = parse_policy(text, "shop.toml")
    assert policy.version == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert policy.version == policy_version(text)
    assert (policy.source, policy.text) == ("shop.toml", text)


def test_the_same_text_has_the_same_version_wherever_it_is_read_from() -> None:
    text = policy_text()
    assert parse_policy(text, "a.toml").version == parse_policy(text, "b.toml").version


def test_any_edit_to_the_file_changes_the_version() -> None:
    text = policy_text()
    edited = text + "# a comment\n"
    assert parse_policy(text, "shop.toml").version != parse_policy(edited, "shop.toml").version


# -- loading files -------------------------------------------------------------------------------


def test_a_file_is_named_after_its_policy(tmp_path: Path) -> None:
    path = tmp_path / "shop.toml"
    path.write_text(policy_text(), encoding="utf-8")
    assert load_policy(path).source == "shop.toml"


def test_a_file_named_otherwise_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.toml"
    path.write_text(policy_text(), encoding="utf-8")
    with pytest.raises(InvalidPolicy) as raised:
        load_policy(path)
    assert (raised.value.source, raised.value.field) == ("store.toml", "name")
    assert "shop.toml" in str(raised.value)


def test_a_directory_of_policies_is_loaded_into_the_registry(tmp_path: Path) -> None:
    (tmp_path / "shop.toml").write_text(policy_text(), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a policy", encoding="utf-8")
    registry = PolicyRegistry()
    registry.load_directory(tmp_path)
    assert registry.names() == ["shop"]


def test_the_shipped_kiyomi_policy_loads() -> None:
    text = resources.files("lifecycle.policies").joinpath("kiyomi.toml").read_text("utf-8")
    kiyomi = parse_policy(text, "kiyomi.toml")
    assert kiyomi.name == "kiyomi"
    assert kiyomi.version == policy_version(text)
    assert kiyomi.cancellation is not None
    assert kiyomi.cancellation.window_minutes == 5
    assert kiyomi.return_window is not None
    assert (kiyomi.return_window.days, kiyomi.return_window.counted_from) == (
        30,
        CountedFrom.DELIVERY,
    )
    assert kiyomi.refund is not None
    assert (kiyomi.refund.deadline_days, kiyomi.refund.business_days) == (10, True)
    assert kiyomi.subscriptions is not None


# -- the registry --------------------------------------------------------------------------------

FIRST = make_policy('[refund]\ndeadline_days = 14\nclause = "shop/refund"')
SECOND = make_policy('[refund]\ndeadline_days = 30\nclause = "shop/refund"')


def test_the_registry_finds_the_current_version_by_name() -> None:
    assert PolicyRegistry([FIRST]).current("shop") is FIRST


def test_a_newer_version_becomes_current_and_the_older_stays_findable() -> None:
    registry = PolicyRegistry([FIRST, SECOND])
    assert FIRST.version != SECOND.version
    assert registry.current("shop") is SECOND
    assert registry.get("shop", FIRST.version) is FIRST
    assert registry.get("shop", SECOND.version) is SECOND


def test_an_old_version_added_as_not_current_leaves_the_current_one() -> None:
    registry = PolicyRegistry([SECOND])
    registry.add(FIRST, current=False)
    assert registry.current("shop") is SECOND
    assert registry.get("shop", FIRST.version) is FIRST


def test_an_unknown_version_is_none() -> None:
    assert PolicyRegistry([FIRST]).get("shop", "0000000000000000") is None
    assert PolicyRegistry([FIRST]).get("other", FIRST.version) is None


def test_an_unknown_name_is_unknown_policy_listing_the_known_ones() -> None:
    with pytest.raises(UnknownPolicy) as raised:
        PolicyRegistry([FIRST]).current("nope")
    assert raised.value.code == "unknown_policy"
    assert isinstance(raised.value, LookupError)
    assert "'nope'" in str(raised.value)
    assert "known: shop" in str(raised.value)


def test_an_empty_registry_says_it_knows_none() -> None:
    with pytest.raises(UnknownPolicy, match=r"known: none"):
        PolicyRegistry().current("shop")


def test_subscription_clause_ids_must_be_defined_too() -> None:
    text = (
        'name = "shop"\ntitle = "Shop"\n[clauses]\n"shop/subs" = "Subscriptions."\n'
        '[subscriptions]\nclause = "shop/subs"\ncancel_clause = "shop/nope"\n'
    )
    with pytest.raises(InvalidPolicy, match=r"subscriptions\.cancel_clause"):
        parse_policy(text, "shop.toml")


def test_payment_methods_are_lowercase_words() -> None:
    with pytest.raises(InvalidPolicy, match=r"payment_methods\.accepted"):
        make_policy('[payment_methods]\naccepted = ["Visa"]\nclause = "shop/pay"')
