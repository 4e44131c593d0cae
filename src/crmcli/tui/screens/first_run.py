"""The first run: no database yet. Offers what `crm init` does (you become the first
user, an admin) and, if you like, demo data to look around with."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Header, Input, Static

from crmcli.config import Settings
from crmcli.errors import CrmError, UsageError
from crmcli.tui.data import Workspace, create_workspace
from crmcli.tui.literal import literal
from crmcli.tui.messages import Refused
from crmcli.tui.widgets.form_field import FormField, clear_refusals, show_refusal

WELCOME = (
    "Welcome to crm, the team's one shared customer record.\n\n"
    "There is no database at {path} yet. Create it here: you become its first user, an "
    "admin. (From a shell: crm init --user HANDLE --name NAME --dept DEPT)"
)


class FirstRunScreen(Screen[Workspace]):
    """Dismissed with the new workspace once the database exists."""

    BINDINGS = [Binding("ctrl+s", "create", "Create")]

    class Created(Message):
        def __init__(self, workspace: Workspace) -> None:
            super().__init__()
            self.workspace = workspace

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.fields = {
            "handle": FormField("handle", Input(placeholder="e.g. alice (lower-case)", compact=True)),
            "name": FormField("name", Input(placeholder="your full name · 姓名", compact=True)),
            "department": FormField("department", Input(placeholder="e.g. sales · 部门",
                                                         compact=True)),
        }

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="welcome"):
            yield Static(literal(WELCOME.format(path=self.settings.db_path)), id="intro")
            yield Static(id="form-error")
            yield from self.fields.values()
            yield Checkbox("add demo data (a small team; Chinese and Latin names)", id="demo")
            with Horizontal(id="buttons"):
                yield Button("Create the database", variant="primary", id="create")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "first run"
        self.fields["handle"].control.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_create()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def action_create(self) -> None:
        clear_refusals(self.fields, self.query_one("#form-error", Static))
        values = {name: field.control.value for name, field in self.fields.items()}
        with_demo = self.query_one("#demo", Checkbox).value
        self.query_one("#create", Button).disabled = True

        def create() -> None:
            try:
                workspace = create_workspace(self.settings, values["handle"], values["name"],
                                             values["department"], with_demo)
            except CrmError as error:
                self.post_message(Refused(error))
            except OSError as error:  # e.g. CRM_DB points into a folder we may not write
                reason = f"cannot create the database: {error.strerror}: {error.filename}"
                self.post_message(Refused(UsageError(reason)))
            else:
                self.post_message(self.Created(workspace))

        self.run_worker(create, thread=True, group="write", name="create")

    def on_refused(self, message: Refused) -> None:
        message.stop()
        self.query_one("#create", Button).disabled = False
        show_refusal(self.fields, self.query_one("#form-error", Static), message.error)

    def on_first_run_screen_created(self, message: Created) -> None:
        self.dismiss(message.workspace)
