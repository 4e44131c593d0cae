"""The Owner filter of the customer list and of the reports: the team's members to tick,
read again whenever its screen reloads (a member added elsewhere, in another terminal or
by a sync, can own customers and must be there to filter by)."""

from __future__ import annotations

from textual import work
from textual.message import Message

from crmcli.repo import users
from crmcli.tui.data import Workspace, post_if_current, reading_for
from crmcli.tui.widgets.choice_filter import ChoiceFilter


class OwnerFilter(ChoiceFilter):
    class Loaded(Message):
        def __init__(self, handles: list[str]) -> None:
            super().__init__()
            self.handles = handles

    def __init__(self, workspace: Workspace, *, id: str | None = "owner") -> None:
        super().__init__("Owner", (), id=id)
        self.workspace = workspace

    @work(thread=True, exclusive=True, group="owners")
    def reload(self) -> None:
        with reading_for(self, self.workspace) as s:
            post_if_current(self, self.Loaded([user.handle for user in users.list_(s)]))

    def on_owner_filter_loaded(self, message: Loaded) -> None:
        message.stop()
        self.set_choices(message.handles)
