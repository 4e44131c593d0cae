"""One `crm sync`: push the outbox, then pull, each step committed only after the one before.

Sync owns its transactions (unlike a command, which owns one): the replica's outbox is
read in a local read transaction, pushed in one shared transaction, and only after that
committed does one local write transaction mark the events synced, apply the pull and
move the cursor. Cut off anywhere, it leaves both sides consistent:
- before the shared commit: nothing happened anywhere;
- after it, before the local commit: the events are sent again next time and the shared
  database skips them (it holds them already);
- during the local commit: SQLite rolls back, the cursor has not moved, the pull repeats.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from crmcli.db import Database, session_scope
from crmcli.errors import PermissionDenied, Unavailable, UsageError
from crmcli.repo import conflicts, users
from crmcli.sync import connection, local, pull, push, schema, state


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

    with session_scope(database, write=False) as s:
        known = state.load(s)
        if not known.remote:
            raise UsageError(NOT_LINKED)
        member = users.acting(s, handle)
        outbox = push.read_outbox(s, database.attachments_dir)
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
        pushed = push.push(conn, outbox, server.who)
        pulled = pull.fetch(
            conn, known.cursor, known.epoch, database.attachments_dir,
            held=lambda: _held(database),
        )
        with session_scope(database) as s:
            local.mark_synced(s, pushed.sent)
            local.drop_events(s, pushed.dropped)
            local.remove_unmade(s, pushed.unmade)
            withheld = [f"{name} of {local.customer_name(s, customer_id)} ({why})"
                        for customer_id, name, why in pushed.withheld]
            local.forget_sent(s, pushed.secrets, pushed.sent)
            arrived = pull.apply(s, pulled, database.attachments_dir)
            state.synced(
                s, server_id=server.server_id, cursor=pulled.cursor, epoch=pulled.epoch,
                member=server.who.handle,
            )
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
        role=now.role, joined=joined, withheld=withheld,
    )


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


def _held(database: Database) -> dict[str, set[str]]:
    """The ids of every record and event this replica holds (read when the view moved)."""
    from crmcli.sync.tables import EVENTS, RECORDS

    with session_scope(database, write=False) as s:
        return {synced.entity: local.ids(s, synced) for synced in (*RECORDS, EVENTS)}
