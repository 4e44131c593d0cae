"""Tasks in a table, with what is done to a task where it is seen: complete it, give it to
someone else, correct it. Each ends in the same repository function as `crm task done`,
`crm task reassign` and `crm task edit`."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from sqlmodel import Session
from textual.binding import Binding

from crmcli import clock
from crmcli.models import Customer, Task
from crmcli.repo import tasks
from crmcli.repo.users import Actor
from crmcli.tui.data import Workspace, start_write
from crmcli.tui.literal import cell
from crmcli.tui.screens.base import DataScreen
from crmcli.tui.screens.handover_form import HandoverFormScreen
from crmcli.tui.screens.task_form import TaskFormScreen
from crmcli.tui.widgets.record_table import RecordTable

GROUP_STYLES = {"overdue": "bold red", "today": "bold yellow", "upcoming": ""}
PRIORITY_STYLES = {"urgent": "bold red", "high": "yellow", "normal": "", "low": "dim"}


@dataclass
class TaskLine:
    task: Task
    customer: Customer | None = None  # a column when the table lists several customers' tasks
    group: str = ""  # overdue, today, upcoming


class TaskTable(RecordTable):
    BINDINGS = [
        Binding("d", "complete", "Done"),
        Binding("r", "reassign", "Reassign"),
        Binding("E", "edit", "Edit task", show=False),  # no room in the footer: the palette
    ]

    def __init__(self, workspace: Workspace, *, across_customers: bool, **kwargs) -> None:
        if across_customers:
            columns = [("When", 8), ("Due", 16), ("Priority", 8), ("Customer", 14), ("Task", 30)]
        else:
            columns = [("Due", 16), ("Priority", 8), ("Assignee", 8), ("Task", 28), ("Status", 9)]
        super().__init__(columns, **kwargs)
        self.workspace = workspace
        self.across_customers = across_customers
        self.lines: dict[str, TaskLine] = {}
        self._read_only = False

    def show_tasks(self, lines: list[TaskLine]) -> None:
        self.lines = {line.task.id: line for line in lines}
        self.fill((line.task.id, self._cells(line)) for line in lines)
        self.refresh_bindings()  # Done / Reassign need a task

    def _cells(self, line: TaskLine) -> list[Text]:
        task = line.task
        due = cell(clock.show(task.due), GROUP_STYLES.get(line.group, ""))
        priority = cell(task.priority, PRIORITY_STYLES.get(task.priority, ""))
        if self.across_customers:
            name = line.customer.name if line.customer else ""
            return [cell(line.group, GROUP_STYLES.get(line.group, "")), due, priority,
                    cell(name), cell(task.title)]
        status_style = "" if task.status == "open" else "dim"
        return [due, priority, cell(task.assignee), cell(task.title, status_style),
                cell(task.status, status_style)]

    @property
    def read_only(self) -> bool:
        """Tasks shown for the record only (their customer was deleted): Done and
        Reassign are disabled."""
        return self._read_only

    @read_only.setter
    def read_only(self, value: bool) -> None:
        self._read_only = value
        self.refresh_bindings()

    @property
    def selected(self) -> TaskLine | None:
        key = self.selected_key
        return self.lines.get(key) if key else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("complete", "reassign", "edit"):
            return True if self.selected and not self.read_only else None
        if action == "select_cursor":
            return self.across_customers  # opens the task's customer; here it is open already
        return True

    def action_complete(self) -> None:
        line = self.selected
        if line is None:
            return
        task_id = line.task.id

        def complete(s: Session, me: Actor) -> str:
            task = tasks.resolve(s, task_id)
            done = tasks.complete(s, task, by=me)
            return f"{'done' if done else 'already done'}: {task.title}"

        start_write(self, self.workspace, complete)

    def action_reassign(self) -> None:
        line = self.selected
        if line is not None:
            screen: DataScreen = self.screen  # type: ignore[assignment]  # tasks live there
            screen.open_form(HandoverFormScreen(task=line.task))

    def action_edit(self) -> None:
        line = self.selected
        if line is not None:
            screen: DataScreen = self.screen  # type: ignore[assignment]
            name = line.customer.name if line.customer else ""
            screen.open_form(TaskFormScreen(line.task.customer_id, name, line.task.id))
