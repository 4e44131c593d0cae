"""Hand something over: make someone responsible for a customer in a role (with a reason
kept in the history), or give a task to someone else."""

from __future__ import annotations

from rich.text import Text
from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Input, Select

from crmcli import fields
from crmcli.errors import Invalid
from crmcli.models import Customer, Task, User
from crmcli.repo import assignments, customers, tasks, users
from crmcli.repo.users import Actor
from crmcli.tui.data import Change
from crmcli.tui.screens.base import FormScreen
from crmcli.tui.screens.task_form import user_options


class HandoverFormScreen(FormScreen):
    """Assign a customer (`customer`) or reassign a task (`task`)."""

    def __init__(self, *, customer: Customer | None = None, task: Task | None = None) -> None:
        if task is not None:
            title = f"Reassign task: {task.title}"
        else:
            title = f"Assign {customer.name}"
        super().__init__(title)
        self.target_customer, self.target_task = customer, task

    def compose_fields(self) -> ComposeResult:
        if self.target_task is not None:
            yield self.field("user", "to", Select([], prompt="who takes over", compact=True))
            return
        yield from self.receiver_and_role()
        yield self.field("reason", "reason", Input(placeholder="why (kept in the history)",
                                                   compact=True))

    def receiver_and_role(self) -> ComposeResult:
        """Who takes over and in which role (the hand-over form asks the same)."""
        yield self.field("user", "to", Select([], prompt="who takes over", compact=True))
        roles = [(Text(role), role) for role in fields.ROLES]
        yield self.field("role", "role", Select(roles, value="owner", allow_blank=False,
                                                compact=True))

    def read(self, s: Session) -> list[User]:
        return users.list_(s, include_inactive=False)

    async def fill(self, data: list[User]) -> None:
        self.fields["user"].control.set_options(user_options(data))
        self.fields["user"].control.focus()

    def receiver(self) -> str:
        """The handle chosen in "to" (Invalid, shown under it, if none is)."""
        chosen = self.fields["user"].control.value
        if chosen == Select.NULL:
            raise Invalid("choose who takes over", "user")
        return str(chosen)

    def change(self) -> Change | None:
        handle = self.receiver()
        if self.target_task is not None:
            return self._reassign(self.target_task.id, handle)
        role = str(self.fields["role"].control.value)
        reason = self.fields["reason"].control.value
        customer_id = self.target_customer.id

        def assign(s: Session, me: Actor) -> str:
            customer = customers.live(s, customer_id)
            row, changed = assignments.assign(s, customer, handle, role, by=me, reason=reason)
            if not changed:
                return f"{row.user} already is {row.role} of {customers.describe(customer)}"
            return f"assigned {row.user} as {row.role} of {customers.describe(customer)}"

        return assign

    @staticmethod
    def _reassign(task_id: str, handle: str) -> Change:
        def reassign(s: Session, me: Actor) -> str:
            task = tasks.resolve(s, task_id)
            changed = tasks.reassign(s, task, handle, by=me)
            return f"{'reassigned' if changed else 'already assigned to them'}: {tasks.describe(task)}"

        return reassign
