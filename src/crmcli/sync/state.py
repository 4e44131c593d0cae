"""A replica's sync state, kept in its own database (table `meta`), never in the config file.

- remote: the shared database's URL (without a password, see `connection.check_url`);
- server_id: the shared database this replica's history belongs to, set on the first sync;
- cursor: the highest `server_seq` this replica has pulled;
- pulling: how far a pull that was cut off got (`Progress`), until a pull completes;
- epoch: the shared database's view epoch when this replica last compared what it holds;
- last_sync: when the last sync completed (this machine's clock; shown, never compared);
- member: the handle the shared database recognised this replica's login as (the only
  user a linked replica acts as, `users.check_acting_as`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from crmcli import clock
from crmcli.models import Meta

PREFIX = "sync."


@dataclass
class Progress:
    """How far a pull got that has not completed: per table (entity), the stamp of the last
    row it wrote (a table not named is where `cursor` says), and whether the masks of
    every customer are to be read at its end (the pull that began found it so)."""

    after: dict[str, int] = field(default_factory=dict)
    all_masks: bool = False

    def dumps(self) -> str:
        return json.dumps({"after": self.after, "all_masks": self.all_masks})

    @classmethod
    def loads(cls, text: str) -> Progress:
        values = json.loads(text)
        return cls({k: int(v) for k, v in values["after"].items()}, bool(values["all_masks"]))


@dataclass(frozen=True)
class SyncState:
    remote: str | None = None
    server_id: str | None = None
    cursor: int = 0
    epoch: int | None = None
    last_sync: str | None = None
    pulling: Progress | None = None


def load(s: Session) -> SyncState:
    rows = s.exec(select(Meta).where(col(Meta.key).startswith(PREFIX))).all()
    values = {row.key.removeprefix(PREFIX): row.value for row in rows}
    return SyncState(
        remote=values.get("remote"),
        server_id=values.get("server_id"),
        cursor=int(values.get("cursor", 0)),
        epoch=int(values["epoch"]) if "epoch" in values else None,
        last_sync=values.get("last_sync"),
        pulling=Progress.loads(values["pulling"]) if "pulling" in values else None,
    )


def team_url(s: Session) -> str | None:
    """The team's shared database this replica is linked to (None: a local-only database)."""
    row = s.get(Meta, PREFIX + "remote")
    return row.value if row else None


def _put(s: Session, name: str, value: str) -> None:
    row = s.get(Meta, PREFIX + name)
    if row is None:
        s.add(Meta(key=PREFIX + name, value=value))
    else:
        row.value = value


def set_remote(s: Session, url: str, member: str | None = None) -> None:
    """Link to a shared database as `member` (kept if the replica has one already: the
    first sync confirms or refuses it against the login)."""
    _put(s, "remote", url)
    if member and s.get(Meta, PREFIX + "member") is None:
        _put(s, "member", member)


def pulled_page(s: Session, *, server_id: str, epoch: int, member: str,
                progress: Progress) -> None:
    """Record a page of a pull (in the transaction that wrote it). A replica that never
    compared its records with the view holds this snapshot's now: its epoch. Written in
    two statements, not through the session's objects (`_put`), whose reads and flushes
    on every page cost 0.7 s of CPU in a first sync of 100,000 customers."""
    run = s.connection().exec_driver_sql
    run("INSERT INTO meta (key, value) VALUES (?, ?), (?, ?), (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (PREFIX + "member", member, PREFIX + "server_id", server_id,
         PREFIX + "pulling", progress.dumps()))
    run("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (PREFIX + "epoch", str(epoch)))


def synced(s: Session, *, server_id: str, cursor: int, epoch: int, member: str) -> None:
    """Record a completed sync (in the same transaction that applied what it pulled)."""
    _put(s, "member", member)
    _put(s, "server_id", server_id)
    _put(s, "cursor", str(cursor))
    _put(s, "epoch", str(epoch))
    _put(s, "last_sync", clock.iso(clock.now()) or "")
    pulling = s.get(Meta, PREFIX + "pulling")
    if pulling is not None:
        s.delete(pulling)
