"""Helpers the dashboard tests share: waiting for the database work, reading the screen."""

from __future__ import annotations

import sqlite3
from contextlib import closing, contextmanager

from textual.notifications import Notification, Notify
from textual.pilot import Pilot
from textual.worker import WorkerState

from crmcli.tui.data import Workspace
from crmcli.tui.screens.customers import TYPING_PAUSE


async def settle(pilot: Pilot) -> None:
    """Wait until the workers (database reads and writes) are done, what they posted has
    been handled, and no new work followed for two rounds (a handler may start more)."""
    app = pilot.app
    quiet = 0
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        busy = [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        quiet = 0 if busy else quiet + 1
        if quiet == 2:
            return
    raise AssertionError(f"workers still busy: {busy}")


async def press(pilot: Pilot, *keys: str) -> None:
    """Press keys, letting the database work each one starts finish before the next."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def type_into(pilot: Pilot, selector: str, text: str) -> None:
    """Focus an input and type `text` key by key, then give the search its pause."""
    pilot.app.screen.query_one(selector).focus()
    await pilot.pause()
    await pilot.press(*text)
    await pilot.pause(TYPING_PAUSE + 0.1)
    await settle(pilot)


def screen_text(app) -> str:
    """What the terminal shows now, as plain text (one line per row)."""
    update = app.screen._compositor.render_full_update(simplify=True)
    return "\n".join(
        "".join(segment.text for strip in strips for segment in strip).rstrip()
        for strips in update.strips
    )


def notifications(messages: list) -> list[Notification]:
    """The notifications among the messages a `message_hook` collected."""
    return [message.notification for message in messages if isinstance(message, Notify)]


@contextmanager
def another_session(workspace: Workspace, handle: str):
    """A write transaction as `handle`, as another terminal's `crm` command would open."""
    with Workspace(workspace.database, handle).writing() as (s, me):
        yield s, me


def drop_from_replica(workspace: Workspace, customer_id: str) -> None:
    """What a pull does when a customer leaves this member's view (sync/pull.py): the
    customer goes from the local file outright, with its notes, tasks, assignments and
    events, written by another connection."""
    with closing(sqlite3.connect(workspace.database.path)) as db, db:
        db.execute("DELETE FROM attachment WHERE note_id IN "
                   "(SELECT id FROM note WHERE customer_id = ?)", (customer_id,))
        for table in ("note", "task", "assignment", "audit_event"):
            db.execute(f"DELETE FROM {table} WHERE customer_id = ?", (customer_id,))
        db.execute("DELETE FROM customer WHERE id = ?", (customer_id,))


def written_by_a_pull(workspace: Workspace, customer_id: str, **values: str) -> None:
    """bob's change arriving through a sync: the customer row rewritten with the shared
    values by another connection, its version left as it was (a pull takes the shared
    version, which need not differ from the local one)."""
    columns = ", ".join(f"{name} = ?" for name in values)
    with closing(sqlite3.connect(workspace.database.path)) as db, db:
        db.execute(f"UPDATE customer SET {columns}, updated_by = 'bob' WHERE id = ?",
                   (*values.values(), customer_id))
