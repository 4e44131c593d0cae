"""My work: my open tasks (overdue, today, upcoming), my customers whose response-time
limit has passed since we last spoke to them, hand-overs waiting for my acknowledgement
(the customer's words a `crm handoff` carried right after the customer's name),
approvals (those waiting for my decision, and mine decided since I last looked), and the
customers I added that a routing rule gave to someone who has not acknowledged them in
time (`route.ack_within`)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Label

from crmcli import clock, display, fields
from crmcli.display import show_left
from crmcli.repo import dashboard
from crmcli.repo.dashboard import MyWork
from crmcli.tui.data import post_if_current, reading_for
from crmcli.tui.literal import cell
from crmcli.tui.screens.approval_form import DecisionFormScreen
from crmcli.tui.screens.base import DataScreen
from crmcli.tui.screens.customer import SLA_STYLE, CustomerScreen, acknowledge
from crmcli.tui.widgets.record_table import RecordTable
from crmcli.tui.widgets.task_table import TaskLine, TaskTable


def _quoted(quote: str | None):
    """The customer's words a hand-over carried, as a note shows them (none: empty)."""
    return cell(f"“{quote}”", "italic cyan") if quote else cell("")


class MyWorkScreen(DataScreen):
    BINDINGS = [
        Binding("k", "acknowledge", "Ack"),
        Binding("y", "decide('approved')", "Approve"),
        Binding("x", "decide('rejected')", "Reject"),
    ]

    class Loaded(Message):
        def __init__(self, work: MyWork) -> None:
            super().__init__()
            self.work = work

    def __init__(self) -> None:
        super().__init__()
        self.customer_of: dict[str, str] = {}  # row key → customer id, for every table
        self.waiting: dict[str, str] = {}  # an approval waiting for me → how it is said

    @property
    def tasks(self) -> TaskTable:
        return self.query_one(TaskTable)

    @property
    def breaches(self) -> RecordTable:
        return self.query_one("#sla", RecordTable)

    @property
    def awaiting(self) -> RecordTable:
        return self.query_one("#awaiting", RecordTable)

    @property
    def approvals(self) -> RecordTable:
        return self.query_one("#approvals", RecordTable)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("My open tasks", id="tasks-title", classes="section")
        yield TaskTable(self.workspace, across_customers=True)
        yield Label("SLA clock", id="sla-title", classes="section")
        yield RecordTable([("Customer", 16), ("Owner", 8), ("SLA", 5), ("Waiting since", 16),
                           ("Reply due", 16), ("Left", 14), ("State", 9)], id="sla")
        yield Label("Waiting for my acknowledgement", id="awaiting-title", classes="section")
        yield RecordTable([("Customer", 16), ("Customer said", 24), ("Role", 9), ("From", 8),
                           ("Since", 16), ("Reason", 24)], id="awaiting")
        yield Label("Approvals", id="approvals-title", classes="section")
        yield RecordTable([("Customer", 16), ("Kind", 9), ("Amount", 12), ("Status", 9),
                           ("By", 8), ("Reason", 24)], id="approvals")
        yield Label("Routed by me, not acknowledged in time", id="routed-title",
                    classes="section")
        yield RecordTable([("Customer", 16), ("Owner", 9), ("Rule", 12), ("Since", 16),
                           ("Ack was due", 16)], id="routed")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"My work · {self.workspace.handle}"

    @work(thread=True, exclusive=True, group="db")
    def reload(self) -> None:
        with reading_for(self, self.workspace) as s:
            post_if_current(self, self.Loaded(dashboard.my_work(s, self.workspace.handle)))

    def on_my_work_screen_loaded(self, message: Loaded) -> None:
        found = message.work
        lines = [TaskLine(task, customer, group)
                 for group, rows in (("overdue", found.overdue), ("today", found.today),
                                     ("upcoming", found.upcoming))
                 for task, customer in rows]
        self.customer_of = {line.task.id: line.customer.id for line in lines}
        self.tasks.show_tasks(lines)
        self.query_one("#tasks-title", Label).update(
            f"My open tasks: {len(found.overdue)} overdue, {len(found.today)} today, "
            f"{len(found.upcoming)} upcoming"
        )
        self.customer_of.update({c.customer_id: c.customer_id for c in found.sla})
        self.breaches.fill(
            (c.customer_id, [cell(c.name), cell(c.owner), cell(fields.show_duration(c.sla)),
                             cell(clock.show(c.since)), cell(clock.show(c.due)),
                             cell(show_left(c.left_minutes), SLA_STYLE.get(c.state, "")),
                             cell(c.state, SLA_STYLE.get(c.state, ""))])
            for c in found.sla
        )
        late = sum(1 for c in found.sla if c.late)
        self.query_one("#sla-title", Label).update(
            f"SLA clock: {len(found.sla)} waiting for an answer, {late} past due")
        self.customer_of.update({row.id: customer.id for row, customer in found.awaiting})
        said = {key: handover.quote for key, handover in found.handovers.items()}
        self.awaiting.fill(
            (row.id, [cell(customer.name), _quoted(said.get(row.id)), cell(row.role),
                      cell(row.assigned_by), cell(clock.show(row.since)), cell(row.reason)])
            for row, customer in found.awaiting
        )
        self.query_one("#awaiting-title", Label).update(
            f"Waiting for my acknowledgement: {len(found.awaiting)}")
        self.customer_of.update({w.assignment.id: w.customer.id for w in found.unacknowledged})
        self.query_one("#routed", RecordTable).fill(
            (w.assignment.id, [cell(w.customer.name), cell(w.assignment.user), cell(w.rule),
                               cell(clock.show(w.assignment.since)), cell(clock.show(w.due), "red")])
            for w in found.unacknowledged
        )
        self.query_one("#routed-title", Label).update(
            f"Routed by me, not acknowledged in time: {len(found.unacknowledged)}")
        self.show_approvals(found)
        self.refresh_bindings()  # Ack needs something waiting, Approve a request

    def show_approvals(self, found: MyWork) -> None:
        me = self.workspace.handle
        self.waiting = {row.id: f"{row.kind} for {customer.name}" for row, customer
                        in found.approvals if row.status == "open" and row.requested_by != me}
        self.customer_of.update({row.id: customer.id for row, customer in found.approvals})
        self.approvals.fill(
            (row.id, [cell(customer.name), cell(row.kind),
                      cell(display.show_money(row.amount)),
                      cell("waiting" if row.id in self.waiting else row.status,
                           "bold" if row.id in self.waiting else ""),
                      cell(row.requested_by if row.id in self.waiting else row.decided_by),
                      cell(row.reason if row.id in self.waiting else row.decision_reason)])
            for row, customer in found.approvals
        )
        self.query_one("#approvals-title", Label).update(
            f"Approvals: {len(self.waiting)} waiting for me, "
            f"{len(found.approvals) - len(self.waiting)} of mine decided")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        customer_id = self.customer_of.get(event.row_key.value)
        if customer_id:
            self.app.push_screen(CustomerScreen(customer_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "acknowledge":
            return True if self.awaiting.row_count else None
        if action == "decide":
            return True if self.waiting else None
        return True

    def action_acknowledge(self) -> None:
        key = self.awaiting.selected_key
        if key is not None:
            self.write(acknowledge(self.customer_of[key]))

    def action_decide(self, decision: str) -> None:
        """Approve or reject the request under the approvals' cursor (the first waiting
        one when the cursor is on one of mine)."""
        key = self.approvals.selected_key
        if key not in self.waiting:
            key = next(iter(self.waiting), None)
        if key is not None:
            self.open_form(DecisionFormScreen(key, decision, self.waiting[key]))
