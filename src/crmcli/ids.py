"""Record ids: uuid7 (sortable by creation time) and the short form people type.

A uuid7 begins with a 48-bit millisecond timestamp, so its first eight hex digits are the
same for every record made within about a minute (a bulk import shares them all). The
short id people see is therefore the *last* eight hex digits, which are random. A reference
resolves by a prefix of either the full id or the short id.
"""

import re

import uuid6

SHORT_LEN = 8
MIN_PREFIX = 4
_HEX = re.compile(r"^[0-9a-f-]+$")


def new_id() -> str:
    return str(uuid6.uuid7())


def short(record_id: str | None) -> str:
    return record_id[-SHORT_LEN:] if record_id else ""


def could_be_id_prefix(text: str) -> bool:
    """Whether `text` is worth looking up as an id prefix (hex, at least MIN_PREFIX long)."""
    return len(text) >= MIN_PREFIX and bool(_HEX.match(text.lower()))
