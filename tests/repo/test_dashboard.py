"""The dashboard's own queries: the change marker, response limits, the last look."""

import sqlite3
from contextlib import closing
from itertools import pairwise

from sqlmodel import Session

from crmcli import config
from crmcli.db import Database
from crmcli.repo import customers, dashboard, notes
from crmcli.repo.users import Actor

ALICE = Actor("alice", "admin", "sales")


def test_the_change_marker_moves_with_every_commit_even_one_that_records_no_event(
    alice, database
):
    """Asked as the dashboard asks it, on one connection; the changes come through others:
    this process's other sessions, and another process writing as a pull does."""
    watched = Database.open(config.resolve())
    with closing(watched.reader.connect()) as connection:

        def marker():
            with Session(connection) as s:
                return dashboard.change_marker(s)

        def pull(statement: str) -> None:
            with closing(sqlite3.connect(watched.path)) as other, other:
                other.execute(statement)

        seen = [marker()]
        assert marker() == seen[-1]  # nothing committed, nothing to reload
        with database(write=True) as s:
            customers.create(s, {"name": "王芳"}, by=ALICE)
            customers.create(s, {"name": "李伟"}, by=ALICE)
        seen.append(marker())
        pull("UPDATE customer SET city = '上海' WHERE name = '王芳'")  # rows, no event
        seen.append(marker())
        pull("DELETE FROM audit_event WHERE seq = (SELECT min(seq) FROM audit_event)")
        seen.append(marker())  # an old event dropped: the newest seq stays
        pull("DELETE FROM audit_event WHERE seq = (SELECT max(seq) FROM audit_event)")
        seen.append(marker())  # the newest dropped: the seq goes down
        assert all(before != after for before, after in pairwise(seen)), seen
        assert marker() == seen[-1]
    watched.dispose()


def test_my_work_shows_the_sla_clock_and_only_an_answer_stops_it(
    alice, database, monkeypatch
):
    monkeypatch.setenv("CRM_NOW", "2026-03-02T09:00:00+00:00")
    with database(write=True) as s:
        customer = customers.create(s, {"name": "王芳", "sla": "2h"}, by=ALICE)
        customers.create(s, {"name": "No limit"}, by=ALICE)
    monkeypatch.setenv("CRM_NOW", "2026-03-02T10:30:00+00:00")
    with database(write=True) as s:
        notes.add(s, customer, "Checked the contract", by=ALICE, kind="internal")
        notes.add(s, customer, "Visited her, no direction", by=ALICE, kind="visit")
    monkeypatch.setenv("CRM_NOW", "2026-03-02T11:01:00+00:00")
    with database() as s:
        [waiting] = dashboard.my_work(s, "alice").sla
        assert (waiting.name, waiting.state) == ("王芳", "breached")
        assert waiting.due.isoformat() == "2026-03-02T11:00:00+00:00"
    with database(write=True) as s:
        notes.add(s, customers.resolve(s, "王芳"), "Called her", by=ALICE, kind="call",
                  direction="out")
    with database() as s:
        assert dashboard.my_work(s, "alice").sla == []


def test_the_last_look_is_remembered_per_user_and_never_moves_back(alice, database):
    with database(write=True) as s:
        assert dashboard.last_look(s, "alice").seq == 0
        dashboard.remember_look(s, "alice", 7)
        dashboard.remember_look(s, "alice", 3)
    with database() as s:
        assert dashboard.last_look(s, "alice").seq == 7
        assert dashboard.last_look(s, "bob").seq == 0
