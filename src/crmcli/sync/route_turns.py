"""Round-robin turns on a team replica: taken from the shared database as leads are routed.

A replica linked to a team (`state.team_url`) asks `crm_route_take` (`judge_route.py`) for
each rule's turns, one call per rule and import batch, in a transaction of its own that
commits at once: replicas importing at the same moment queue on the rule's counter row and
get disjoint turns. A turn taken is spent even if the import that took it is then refused
or rolled back (that member's turn is passed over once).

When the shared database cannot be reached (offline, on the road), or does not have the
rule yet (added here, not synced), the turn is taken locally (`routing.LocalTurns`) and
the front end is told why: such turns are not coordinated with other replicas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session

from crmcli.errors import Unavailable
from crmcli.repo import routing
from crmcli.sync import connection, state


class SharedTurns:
    """`routing.Turns` from the shared database, falling back to this replica's own."""

    def __init__(self, s: Session, url: str, warn: Callable[[str], None]):
        self.local = routing.LocalTurns(s)
        self.url = url
        self.warn = warn
        self.conn: Any = None
        self.offline = False

    def take(self, name: str, members: list[str], n: int) -> list[str]:
        import psycopg

        if not self.offline:
            try:
                if self.conn is None:
                    self.conn = connection.connect(self.url)
                row = self.conn.execute("SELECT crm_route_take(%s, %s)", (name, n)).fetchone()
            except Unavailable as error:
                self.offline = True
                self.warn(f"{error}; round-robin turns taken locally, not coordinated "
                          "with the team's other replicas")
            except psycopg.OperationalError as error:
                self.offline = True
                self.warn(f"{connection.lost(error, self.url)}; round-robin turns taken "
                          "locally, not coordinated with the team's other replicas")
            except psycopg.Error as error:
                self.warn(f"rule {name}: {connection.first_line(error)} (run `crm sync`); "
                          "its turns taken locally, not coordinated")
            else:
                if row and row[0]:
                    return list(row[0])
                self.warn(f"rule {name}: the shared database has nobody active to route to "
                          "(run `crm sync`); its turns taken locally")
        return self.local.take(name, members, n)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


@contextmanager
def turns_for(s: Session, warn: Callable[[str], None], *, shared: bool = True) -> Iterator[Any]:
    """The turns this database routes by: the shared database's on a team replica, else
    its own. `shared=False` (a dry run) keeps to its own: nothing it takes is kept."""
    url = state.team_url(s) if shared else None
    if not url:
        yield routing.LocalTurns(s)
        return
    turns = SharedTurns(s, url, warn)
    try:
        yield turns
    finally:
        turns.close()
