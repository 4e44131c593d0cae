"""What every screen of data and every form shares: the way to the database, loading in a
worker, and turning the outcome of a write into something the user sees.

Errors a user can cause (`CrmError`) become a notification; in a form, a refused value is
shown next to its field instead. Messages built from user data are never markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmodel import Session
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Label, Static

from crmcli.display import clean
from crmcli.errors import CrmError, StorageFailed
from crmcli.tui.data import Change, Workspace, post_if_current, reading_for, start_write
from crmcli.tui.literal import literal
from crmcli.tui.messages import ReadFailed, Refused, Saved, Waiting
from crmcli.tui.widgets.form_field import FormField, clear_refusals, show_refusal

if TYPE_CHECKING:
    from crmcli.tui.app import CrmApp


class DataScreen(Screen):
    """A screen showing data: reloads when shown and when the database changes."""

    @property
    def workspace(self) -> Workspace:
        app: CrmApp = self.app  # type: ignore[assignment]
        return app.workspace

    def reload(self) -> None:
        """Read what the screen shows again (in a worker)."""
        raise NotImplementedError

    def on_screen_resume(self) -> None:
        self.reload()

    def write(self, change: Change) -> None:
        start_write(self, self.workspace, change)

    def open_form(self, form: FormScreen) -> None:
        """Show a form; what it saved is reported like any other write."""

        def done(summary: str | None) -> None:
            if summary:
                self.post_message(Saved(summary))

        self.app.push_screen(form, done)

    def on_saved(self, message: Saved) -> None:
        message.stop()
        if message.summary:  # some writes are bookkeeping with nothing to tell
            self.notify(clean(message.summary), markup=False)
        app: CrmApp = self.app  # type: ignore[assignment]
        app.check_for_changes()

    def on_refused(self, message: Refused) -> None:
        message.stop()
        self.notify(clean(str(message.error)), severity="error", markup=False)

    def on_waiting(self, message: Waiting) -> None:
        message.stop()
        self.notify(message.text, severity="warning", markup=False)

    def on_read_failed(self, message: ReadFailed) -> None:
        """What this screen shows is gone: say why, and go back to the list it was opened
        from (a view of its own, F1-F3, stays and shows the error). A database that failed
        is only said: the next reload may read it again."""
        message.stop()
        self.notify(clean(str(message.error)), severity="error", markup=False)
        gone = not isinstance(message.error, StorageFailed)
        if gone and self.is_current and len(self.app.screen_stack) > 1:
            self.dismiss()


class FormScreen(ModalScreen[str | None]):
    """A modal form that saves through one repository write and closes with its summary.

    Subclasses yield their fields from `compose_fields` (registering each with `field`),
    optionally `read` what they need in a worker and `fill` the controls with it, and
    build the write in `change`. A refused value is shown under its field.
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    class Loaded(Message):
        def __init__(self, data: Any) -> None:
            super().__init__()
            self.data = data

    def __init__(self, title: str) -> None:
        super().__init__()
        self.form_title = title
        self.fields: dict[str, FormField] = {}
        self.ready = False
        self.saving = False  # a write is on its way (perhaps waiting for another writer)

    @property
    def workspace(self) -> Workspace:
        app: CrmApp = self.app  # type: ignore[assignment]
        return app.workspace

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(literal(self.form_title), id="form-title")
            yield Static(id="form-error")
            with VerticalScroll(id="form-body"):
                yield from self.compose_fields()
            with Horizontal(id="form-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
        yield Footer(compact=True)

    def compose_fields(self) -> ComposeResult:
        raise NotImplementedError

    def field(self, name: str, label: str, control: Any) -> FormField:
        self.fields[name] = FormField(label, control)
        return self.fields[name]

    # --- loading -------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="db")
    def load(self) -> None:
        with reading_for(self, self.workspace) as s:
            post_if_current(self, self.Loaded(self.read(s)))

    def on_read_failed(self, message: ReadFailed) -> None:
        """What the form is about is gone: say why and close it (nothing to save)."""
        message.stop()
        self.notify(clean(f"{self.form_title}: {message.error}"), severity="error",
                    markup=False)
        if self.is_current:
            self.dismiss(None)

    def read(self, s: Session) -> Any:
        """What the form needs from the database (runs in a worker)."""
        return None

    async def on_form_screen_loaded(self, message: Loaded) -> None:
        await self.fill(message.data)
        self.ready = True

    async def fill(self, data: Any) -> None:
        """Put what `read` returned into the controls."""

    # --- saving --------------------------------------------------------------------------

    def change(self) -> Change | None:
        """The write the form asks for, or None if it has shown why it cannot save."""
        raise NotImplementedError

    def action_save(self) -> None:
        if not self.ready or self.saving:  # one write at a time: a second would repeat it
            return
        clear_refusals(self.fields, self.query_one("#form-error", Static))
        try:
            change = self.change()
        except CrmError as error:
            self.show_error(error)
            return
        if change is not None:
            self.saving = True
            start_write(self, self.workspace, change)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def on_saved(self, message: Saved) -> None:
        message.stop()
        self.dismiss(message.summary)

    def on_refused(self, message: Refused) -> None:
        """Refused (or the database failed): the form stays open with what was typed."""
        message.stop()
        self.saving = False
        self.show_error(message.error)

    def on_waiting(self, message: Waiting) -> None:
        message.stop()
        banner = self.query_one("#form-error", Static)
        banner.update(literal(message.text))
        banner.display = True

    def show_error(self, error: CrmError) -> None:
        show_refusal(self.fields, self.query_one("#form-error", Static), error)
