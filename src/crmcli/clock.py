"""The one source of "now", so tests and scripts can freeze it with CRM_NOW.

Stored times are UTC; `local()` converts for display in the machine's time zone.
"""

import os
from datetime import UTC, datetime
from functools import lru_cache


def now() -> datetime:
    """The current time in UTC; CRM_NOW (an ISO timestamp) overrides it."""
    frozen = os.environ.get("CRM_NOW")
    if frozen:
        moment = datetime.fromisoformat(frozen)
        if moment.tzinfo is None:
            moment = moment.astimezone()
        return moment.astimezone(UTC)
    return datetime.now(UTC)


def local(moment: datetime | None) -> datetime | None:
    """A stored UTC time in the local time zone (naive values are taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone()


@lru_cache(maxsize=256)
def iso(moment: datetime | None) -> str | None:
    """A UTC timestamp as ISO 8601 with a Z, the form machine output uses (remembered for
    the last few moments: a bulk write stamps thousands of records with one)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def show(moment: datetime | None) -> str:
    """A stored time as people read it: local, to the minute."""
    value = local(moment)
    return value.strftime("%Y-%m-%d %H:%M") if value else ""
