"""A fast `attrs.evolve` for the classes folded on every event (an order, a return).

`attrs.evolve` looks up the class's fields and reads each one by name on every call; folding
a log calls it several times per event, and verify folds every event of the log. `replacer`
does that lookup once, when the module loads, and generates a function with one keyword per
field (the way attrs generates `__init__`), so a copy costs little more than `__init__`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

T = TypeVar("T")

_UNCHANGED: Any = object()


def replacer(cls: type[T]) -> Callable[..., T]:
    """`replace(instance, field=value, ...)`: a copy of `instance` with those fields changed,
    built by the class's own `__init__` (so its validators run), like `attrs.evolve`."""
    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    for field in attrs.fields(cls):  # type: ignore[arg-type]
        if not field.init or field.alias != field.name:
            raise TypeError(f"{cls.__name__}.{field.name} is not set by its own name")
    params = ", ".join(f"{name}=_UNCHANGED" for name in names)
    values = ", ".join(
        f"{name}=instance.{name} if {name} is _UNCHANGED else {name}" for name in names
    )
    source = f"def replace(instance, *, {params}):\n    return cls({values})\n"
    scope: dict[str, Any] = {"cls": cls, "_UNCHANGED": _UNCHANGED}
    exec(compile(source, f"<replacer of {cls.__qualname__}>", "exec"), scope)
    replace: Callable[..., T] = scope["replace"]
    replace.__doc__ = f"A copy of a {cls.__name__} with the fields given changed."
    return replace
