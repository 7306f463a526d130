"""`lifecycle.copying.replacer`: the fast `attrs.evolve` the order fold uses."""

from __future__ import annotations

import attrs
import pytest

from lifecycle.copying import replacer


@attrs.frozen(kw_only=True)
class Parcel:
    label: str
    weight: int = attrs.field(validator=attrs.validators.ge(0))
    note: str | None = None


replace = replacer(Parcel)


def test_a_copy_changes_only_the_fields_given_like_attrs_evolve() -> None:
    parcel = Parcel(label="a", weight=3, note="fragile")
    assert replace(parcel, weight=5) == attrs.evolve(parcel, weight=5)
    assert replace(parcel, note=None) == Parcel(label="a", weight=3)
    assert replace(parcel) == parcel
    assert parcel.weight == 3  # the original is untouched


def test_a_copy_runs_the_class_validators() -> None:
    with pytest.raises(ValueError, match="weight"):
        replace(Parcel(label="a", weight=3), weight=-1)


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(TypeError):
        replace(Parcel(label="a", weight=3), colour="red")


def test_a_class_with_a_field_set_under_another_name_is_refused() -> None:
    @attrs.frozen
    class Hidden:
        _secret: int

    with pytest.raises(TypeError, match="_secret"):
        replacer(Hidden)
