"""One labelled control of a form, with room under it for the reason its value was refused."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label, Static

from crmcli.errors import CrmError, Invalid
from crmcli.tui.literal import literal


class FormField(Vertical):
    DEFAULT_CSS = """
    FormField {
        height: auto;
    }
    FormField > Horizontal {
        height: auto;
    }
    FormField .field-label {
        width: 16;
        padding-right: 1;
        color: $text-muted;
    }
    FormField .field-error {
        display: none;
        color: $text-error;
        padding-left: 16;
    }
    FormField.-invalid .field-error {
        display: block;
    }
    FormField.-invalid .field-label {
        color: $text-error;
    }
    """

    def __init__(self, label: str, control: Widget, **kwargs) -> None:
        super().__init__(**kwargs)
        self.label = label
        self.control = control

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(literal(self.label), classes="field-label")
            yield self.control
        yield Static(classes="field-error")

    def show_error(self, reason: str) -> None:
        self.query_one(".field-error", Static).update(literal(reason))
        self.add_class("-invalid")

    def clear_error(self) -> None:
        self.remove_class("-invalid")


def show_refusal(fields: dict[str, FormField], banner: Static, error: CrmError) -> None:
    """Show why a save was refused: under the field it concerns if the form has that field
    (and take the user there), else in the form's banner."""
    name = error.field if isinstance(error, Invalid) else None
    if name in fields:
        field = fields[name]
        field.show_error(error.reason)
        field.control.focus()
        # Focusing scrolls the control into view, not the reason under it: near the
        # bottom of a scrolled form (the duplicate checkbox, custom fields) the reason
        # would stay out of sight. Once it is laid out, bring the whole field into view.
        field.call_after_refresh(field.scroll_visible, animate=False)
    else:
        banner.update(literal(str(error)))
        banner.display = True


def clear_refusals(fields: dict[str, FormField], banner: Static) -> None:
    for field in fields.values():
        field.clear_error()
    banner.display = False
