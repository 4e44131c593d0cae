"""Save a note's attached file somewhere (`crm attachment get`): which file, and where to."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Select

from crmcli.errors import Invalid
from crmcli.models import Attachment
from crmcli.repo import attachments, notes
from crmcli.repo.users import Actor
from crmcli.tui.data import Change
from crmcli.tui.literal import joined, literal
from crmcli.tui.screens.base import FormScreen


class AttachmentFormScreen(FormScreen):
    def __init__(self, note_id: str) -> None:
        super().__init__("Save an attached file")
        self.note_id = note_id

    def compose_fields(self) -> ComposeResult:
        yield self.field("file", "file", Select([], prompt="which file", compact=True))
        yield self.field("output", "save to", Input(placeholder="a file or a folder",
                                                compact=True))
        yield self.field("force", "overwrite", Checkbox("replace a file that exists",
                                                        compact=True))

    def read(self, s: Session) -> list[Attachment]:
        return notes.attachments_of(s, [notes.resolve(s, self.note_id).id])[self.note_id]

    async def fill(self, data: list[Attachment]) -> None:
        choice = self.fields["file"].control
        choice.set_options([(joined(literal(a.filename), f" ({a.size} bytes)"), a.id)
                            for a in data])
        if data:
            choice.value = data[0].id
            self.fields["output"].control.value = str(Path.cwd() / attachments.safe_name(data[0]))
        self.fields["output"].control.focus()

    def change(self) -> Change | None:
        chosen = self.fields["file"].control.value
        if chosen == Select.NULL:
            raise Invalid("choose a file", "file")
        typed = self.fields["output"].control.value.strip()
        if not typed:
            raise Invalid("say where to save it", "output")
        force = self.fields["force"].control.value
        attachment_id, note_id = str(chosen), self.note_id

        def save(s: Session, me: Actor) -> str:
            [found] = [a for a in notes.attachments_of(s, [note_id])[note_id]
                       if a.id == attachment_id]
            target = attachments.save(s.info["attachments_dir"], found, Path(typed),
                                      force=force)
            return f"saved {found.filename} to {target}"

        return save
