"""Team settings travel to every replica, and only an admin's reach the shared database:
a member's own login cannot write one, whatever its client sends."""

from __future__ import annotations

import psycopg
import pytest
from test_hostile_clients import as_member, push_as, pushable, refused

from crmcli.ids import new_id
from crmcli.repo import settings
from crmcli.repo.users import Actor

RULE = {"when": {"source": "exhibition"}, "to": "dept:sales", "how": "round-robin"}


def put(replica, key, value, actor):
    with replica.session(write=True) as s:
        settings.put(s, key, value, by=actor)


def read(replica, key):
    with replica.session() as s:
        return settings.get(s, key)


def test_an_admins_setting_reaches_every_replica_and_its_removal_too(team):
    alice, bob = team["alice"], team["bob"]
    put(alice, "rule.expo", RULE, Actor("alice", "admin", "sales"))
    alice.sync()
    bob.sync()
    assert read(bob, "rule.expo") == RULE
    with alice.session(write=True) as s:
        settings.remove(s, "rule.expo", by=Actor("alice", "admin", "sales"))
    alice.sync()
    bob.sync()
    assert read(bob, "rule.expo") is None


def test_a_members_login_reads_the_settings_but_cannot_write_one(team, postgres):
    alice = team["alice"]
    put(alice, "rule.expo", RULE, Actor("alice", "admin", "sales"))
    alice.sync()
    with as_member(postgres, "bob") as bob:
        stored = bob.execute("SELECT id, value FROM setting WHERE key = 'rule.expo'").fetchone()
        assert stored[1] == RULE
        row = pushable(bob, "setting", stored[0])
        refused(bob, "setting", {**row, "value": {**RULE, "to": "user:bob"}}, "only an admin")
        new = {**row, "id": new_id(), "key": "work_hours", "value": "00:00-00:01"}
        refused(bob, "setting", new, "only an admin")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("UPDATE setting SET value = '\"x\"'")


def test_a_setting_a_member_wrote_offline_is_refused_and_kept_nowhere(team, postgres):
    bob = team["bob"]
    put(bob, "rule.mine", {"to": "user:bob"}, Actor("bob", "admin", "service"))  # a forged role
    result = bob("sync")
    assert result.exit_code == 6, result.output
    assert "only an admin" in result.stderr
    assert postgres.value("SELECT count(*) FROM setting") == 0
    with as_member(postgres, "bob") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only an admin"):
            push_as(conn, writes={"setting": [{
                "id": new_id(), "key": "rule.x", "value": {}, "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z", "version": 1, "deleted_at": None}]})
