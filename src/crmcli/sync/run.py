"""One `crm sync`: push the outbox, then pull, each step committed only after the one before.

Sync owns its transactions (unlike a command, which owns one): the replica's outbox is
pushed in batches (`outbox.py`), each read in a local read transaction and pushed in a
shared transaction of its own, after whose commit one local write transaction marks its
events synced; then the pull streams in pages, each committed with how far it got
(`pull.py`), the last one moving the cursor. Cut off anywhere, it leaves both sides
consistent:
- before a batch's shared commit: that batch happened nowhere (those before it stand on
  both sides); the next sync pushes it and what follows;
- after it, before its local commit: its events are sent again next time and the shared
  database skips them (it holds them already);
- during the pull: the replica keeps the pages it committed (a page cut off rolls back
  whole), and the next sync pulls the rest from where it stopped.
The pull leaves out the rows the push stored exactly as this replica holds them
(`sent.py`); known only to this sync, they are pulled by the next one if it is cut off
before its pull: nothing is lost, some rows are read again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial

from crmcli.db import Database, session_scope
from crmcli.errors import PermissionDenied, Unavailable, UsageError
from crmcli.repo import conflicts, users
from crmcli.repo.bulk import cyclic_gc_paused
from crmcli.sync import connection, local, outbox, pull, push, schema, sent, state
from crmcli.sync.schema import Who


@dataclass(frozen=True)
class Report:
    pushed: int  # changes of this replica that reached the shared database
    pulled: int  # changes made elsewhere that reached this replica
    conflicts: int  # conflict entries this push made
    handed_over: int  # work meant for deactivated members this push gave their successors
    open_conflicts: int  # unresolved conflict entries on this replica now
    member: str
    role: str
    joined: str | None  # "recognised" on a replica's first sync
    # sensitive values this push could not take ("contract_amount of Acme"): forgotten here
    withheld: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


NOT_LINKED = "this database is not linked to a shared one; run `crm remote set URL`"


def remote(database: Database) -> str:
    """The shared database this replica is linked to."""
    with session_scope(database, write=False) as s:
        url = state.load(s).remote
    if not url:
        raise UsageError(NOT_LINKED)
    return url


def sync(database: Database, handle: str | None) -> Report:
    """Push this replica's changes as `handle`, pull everyone else's; see the module doc."""
    import psycopg

    outbox.batch_size(), pull.page_size()  # a bad size stops the sync before it starts
    with session_scope(database, write=False) as s:
        known = state.load(s)
        if not known.remote:
            raise UsageError(NOT_LINKED)
        member = users.acting(s, handle)
    conn = _connect(database, known.remote, member.handle)
    try:
        server = schema.check(conn)
        if server.who.handle != member.handle:
            raise PermissionDenied(
                f"this login is {server.who.handle}'s on the shared database, and this replica "
                f"acts as {member.handle}; a replica syncs as its own member only"
            )
        if not server.who.active:
            raise push.deactivated(member.handle)
        if known.server_id and known.server_id != server.server_id:
            raise UsageError(
                "this replica belongs to another shared database (its history cannot be "
                "merged into this one); link it back, or make a fresh replica with `crm init`"
            )
        pushed = push_batches(database, conn, server.who)
        arrived = pull.pull(conn, database, server, pushed.unchanged)
        with session_scope(database, write=False) as s:
            now = users.get(s, member.handle)
            open_count = conflicts.count_open(s)
    except psycopg.OperationalError as error:
        raise connection.lost(error, known.remote) from None
    except psycopg.errors.InsufficientPrivilege as error:
        refused = connection.first_line(error)
        raise PermissionDenied(f"the shared database refused: {refused}") from None
    except psycopg.Error as error:
        raise connection.failed(error, known.remote) from None
    finally:
        conn.close()
    joined = "recognised" if known.server_id is None else None
    return Report(
        pushed=pushed.new, pulled=arrived, conflicts=pushed.conflicts,
        handed_over=pushed.handed_over, open_conflicts=open_count, member=now.handle,
        role=now.role, joined=joined, withheld=pushed.withheld,
    )


@dataclass
class Sent:
    """What the batches of one push did, added up."""

    new: int = 0
    conflicts: int = 0
    handed_over: int = 0
    withheld: list[str] = field(default_factory=list)
    unchanged: sent.Unchanged = field(default_factory=sent.Unchanged)  # the pull leaves out


def push_batches(database: Database, conn, who: Who) -> Sent:
    """Push the outbox batch by batch (`outbox.py`): each batch is pushed in a shared
    transaction of its own and, once that committed, marked synced here, so a cut-off
    loses only the batch under way. While the shared database takes one batch, a thread
    reads the next from the outbox (`_Following`; its own read transaction: SQLite's WAL
    lets it read beside the commits here), so memory holds two batches and the reading, a
    third of the client's work, overlaps the server's. Only the reading: the plan depends
    on what the shared database holds, so it follows the commit before (`push.push`).

    Read early, the next batch is the same as after the mark: a batch holds every later
    change of the records it touches, so the next one is about others (their rows do
    not change when this one is marked), and it passes by the events this one brought
    forward (`Outbox.brought`), not marked synced yet. Cut off, nothing was written by
    the reading: the next sync starts again at the first batch not marked. (Not the
    pull's `ahead.read_ahead`: it reads on past the next one, before this one is marked.)"""
    total, size = Sent(), outbox.batch_size()
    # (a batch makes hundreds of thousands of objects at once: left alone, the cycle
    # collector walked them again and again, a fifth of a push's CPU)
    with cyclic_gc_paused() as collect_cycles, ThreadPoolExecutor(1) as reader:
        batch = _read_batch(database, 0, (), size)
        while batch.events:
            following = _Following(reader, partial(
                _read_batch, database, batch.last, batch.brought(), size))
            pushed = push.push(conn, batch, who, meanwhile=following.start)
            with session_scope(database) as s:
                local.mark_synced(s, pushed.sent)
                local.drop_events(s, pushed.dropped)
                local.remove_unmade(s, pushed.unmade)
                total.withheld += [
                    f"{name} of {local.customer_name(s, customer_id)} ({why})"
                    for customer_id, name, why in pushed.withheld]
                local.forget_sent(s, pushed.secrets, pushed.sent)
                sent.settle(s, pushed.kept, pushed.now, total.unchanged)
            total.new += pushed.new
            total.conflicts += pushed.conflicts
            total.handed_over += pushed.handed_over
            del batch, pushed  # (two batches at most: this one goes before the next comes)
            collect_cycles()
            batch = following.result()
    return total


class _Following:
    """The next batch, read by a thread from when the push hands its plan to the shared
    database: then the main thread waits (psycopg releases the GIL), where while it plans
    the two would take turns at the GIL and the plan would wait as long as the reading."""

    def __init__(self, reader: ThreadPoolExecutor, read: Callable[[], outbox.Outbox]):
        self._reader, self._read = reader, read
        self._future: Future | None = None

    def start(self) -> Future:
        if self._future is None:  # (a push prepared again starts it once)
            self._future = self._reader.submit(self._read)
        return self._future

    def result(self) -> outbox.Outbox:
        return self.start().result()


def _read_batch(
    database: Database, after: int, passing: Collection[int], size: int
) -> outbox.Outbox:
    """The outbox's next batch after local seq `after`, in a read transaction of its own."""
    with session_scope(database, write=False) as s:
        return outbox.next_batch(s, database.attachments_dir, after, size, passing)


NO_LOGIN = "is not permitted to log in"


def _connect(database: Database, url: str, handle: str):
    """Connect to the shared database. A login the shared database no longer lets in is a
    member who was deactivated: the replica forgets the sensitive values it may hold."""
    try:
        return connection.connect(url)
    except Unavailable as error:
        if NO_LOGIN not in str(error):
            raise
        with session_scope(database) as s:
            local.forget_sensitive(s)
        raise PermissionDenied(
            f"{handle}'s login may no longer connect to the shared database (deactivated); "
            "sync refused, and the sensitive values this replica held are cleared"
        ) from None

