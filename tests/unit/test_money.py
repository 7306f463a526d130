"""Money: splitting amounts by largest remainder so the parts always add up, and formatting."""

from __future__ import annotations

import pytest

from lifecycle.money import MAX_AMOUNT, allocate, format_money, percent_of, unit_amounts

SPLITS = [
    (100, [1, 1, 1]),
    (1, [5, 5, 5, 5]),
    (999, [1, 2, 3, 4]),
    (12345, [1999, 2999, 4999]),
    (0, [3, 7]),
    (7, [0, 1, 0]),
    (MAX_AMOUNT, [1, 1, 1, 1, 1, 1, 1]),
]


@pytest.mark.parametrize(("total", "weights"), SPLITS)
def test_the_parts_add_up_to_the_total(total: int, weights: list[int]) -> None:
    assert sum(allocate(total, weights)) == total


@pytest.mark.parametrize(("total", "weights"), SPLITS)
def test_each_part_is_within_one_cent_of_its_exact_share(total: int, weights: list[int]) -> None:
    whole = sum(weights)
    for part, weight in zip(allocate(total, weights), weights, strict=True):
        # |part - total*weight/whole| < 1, in integers
        assert abs(part * whole - total * weight) < whole


def test_a_split_with_no_remainder_is_exactly_proportional() -> None:
    # 1000 over weights 1:3 divides with no remainder.
    assert allocate(1000, [1, 3]) == [250, 750]


def test_a_zero_weight_gets_nothing_when_others_have_weight() -> None:
    assert allocate(7, [0, 1, 0]) == [0, 7, 0]


def test_the_left_over_cent_goes_to_the_largest_remainder() -> None:
    # Exact shares of 7 over 2:3:5 are 1.4, 2.1 and 3.5; the floors 1, 2, 3 leave one cent,
    # and 3.5 has the largest remainder.
    assert allocate(7, [2, 3, 5]) == [1, 2, 4]


def test_equal_remainders_give_the_cent_to_the_earlier_part() -> None:
    # 100 / 3 = 33 remainder 1 for every part: the first part gets the one cent left over.
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    # Two cents left over, three equal remainders: the first two parts get them.
    assert allocate(101, [1, 1, 1]) == [34, 34, 33]


def test_a_tie_between_unequal_weights_goes_to_the_earlier_part_too() -> None:
    # 2 over 1:2:1 is 0.5, 1.0, 0.5: the floors 0, 1, 0 leave one cent, and the first and the
    # last part tie on the remainder 0.5; the first one gets it.
    assert allocate(2, [1, 2, 1]) == [1, 1, 0]
    # 5 over 1:1:2:2 is 5/6, 5/6, 10/6, 10/6: floors 0, 0, 1, 1 leave three cents; remainders
    # 5/6, 5/6, 4/6, 4/6, so the first two get one each and the tie at 4/6 goes to the third.
    assert allocate(5, [1, 1, 2, 2]) == [1, 1, 2, 1]


def test_all_zero_weights_split_evenly() -> None:
    # Nothing to be proportional to: 5 over two parts is 2.5 each, the earlier part rounds up.
    assert allocate(5, [0, 0]) == [3, 2]
    assert allocate(0, [0, 0, 0]) == [0, 0, 0]


def test_a_zero_total_gives_zero_parts() -> None:
    assert allocate(0, [3, 7]) == [0, 0]


@pytest.mark.parametrize(
    ("total", "weights"),
    [(10, []), (-1, [1, 1]), (10, [1, -1])],
    ids=["no parts", "negative total", "negative weight"],
)
def test_allocating_nonsense_raises_value_error(total: int, weights: list[int]) -> None:
    with pytest.raises(ValueError, match="allocate"):
        allocate(total, weights)


def test_unit_amounts_split_a_line_price_over_its_units() -> None:
    # 1000 cents for three units: 333.33 each, the first unit carries the extra cent.
    assert unit_amounts(1000, 3) == [334, 333, 333]
    assert sum(unit_amounts(1999, 7)) == 1999


def test_a_percentage_rounds_down_in_the_customers_favour() -> None:
    # 10% of 999 is 99.9: the fee is 99, never 100.
    assert percent_of(999, 10) == 99
    assert percent_of(1000, 15) == 150
    assert percent_of(1000, 0) == 0


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1999, "USD", "USD 19.99"),
        (-699, "USD", "USD -6.99"),
        (5, "EUR", "EUR 0.05"),
        (0, "EUR", "EUR 0.00"),
        (123456789, "EUR", "EUR 1,234,567.89"),
        (1500, "JPY", "JPY 1,500"),
        (-1500, "JPY", "JPY -1,500"),
        (1234, "KWD", "KWD 1.234"),
    ],
)
def test_format_money_writes_the_minor_unit_of_the_currency(
    amount: int, currency: str, text: str
) -> None:
    assert format_money(amount, currency) == text
