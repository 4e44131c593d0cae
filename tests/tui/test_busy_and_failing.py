"""The dashboard never dies on a busy or failing database: a write waits for another writer
and says so, a failure is a notice and the form keeps what was typed; an unexpected error
ends the app with a report that holds no local variables."""

import sqlite3
from contextlib import closing

import pytest
from textual.worker import WorkerFailed

from crmcli.repo import audit, customers
from crmcli.tui.screens.customer_form import CustomerFormScreen

from .helpers import notifications, press, screen_text, settle

SECRET = "6222021234567890128"


def form_input(dashboard, name: str):
    return dashboard.screen.fields[name].control


async def shown_within(pilot, text: str, seconds: float = 10) -> bool:
    for _ in range(int(seconds * 10)):
        if text in screen_text(pilot.app):
            return True
        await pilot.pause(0.1)
    return False


async def test_an_edit_while_an_import_holds_the_write_lock_waits_says_so_and_then_saves(
    demo, on_customer, database
):
    seen: list = []
    async with on_customer("李伟", message_hook=seen.append) as (dashboard, pilot, target):
        await press(pilot, "e")
        form = dashboard.screen
        form_input(dashboard, "city").value = "天津"
        with closing(sqlite3.connect(demo.database.path, isolation_level=None)) as importer:
            importer.execute("BEGIN IMMEDIATE")  # a long import holds the write lock
            await pilot.press("ctrl+s")
            assert await shown_within(pilot, "waiting for another program writing")
            assert dashboard.screen is form and form_input(dashboard, "city").value == "天津"
            await pilot.press("ctrl+s")  # impatient: still one save on its way, not two
            with database() as s:
                assert customers.by_id(s, target).city != "天津"
            importer.execute("COMMIT")
        await settle(pilot)
        assert not isinstance(dashboard.screen, CustomerFormScreen)  # saved, closed
        assert "updated" in notifications(seen)[-1].message
    with database() as s:
        assert customers.by_id(s, target).city == "天津"
        edits = [e for e in audit.for_customer(s, customers.by_id(s, target))
                 if e.action == "customer.update"]
        assert [e.changes for e in edits] == [{"city": ["北京", "天津"]}]


async def test_a_write_the_database_fails_is_a_notice_and_the_form_keeps_what_was_typed(
    demo, on_customer, database
):
    failing = ("CREATE TRIGGER failing BEFORE UPDATE ON customer "
               "BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END")
    async with on_customer("李伟") as (dashboard, pilot, target):
        await press(pilot, "e")
        form = dashboard.screen
        with closing(sqlite3.connect(demo.database.path)) as db, db:
            db.execute(failing)
        form_input(dashboard, "city").value = "天津"
        form_input(dashboard, "company").value = "青禾教育集团"
        await press(pilot, "ctrl+s")
        assert dashboard.screen is form
        assert "could not save (disk full (simulated)); nothing was changed" in (
            screen_text(dashboard))
        assert form_input(dashboard, "city").value == "天津"
        assert form_input(dashboard, "company").value == "青禾教育集团"
        with closing(sqlite3.connect(demo.database.path)) as db, db:
            db.execute("DROP TRIGGER failing")
        await press(pilot, "ctrl+s")  # the same form, saved once the database works again
        assert not isinstance(dashboard.screen, CustomerFormScreen)
    with database() as s:
        assert customers.by_id(s, target).city == "天津"


async def test_an_unexpected_error_leaves_a_report_without_local_variables(
    demo, app, crm_home, capsys
):
    def unexpected(s, me):
        card = SECRET  # a local variable: Textual's own traceback would print its value
        raise RuntimeError(f"a bug ({len(card)} digits)")

    dashboard = app()
    with pytest.raises(WorkerFailed, match="a bug"):
        async with dashboard.run_test() as pilot:
            await settle(pilot)
            dashboard.screen.write(unexpected)
            await pilot.pause(0.5)
    assert dashboard.return_code == 1
    [report] = (crm_home / "crash-reports").iterdir()
    text = report.read_text()
    assert "RuntimeError: a bug (19 digits)" in text and "in unexpected" in text
    assert "len(card)" in text  # the code line, not the value of `card`
    assert SECRET not in text
    said = capsys.readouterr()
    assert f"A report (without local variables) is in {report}" in said.err
    assert SECRET not in said.out + said.err
