"""Add a follow-up task, or correct one: what, for whom, by when, how urgent."""

from __future__ import annotations

from rich.text import Text
from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Input, Select

from crmcli import clock, fields
from crmcli.display import what_changed
from crmcli.models import Task, User
from crmcli.repo import customers, tasks, users
from crmcli.repo.users import Actor
from crmcli.tui.data import Change
from crmcli.tui.literal import joined, literal
from crmcli.tui.screens.base import FormScreen

DUE_HINT = "明天下午3点, 周五, 下周一, +3d, 2026-03-31 17:00 (empty: none)"


def user_options(people: list[User]) -> list[tuple[Text, str]]:
    """Active users as choices: handle and name (names are user data, shown literally)."""
    return [(joined(literal(user.handle), " — ", literal(user.name)), user.handle)
            for user in people]


class TaskFormScreen(FormScreen):
    """A new task for a customer, or (`task_id`) the task to correct, read afresh when
    the form opens; saving an edit sends only what was changed in the form
    (`tasks.edit`, as `crm task edit`)."""

    def __init__(self, customer_id: str, customer_name: str, task_id: str | None = None) -> None:
        verb = "Edit task" if task_id else "Task"
        super().__init__(f"{verb} for {customer_name}")
        self.customer_id = customer_id
        self.task_id = task_id
        self.loaded: dict[str, str] = {}  # the edited task's values as the form shows them

    def compose_fields(self) -> ComposeResult:
        yield self.field("title", "task", Input(placeholder="任务: what is to be done",
                                                compact=True))
        yield self.field("assignee", "assignee", Select([], prompt="who does it",
                                                        compact=True))
        yield self.field("due", "due", Input(placeholder=DUE_HINT, compact=True))
        priorities = [(Text(priority), priority) for priority in fields.PRIORITIES]
        yield self.field("priority", "priority", Select(priorities, value="normal",
                                                        allow_blank=False, compact=True))

    def read(self, s: Session) -> tuple[list[User], Task | None]:
        task = tasks.resolve(s, self.task_id) if self.task_id else None
        return users.list_(s, include_inactive=False), task

    async def fill(self, data: tuple[list[User], Task | None]) -> None:
        people, task = data
        assignee = self.fields["assignee"].control
        assignee.set_options(user_options(people))
        if task is None:
            assignee.value = self.workspace.handle
        else:
            self.loaded = {"title": task.title, "assignee": task.assignee,
                           "due": clock.show(task.due), "priority": task.priority}
            self.fields["title"].control.value = task.title
            self.fields["due"].control.value = self.loaded["due"]
            self.fields["priority"].control.value = task.priority
            if task.assignee in {user.handle for user in people}:  # not a deactivated one
                assignee.value = task.assignee
        self.fields["title"].control.focus()

    def _typed(self) -> dict[str, str | None]:
        chosen = self.fields["assignee"].control.value
        return {
            "title": self.fields["title"].control.value,
            "assignee": None if chosen == Select.NULL else str(chosen),
            "due": self.fields["due"].control.value.strip(),
            "priority": str(self.fields["priority"].control.value),
        }

    def change(self) -> Change | None:
        typed = self._typed()
        customer_id, task_id = self.customer_id, self.task_id
        if task_id:
            edited = {name: value for name, value in typed.items()
                      if value is not None and value != self.loaded.get(name)}

            def edit(s: Session, me: Actor) -> str:
                task = tasks.resolve(s, task_id)
                changed = tasks.edit(s, task, by=me, **edited)
                return f"{what_changed(changed)}: {tasks.describe(task)}"

            return edit

        def add(s: Session, me: Actor) -> str:
            customer = customers.live(s, customer_id)
            task = tasks.add(s, customer, typed["title"], by=me, assignee=typed["assignee"],
                             due=typed["due"] or None, priority=typed["priority"])
            return f"added task for {task.assignee} on {customers.describe(customer)}"

        return add
