"""One customer's whole story: every field, who is responsible, the tasks, and the timeline
of notes, tasks, hand-overs and changes, with the actions a follow-up needs."""

from __future__ import annotations

from rich.text import Text
from sqlmodel import Session
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Header, Label, Static

from crmcli.clock import now
from crmcli.display import SLA_STYLE, clean, handover_text, sla_line
from crmcli.errors import CrmError
from crmcli.ids import short
from crmcli.models import Assignment, Attachment, Customer
from crmcli.repo import (
    approvals,
    assignments,
    custom_fields,
    customer_story,
    customers,
    handoffs,
    notes,
    sensitive,
    sla,
    users,
)
from crmcli.repo.customer_story import CustomerDetail
from crmcli.repo.users import Actor
from crmcli.sync import state
from crmcli.tui.data import Change, post_if_current, reading_for
from crmcli.tui.literal import joined, literal
from crmcli.tui.messages import Refused
from crmcli.tui.screens.approval_form import ApprovalFormScreen
from crmcli.tui.screens.attachment_form import AttachmentFormScreen
from crmcli.tui.screens.base import DataScreen
from crmcli.tui.screens.confirm import ConfirmScreen
from crmcli.tui.screens.customer_form import CustomerFormScreen
from crmcli.tui.screens.handoff_form import HandoffFormScreen
from crmcli.tui.screens.handover_form import HandoverFormScreen
from crmcli.tui.screens.merge_form import MergeFormScreen
from crmcli.tui.screens.note_form import NoteFormScreen
from crmcli.tui.screens.task_form import TaskFormScreen
from crmcli.tui.widgets.customer_fields import CustomerFields
from crmcli.tui.widgets.task_table import TaskLine, TaskTable
from crmcli.tui.widgets.timeline import NoteEntry, Timeline


def _title(customer: Customer, fate: str | None) -> Text:
    """Name, company, id, stage, level and owner; then, for a customer deleted or merged
    away (by another process, while it was on screen), what became of it."""
    title = literal(customer.name, "bold")
    if customer.company:
        title.append_text(Text.assemble("  ", literal(customer.company)))
    title.append(f"  {short(customer.id)} · {customer.stage}")
    if customer.level:
        title.append(f" · level {customer.level}")
    title.append_text(Text.assemble(" · owner ", literal(customer.owner)))
    if fate:
        title.append_text(Text.assemble(
            "\n", literal(fate, "bold red"), ("; nothing can be changed here", "red")))
    return title


def delete_note(note_id: str) -> Change:
    """The write behind "Delete note" (`crm note delete`)."""

    def delete(s: Session, me: Actor) -> str:
        note = notes.resolve(s, note_id)
        notes.delete(s, note, by=me)
        return f"deleted note {notes.describe(note)}"

    return delete


def acknowledge(customer_id: str) -> Change:
    """The write behind "Ack": accept my waiting assignments on this customer."""

    def accept(s: Session, me: Actor) -> str:
        customer = customers.live(s, customer_id)
        accepted = assignments.acknowledge(s, customer, by=me)
        if not accepted:
            return f"nothing of yours to acknowledge on {customers.describe(customer)}"
        roles = ", ".join(row.role for row in accepted)
        return f"acknowledged {roles} of {customers.describe(customer)}"

    return accept


class CustomerScreen(DataScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", show=False),  # room in the footer at 80
        Binding("e", "edit", "Edit"),
        Binding("n", "note", "Note"),
        Binding("t", "add_task", "Task"),
        Binding("a", "assign", "Assign"),
        Binding("k", "acknowledge", "Ack"),
        # The task table's own keys, here too, so they show in the footer and the palette
        # wherever the focus is; they act on the task under the table's cursor.
        Binding("d", "task('complete')", "Done"),
        Binding("r", "task('reassign')", "Reassign"),
        Binding("E", "task('edit')", "Edit task", show=False),
        # no room left in the footer at 80 columns: the palette lists it (and the key)
        Binding("v", "reveal", "Reveal", show=False),
        Binding("m", "merge", "Merge a duplicate in", show=False),
        Binding("h", "handoff", "Hand over", show=False),
        Binding("p", "request_approval", "Ask for approval", show=False),
    ]

    class Loaded(Message):
        def __init__(
            self,
            detail: CustomerDetail,
            files: dict[str, list[Attachment]],
            current: list[Assignment],
            fate: str | None,
            sections: list,
            labels: dict[str, str],
            handovers: list[handoffs.Handover],
            clock: sla.Clock | None = None,
            approvals_line: str = "",
        ) -> None:
            super().__init__()
            self.clock = clock  # the SLA clock, while the customer waits for an answer
            self.handovers = handovers  # waiting for acknowledgement: shown first
            self.approvals_line = approvals_line  # the open approvals, said in one line
            self.detail, self.files, self.current = detail, files, current
            self.labels = labels  # the custom fields' (`custom_fields.labels`)
            self.fate = fate  # `customers.gone`: None while the customer is live
            self.sections = sections  # `sensitive.field_sections`: what the reader may see

    class Revealed(Message):
        """The reveal was recorded in the audit trail: the values may be shown now (on a
        team, `values` are the ones the shared database answered: never stored here)."""

        def __init__(self, names: list[str], values: dict | None = None) -> None:
            super().__init__()
            self.names = names
            self.values = values or {}

    def __init__(self, customer_id: str) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.customer: Customer | None = None
        self.revealing = False  # after a recorded reveal, until the screen is left
        self.revealed: dict = {}  # on a team: the values the shared database revealed
        self._shown: tuple[dict, int, bool] | None = None
        self._notes: list = []  # the notes shown, for the question before a deletion

    @property
    def tasks(self) -> TaskTable:
        return self.query_one(TaskTable)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="title")
        yield Static(id="handovers")
        yield Static(id="sla")
        with Horizontal(id="panes"):
            yield CustomerFields(id="fields")
            with Vertical(id="story"):
                yield Label(id="approvals", classes="section")
                yield Label("Tasks", classes="section")
                yield TaskTable(self.workspace, across_customers=False)
                yield Label("Timeline", classes="section")
                yield Timeline()
        yield Footer(compact=True)

    @work(thread=True, exclusive=True, group="db")
    def reload(self) -> None:
        revealing = self.revealing
        with reading_for(self, self.workspace) as s:
            seen = sensitive.clearance(s, users.acting(s, self.workspace.handle))
            customer = customers.by_id(s, self.customer_id)
            if revealing and self.revealed:  # shown, never stored: off the session first
                s.expunge(customer)
                sensitive.put_revealed(customer, self.revealed)
            detail = sensitive.masked_detail(seen, customer_story.detail(s, customer))
            files = notes.attachments_of(s, [note.id for note in detail.notes])
            current = assignments.current(s, self.customer_id)
            fate = customers.gone(s, customer)
            labels = custom_fields.labels(s)
            sections = sensitive.field_sections(seen, customer, reveal=revealing, labels=labels)
            waiting = handoffs.pending(current, detail.history)
            waits = sla.of_customer(s, self.customer_id, now())
            post_if_current(self, self.Loaded(detail, files, current, fate, sections, labels,
                                              waiting, waits,
                                              approvals.open_line(s, self.customer_id)))

    async def on_customer_screen_loaded(self, message: Loaded) -> None:
        detail = message.detail
        if message.fate and self.customer is not None and not self.customer.deleted_at:
            self.notify(clean(message.fate), severity="warning", markup=False)  # just now
        customer = self.customer = detail.customer
        self.refresh_bindings()  # the actions are enabled while there is a live customer
        self.tasks.read_only = customer.deleted_at is not None
        line = self.query_one("#sla", Static)
        if message.clock is not None:
            line.update(Text(sla_line(message.clock), SLA_STYLE.get(message.clock.state, "")))
        line.display = message.clock is not None
        # Every value of the record (a pull may rewrite it keeping its version, with no
        # event of its own) and the newest event about it.
        approvals_label = self.query_one("#approvals", Label)
        approvals_label.update(literal(message.approvals_line))
        approvals_label.display = bool(message.approvals_line)
        shown = (customer.model_dump(), detail.newest_seq, self.revealing)
        if self._shown == shown:
            return  # nothing about this customer changed; keep the reader's place
        self._shown = shown
        self.sub_title = clean(customer.name)
        self.query_one("#title", Static).update(_title(customer, message.fate))
        banner = self.query_one("#handovers", Static)
        banner.update(Text("\n").join(handover_text(h) for h in message.handovers))
        banner.display = bool(message.handovers)
        await self.query_one(CustomerFields).show(message.sections, message.current)
        open_first = sorted(detail.tasks, key=lambda task: task.status != "open")
        self.tasks.show_tasks([TaskLine(task, customer) for task in open_first])
        self._notes = detail.notes
        await self.query_one(Timeline).show(detail, message.files, message.labels)

    # --- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The customer's actions are disabled (shown dimmed, None) until it is read, and
        again once it is deleted or merged away (the title says so)."""
        if action in ("edit", "note", "add_task", "assign", "acknowledge", "reveal", "merge",
                      "handoff", "request_approval"):
            live = self.customer is not None and self.customer.deleted_at is None
            return True if live else None
        if action == "task":
            return self.tasks.check_action(*parameters, ())
        return True

    def action_edit(self) -> None:
        self.open_form(CustomerFormScreen(self.customer_id))

    def action_note(self) -> None:
        self.open_form(NoteFormScreen(self.customer_id, self.customer.name))

    def action_add_task(self) -> None:
        self.open_form(TaskFormScreen(self.customer_id, self.customer.name))

    def action_request_approval(self) -> None:
        self.open_form(ApprovalFormScreen(self.customer_id, self.customer.name))

    def action_assign(self) -> None:
        self.open_form(HandoverFormScreen(customer=self.customer))

    def action_handoff(self) -> None:
        self.open_form(HandoffFormScreen(self.customer))

    def action_merge(self) -> None:
        self.open_form(MergeFormScreen(self.customer))

    def action_acknowledge(self) -> None:
        self.write(acknowledge(self.customer_id))

    def action_reveal(self) -> None:
        self._reveal()

    @work(thread=True, group="write", name="reveal")
    def _reveal(self) -> None:
        """`crm customer show --reveal`: the reveal is recorded (committed) first, then the
        screen shows the values this reader may read, until it is left."""
        try:
            with self.workspace.writing() as (s, me):
                customer = customers.live(s, self.customer_id)
                seen = sensitive.clearance(s, me)
                team, values = state.team_url(s), {}
                if not team:
                    names = sensitive.reveal(s, customer, seen, by=me, via="dashboard")
            if team:
                from crmcli.sync import secrets

                values = secrets.reveal_for(team, customer.id, seen)
        except CrmError as error:
            self.post_message(Refused(error))
        else:
            self.post_message(self.Revealed(list(values) if team else names, values))

    def on_customer_screen_revealed(self, message: Revealed) -> None:
        self.revealing = True
        self.revealed = message.values
        shown = ", ".join(message.names) or "no sensitive values to show"
        self.notify(f"revealed {shown} (recorded in the audit trail)", markup=False)
        self.reload()

    def on_screen_suspend(self) -> None:
        """Leaving the customer hides its values again; a new reveal is a new record."""
        self.revealing = False
        self.revealed = {}
        self._shown = None

    def on_note_entry_chosen(self, message: NoteEntry.Chosen) -> None:
        """Edit note / Delete note / Save file, asked by the note the focus is on in the
        timeline."""
        message.stop()
        note_id = message.note_id
        if message.action == "edit":
            self.open_form(NoteFormScreen(self.customer_id, self.customer.name, note_id))
            return
        if message.action == "save":
            self.open_form(AttachmentFormScreen(note_id))
            return
        note = next((n for n in self._notes if n.id == note_id), None)
        summary = note.body.splitlines()[0] if note and note.body else ""
        question = joined("Delete the note “", literal(summary[:60]),
                          "”? The history keeps it.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.write(delete_note(note_id))

        self.app.push_screen(ConfirmScreen(question), answered)

    async def action_task(self, action: str) -> None:
        """Done / Reassign / Edit task on the selected task, with the focus elsewhere."""
        await self.tasks.run_action(action)
