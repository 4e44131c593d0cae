"""Add a follow-up task: what, for whom, by when, how urgent."""

from __future__ import annotations

from rich.text import Text
from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Input, Select

from crmcli import fields
from crmcli.models import User
from crmcli.repo import customers, tasks, users
from crmcli.repo.users import Actor
from crmcli.tui.data import Change
from crmcli.tui.literal import joined, literal
from crmcli.tui.screens.base import FormScreen

DUE_HINT = "today, tomorrow, +3d, fri, 2026-03-31 17:00 (empty: no due date)"


def user_options(people: list[User]) -> list[tuple[Text, str]]:
    """Active users as choices: handle and name (names are user data, shown literally)."""
    return [(joined(literal(user.handle), " — ", literal(user.name)), user.handle)
            for user in people]


class TaskFormScreen(FormScreen):
    def __init__(self, customer_id: str, customer_name: str) -> None:
        super().__init__(f"Task for {customer_name}")
        self.customer_id = customer_id

    def compose_fields(self) -> ComposeResult:
        yield self.field("title", "task", Input(placeholder="任务: what is to be done",
                                                compact=True))
        yield self.field("assignee", "assignee", Select([], prompt="who does it",
                                                        compact=True))
        yield self.field("due", "due", Input(placeholder=DUE_HINT, compact=True))
        priorities = [(Text(priority), priority) for priority in fields.PRIORITIES]
        yield self.field("priority", "priority", Select(priorities, value="normal",
                                                        allow_blank=False, compact=True))

    def read(self, s: Session) -> list[User]:
        return users.list_(s, include_inactive=False)

    async def fill(self, data: list[User]) -> None:
        assignee = self.fields["assignee"].control
        assignee.set_options(user_options(data))
        assignee.value = self.workspace.handle
        self.fields["title"].control.focus()

    def change(self) -> Change | None:
        title = self.fields["title"].control.value
        assignee = self.fields["assignee"].control.value
        due = self.fields["due"].control.value.strip() or None
        priority = str(self.fields["priority"].control.value)
        customer_id = self.customer_id

        def add(s: Session, me: Actor) -> str:
            customer = customers.live(s, customer_id)
            who = None if assignee == Select.NULL else str(assignee)
            task = tasks.add(s, customer, title, by=me, assignee=who, due=due, priority=priority)
            return f"added task for {task.assignee} on {customers.describe(customer)}"

        return add
