"""Messages more than one screen or widget handles; a widget's own messages live in it."""

from __future__ import annotations

from textual.message import Message

from crmcli.errors import CrmError


class DataChanged(Message):
    """Something was committed to the database, by this dashboard or by another process."""

    def __init__(self, marker: tuple[int, int]) -> None:
        super().__init__()
        self.marker = marker


class ReadFailed(Message):
    """What a screen shows could not be read (a `CrmError`): it is gone from this database,
    deleted or dropped by a sync when it left the member's view. Nothing was shown."""

    def __init__(self, error: CrmError) -> None:
        super().__init__()
        self.error = error


class Saved(Message):
    """A write went through; `summary` says what happened, for a notification."""

    def __init__(self, summary: str) -> None:
        super().__init__()
        self.summary = summary


class Refused(Message):
    """A write was refused (invalid value, stale edit, permission…); nothing was stored."""

    def __init__(self, error: CrmError) -> None:
        super().__init__()
        self.error = error


class Waiting(Message):
    """A write waits for another program that holds the database's write lock (a long
    import, a sync); it is tried again until it goes through or its screen goes away."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
