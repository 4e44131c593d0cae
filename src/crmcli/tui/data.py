"""The dashboard's way to the database: one transaction per worker, as the acting user.

Screens never build queries: they call the same repository functions as the command line,
inside `reading()` (a deferred transaction that never waits for a writer) or `writing()`
(an immediate one, with the acting user checked afresh, so a user deactivated meanwhile
can no longer write). Writes run in a thread worker and answer with a `Saved` or
`Refused` message, so the screen stays responsive while another process holds the lock.
Reads run in a thread worker inside `reading_for`, which turns an error a user can meet
(what the screen shows is gone) into a `ReadFailed` message instead of ending the app.

The dashboard never dies on a busy or failing database: a write that finds another
program holding the write lock (a long import) posts `Waiting` after WRITE_WAIT_MS and
tries again until it goes through; a database that fails (disk full, read-only, I/O error)
under a read or a write is a `StorageFailed` error the screen shows like a refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from threading import Lock

from sqlmodel import Session
from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, get_current_worker

from crmcli import config
from crmcli.config import Settings
from crmcli.db import FAILURES, Database, is_busy, session_scope
from crmcli.errors import CrmError, StorageFailed
from crmcli.repo import dashboard, demo, users
from crmcli.repo.users import Actor
from crmcli.tui.messages import ReadFailed, Refused, Saved, Waiting

Change = Callable[[Session, Actor], str]
"""A write: given a session and the acting user, change things and say what was done."""

WRITE_WAIT_MS = 1000  # how long one try of a write waits for another writer
WAITING = "waiting for another program writing to this database (an import, a sync?); trying again…"


@dataclass
class Workspace:
    database: Database
    handle: str
    remembered: str | None = None  # whom `crm init` remembered (`users.check_acting_as`)
    _watch: Session | None = field(default=None, init=False, repr=False)  # its own connection
    _watch_lock: Lock = field(default_factory=Lock, init=False, repr=False)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with session_scope(self.database, write=False) as s:
            yield s

    @contextmanager
    def writing(self, busy_ms: int | None = None) -> Iterator[tuple[Session, Actor]]:
        with session_scope(self.database, busy_ms=busy_ms) as s:
            users.check_acting_as(s, self.handle, self.remembered)
            yield s, users.acting(s, self.handle)

    def change_marker(self) -> tuple[int, int]:
        """`dashboard.change_marker`, asked on a connection of its own that only ever asks
        this: SQLite counts other connections' commits per connection. The lock keeps a
        slow look (a network filesystem waits for writers) and the next one apart."""
        with self._watch_lock:
            if self._watch is None:
                self._watch = Session(self.database.reader.connect())
            with self._watch.begin():
                return dashboard.change_marker(self._watch)

    def close(self) -> None:
        with self._watch_lock:
            if self._watch is not None:
                connection = self._watch.bind
                self._watch.close()
                connection.close()
                self._watch = None
        self.database.dispose()


def open_workspace(settings: Settings) -> Workspace | None:
    """The configured database and acting user, or None when there is nothing to open yet
    (no file, or a file nobody has set up): the first-run screen's cue.

    Raises the same errors as the command line for a database that cannot be used (newer
    schema, no acting user, a deactivated user, --as someone else without being an admin),
    before any screen is drawn.
    """
    if not settings.db_path.exists():
        return None
    database = Database.open(settings)
    try:
        with session_scope(database, write=False) as s:
            if not users.any_exist(s):
                database.dispose()
                return None
            users.check_acting_as(s, settings.user, settings.remembered)
            actor = users.acting(s, settings.user)
    except BaseException:
        database.dispose()
        raise
    return Workspace(database, actor.handle, settings.remembered)


def create_workspace(
    settings: Settings, handle: str, name: str, department: str, with_demo: bool
) -> Workspace:
    """What `crm init` does, plus demo data if asked: the database, its first user (an
    admin, remembered as the acting user) and, optionally, a demo team and customers."""
    database = Database.create(settings)
    try:
        with session_scope(database) as s:
            user = users.create_first_admin(s, handle, name=name, department=department)
            if with_demo:
                demo.load(s, by=Actor(user.handle, user.role, user.department))
    except BaseException:
        database.dispose()
        raise
    config.remember_user(settings.db_path, user.handle)
    return Workspace(database, user.handle)


def post_if_current(node: DOMNode, message: Message) -> None:
    """Post a worker's result unless a newer worker of the same group replaced it."""
    if not get_current_worker().is_cancelled:
        node.post_message(message)


@contextmanager
def reading_for(
    node: DOMNode, workspace: Workspace, first: Callable[[Session], None] | None = None
) -> Iterator[Session]:
    """`workspace.reading()` for a worker that shows what it reads on `node`.

    The block posts its own result before it ends. A `CrmError` it raises (the customer
    on screen was deleted, or left this replica with a pull) ends the block there and is
    posted to `node` as `ReadFailed`; nothing after it runs, and the app carries on.
    `first`, if given, runs before in a short write transaction of its own: derived
    state the read needs brought up to date (the stage history a funnel reads), as the
    command line does before the same read.
    """
    try:
        if first is not None:
            with workspace.writing() as (s, _):
                first(s)
        with workspace.reading() as s:
            yield s
    except CrmError as error:
        post_if_current(node, ReadFailed(error))
    except FAILURES as error:
        post_if_current(node, ReadFailed(failure(error, "could not read the database ({})")))


def failure(error: BaseException, sentence: str) -> StorageFailed:
    """A failure as one line for people: `sentence` with the driver's (or the file
    system's) reason in its `{}`, never a traceback."""
    return StorageFailed(sentence.format(getattr(error, "orig", None) or error))


def start_write(node: DOMNode, workspace: Workspace, change: Change) -> Worker:
    """Run `change` in a write transaction in a thread; `node` gets Saved or Refused (a
    failing database: `StorageFailed`), and Waiting once while another writer holds the
    lock. A try that met the lock wrote nothing: `change` runs again in a new transaction.

    Writes are never exclusive: a later read must not cancel a write that is committing.
    """

    def write() -> None:
        worker, waiting = get_current_worker(), False
        while not worker.is_cancelled:
            try:
                with workspace.writing(busy_ms=WRITE_WAIT_MS) as (s, me):
                    summary = change(s, me)
            except CrmError as error:
                node.post_message(Refused(error))
            except FAILURES as error:
                if is_busy(error):
                    if not waiting:
                        node.post_message(Waiting(WAITING))
                        waiting = True
                    continue
                node.post_message(Refused(failure(error, "could not save ({}); nothing was changed")))
            else:
                node.post_message(Saved(summary))
            return

    return node.run_worker(write, thread=True, group="write", name="write")
