"""Corrections in the dashboard: a task edited where it is shown (the customer screen and
My work), a note corrected or deleted and its file saved from the timeline, through the same
repository functions as `crm task edit`, `crm note edit|delete` and `crm attachment get`."""

import pytest

from crmcli.models import AuditEvent
from crmcli.repo import assignments, customers, notes, tasks
from crmcli.tui.screens.attachment_form import AttachmentFormScreen
from crmcli.tui.screens.confirm import ConfirmScreen
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.my_work import MyWorkScreen
from crmcli.tui.screens.note_form import NoteFormScreen
from crmcli.tui.screens.task_form import TaskFormScreen
from crmcli.tui.widgets.timeline import NoteEntry

from .helpers import another_session, notifications, press, screen_text, settle
from .test_keys_and_palette import palette
from .test_refusals_by_rule import as_bob  # noqa: F401  (a fixture)


def task_events(s, task_id: str) -> list[AuditEvent]:
    from sqlmodel import select

    query = select(AuditEvent).where(AuditEvent.entity_id == task_id,
                                     AuditEvent.action == "task.update")
    return list(s.exec(query))


async def test_a_task_is_edited_from_the_customer_screen_and_only_what_changed_is_saved(
    on_customer, database
):
    async with on_customer("王芳") as (dashboard, pilot, target):
        assert "Edit task" in palette(dashboard)
        await press(pilot, "E")
        form = dashboard.screen
        assert isinstance(form, TaskFormScreen)
        with database() as s:
            [before] = tasks.for_customer(s, target)
        assert form.fields["title"].control.value == before.title  # the task as it is
        assert form.fields["assignee"].control.value == before.assignee
        form.fields["title"].control.value = "报价 (第二版)"
        other = "low" if before.priority != "low" else "high"
        form.fields["priority"].control.value = other
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert "报价 (第二版)" in screen_text(dashboard)
    with database() as s:
        [task] = tasks.for_customer(s, target)
        assert (task.title, task.priority, task.due, task.assignee) == (
            "报价 (第二版)", other, before.due, before.assignee)
        [event] = task_events(s, task.id)
        assert set(event.changes) == {"title", "priority"}


async def test_a_task_is_edited_from_my_work_and_a_bad_due_date_is_shown_at_its_field(
    demo, app, database
):
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "f2", "E")
        form = dashboard.screen
        assert isinstance(form, TaskFormScreen) and "王芳" in form.form_title
        form.fields["due"].control.value = "someday"
        await press(pilot, "ctrl+s")
        assert form.fields["due"].has_class("-invalid")
        form.fields["due"].control.value = "2026-03-20 09:30"
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, MyWorkScreen)
    with database() as s:
        [task] = tasks.for_customer(s, customers.resolve(s, "王芳").id)
        assert task.due.isoformat() == "2026-03-20T09:30:00+00:00"


async def focus_first_note(dashboard, pilot) -> NoteEntry:
    entry = dashboard.screen.query(NoteEntry).first()
    entry.focus()
    await settle(pilot)
    return entry


async def test_a_note_is_corrected_from_the_timeline(on_customer, database):
    async with on_customer("王芳") as (dashboard, pilot, target):
        entry = await focus_first_note(dashboard, pilot)
        assert {"Edit note", "Delete note"} <= palette(dashboard)
        with database() as s:
            before = notes.resolve(s, entry.note_id)
        await press(pilot, "E")
        form = dashboard.screen
        assert isinstance(form, NoteFormScreen)
        assert form.fields["body"].control.text == before.body  # the note as it is
        form.fields["body"].control.text = "改期到下周一，客户确认"
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert "改期到下周一，客户确认" in screen_text(dashboard)
        assert isinstance(dashboard.focused, NoteEntry)  # still on the note it corrected
    with database() as s:
        note = notes.resolve(s, entry.note_id)
        assert (note.body, note.kind, note.quote) == ("改期到下周一，客户确认", before.kind,
                                                      before.quote)


async def test_a_note_is_deleted_from_the_timeline_after_a_question(on_customer, database):
    async with on_customer("王芳") as (dashboard, pilot, target):
        entry = await focus_first_note(dashboard, pilot)
        await press(pilot, "delete")
        assert isinstance(dashboard.screen, ConfirmScreen)
        await press(pilot, "n")  # not after all
        await focus_first_note(dashboard, pilot)
        await press(pilot, "delete", "y")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert entry.note_id not in [e.note_id for e in dashboard.screen.query(NoteEntry)]
        assert "note.delete" in screen_text(dashboard)  # the timeline tells it
    with database() as s:
        assert entry.note_id not in [n.id for n in notes.for_customer(s, target)]


@pytest.mark.usefixtures("as_bob")
async def test_a_note_someone_may_not_change_is_refused_with_the_rule(
        demo, on_customer, database):
    """bob holds a role on Aiko Tanaka (he may change its fields), not on alice's note."""
    with another_session(demo, "alice") as (s, me):
        assignments.assign(s, customers.resolve(s, "Aiko Tanaka"), "bob", "service", by=me,
                           reason=None)
    seen: list = []
    async with on_customer("Aiko Tanaka", message_hook=seen.append) as (dashboard, pilot, target):
        entry = await focus_first_note(dashboard, pilot)
        await press(pilot, "delete", "y")
        [message] = [n.message for n in notifications(seen) if n.severity == "error"]
        assert message.startswith("bob may not change a note on Aiko Tanaka: a note is changed "
                                  "or deleted only by its author (alice), the customer's owner")
    with database() as s:
        assert entry.note_id in [n.id for n in notes.for_customer(s, target)]


async def test_a_notes_file_is_saved_from_the_timeline(demo, on_customer, tmp_path):
    contract = tmp_path / "合同.pdf"
    contract.write_bytes(b"%PDF-1.4 signed \x00\xff")
    with another_session(demo, "alice") as (s, me):
        notes.add(s, customers.resolve(s, "张敏"), "合同已签", by=me, attach=[contract])
    async with on_customer("张敏") as (dashboard, pilot, target):
        entry = await focus_first_note(dashboard, pilot)
        assert entry.files == 1 and "Save file" in palette(dashboard)
        await press(pilot, "o")
        form = dashboard.screen
        assert isinstance(form, AttachmentFormScreen)
        assert form.fields["output"].control.value.endswith("合同.pdf")
        form.fields["output"].control.value = str(tmp_path)  # a folder: under its own name
        await press(pilot, "ctrl+s")
        assert form.fields["output"].has_class("-invalid")  # 合同.pdf is there already
        form.fields["output"].control.value = str(tmp_path / "copy.pdf")
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomerScreen)
    assert (tmp_path / "copy.pdf").read_bytes() == contract.read_bytes()


async def test_a_note_without_files_offers_none_to_save(on_customer):
    async with on_customer("Aiko Tanaka") as (dashboard, pilot, _):
        await focus_first_note(dashboard, pilot)
        assert "Edit note" in palette(dashboard) and "Save file" not in palette(dashboard)
