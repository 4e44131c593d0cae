"""Records in their machine form: data-dictionary names, full ids, JSON-safe values.

JSON, ndjson and CSV output and exports use these, so a script sees the same keys
whichever command produced them.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from crmcli import clock


def jsonable(value: Any) -> Any:
    """A stored value as JSON: Decimal as text, times as ISO UTC."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return clock.iso(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def to_dict(record: Any, names: tuple[str, ...], **renamed: str) -> dict[str, Any]:
    """`record`'s `names` as JSON-safe values; `renamed` maps output key → attribute."""
    values = {"id": record.id}
    for name in names:
        attribute = renamed.get(name, name)
        values[name] = jsonable(getattr(record, attribute))
    return values
