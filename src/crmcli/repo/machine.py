"""Records in their machine form: data-dictionary names, full ids, JSON-safe values.

JSON, ndjson and CSV output and exports use these, so a script sees the same keys
whichever command produced them.
"""

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from crmcli import clock


def jsonable(value: Any) -> Any:
    """A stored value as JSON: Decimal as text, times as ISO UTC."""
    if value is None or type(value) in _AS_IS:
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return clock.iso(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


_AS_IS = frozenset({str, int, bool, float})


def to_dict(record: Any, names: tuple[str, ...], **renamed: str) -> dict[str, Any]:
    """`record`'s `names` as JSON-safe values; `renamed` maps output key → attribute."""
    values = {"id": record.id}
    for name in names:
        attribute = renamed.get(name, name)
        values[name] = jsonable(getattr(record, attribute))
    return values


def new_row(model: type, values: dict[str, Any]) -> dict[str, Any]:
    """Every column of a new `model` row, in the model's order: `values`, and the model's
    defaults for the rest.

    This is what `model(**values)` would hold, without building the ORM object: bulk
    writes insert such dicts with SQLAlchemy Core, because an ORM object costs ~160 µs
    to build and a dict a few.
    """
    template, factories = _defaults(model)
    row = {**template, **values}
    if len(row) != len(template):  # `values` named a column the model does not have
        raise TypeError(f"not columns of {model.__name__}: {sorted(row.keys() - template.keys())}")
    for name, factory in factories:
        if name not in values:
            row[name] = factory()
    return row


@cache
def _defaults(model: type) -> tuple[dict[str, Any], tuple[tuple[str, Any], ...]]:
    """A row of `model`'s static defaults, and the columns whose default is made per row."""
    template: dict[str, Any] = {}
    factories = []
    for name, info in model.model_fields.items():
        template[name] = None if info.is_required() or info.default_factory else info.default
        if info.default_factory:
            factories.append((name, info.default_factory))
    return template, tuple(factories)
