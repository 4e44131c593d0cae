"""A customer's whole story, newest first: notes (the customer's own words set apart from the
team's summary), tasks, hand-overs and every other change from the audit trail.

A note can be focused (Tab, a click) and asked to be corrected, deleted or to save one of
its files: it posts `NoteEntry.Chosen` and the screen showing it does the rest."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Label, Static

from crmcli.display import TimelineLine, timeline_line
from crmcli.models import Attachment
from crmcli.repo.customer_story import CustomerDetail
from crmcli.tui.literal import joined, literal

SHOWN_ENTRIES = 100


def _body(line: TimelineLine) -> Static:
    text = literal(line.text)
    for shown in line.files:
        text.append_text(joined("\n📎 ", literal(shown)))
    if line.aside:
        text.append_text(literal(f" ({line.aside})", style="dim italic"))
    return Static(text, classes="body")


class NoteEntry(Vertical, can_focus=True):
    """A note in the timeline, which E and Delete ask to correct or delete, and o to save
    one of its files."""

    BINDINGS = [
        Binding("E", "choose('edit')", "Edit note"),
        Binding("delete", "choose('delete')", "Delete note"),
        Binding("o", "choose('save')", "Save file"),
    ]

    class Chosen(Message):
        def __init__(self, note_id: str, action: str) -> None:
            super().__init__()
            self.note_id, self.action = note_id, action

    def __init__(self, *parts, note_id: str, files: int) -> None:
        super().__init__(*parts, classes="entry note")
        self.note_id = note_id
        self.files = files

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if parameters == ("save",):
            return True if self.files else None  # a note without files has none to save
        return True

    def action_choose(self, action: str) -> None:
        self.post_message(self.Chosen(self.note_id, action))


class Timeline(VerticalScroll):
    DEFAULT_CSS = """
    Timeline > .entry {
        height: auto;
        margin-bottom: 1;
    }
    Timeline .heading {
        color: $text-muted;
    }
    Timeline .quote {
        margin: 0 0 0 2;
        padding: 0 1;
        border-left: thick $accent;
        color: $text-accent;
        text-style: italic;
    }
    Timeline > NoteEntry:focus {
        background: $boost;
    }
    Timeline .more {
        color: $text-muted;
        text-style: italic;
    }
    """

    async def show(
        self, detail: CustomerDetail, files: dict[str, list[Attachment]],
        labels: dict[str, str] | None = None,
    ) -> None:
        entries = detail.timeline()
        widgets = []
        for entry in entries[:SHOWN_ENTRIES]:
            line = timeline_line(entry, files.get(entry.record.id, []), labels)
            parts = [Label(literal(f"{line.when}  {line.label} · {line.who}"), classes="heading"),
                     _body(line)]
            if line.quote:
                parts.append(Static(joined("“", literal(line.quote), "”"), classes="quote"))
            if entry.kind == "note":
                widgets.append(NoteEntry(*parts, note_id=entry.record.id,
                                         files=len(files.get(entry.record.id, []))))
            else:
                widgets.append(Vertical(*parts, classes=f"entry {entry.kind}"))
        if len(entries) > SHOWN_ENTRIES:
            more = len(entries) - SHOWN_ENTRIES
            widgets.append(Label(f"… {more} older entries: see `crm history`", classes="more"))
        focused = self.screen.focused
        keep = focused.note_id if isinstance(focused, NoteEntry) else None
        await self.remove_children()
        await self.mount_all(widgets)
        for widget in widgets:  # the note the reader was on, after a change elsewhere
            if isinstance(widget, NoteEntry) and widget.note_id == keep:
                widget.focus(scroll_visible=False)
