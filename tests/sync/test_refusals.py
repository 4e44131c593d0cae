"""What the shared database refuses, and how `crm sync` says so: one line, a documented
exit code, nothing changed on either side."""

import json

import pytest

from crmcli.errors import PermissionDenied
from crmcli.sync import connection, local, push, state


def snapshot(member) -> dict:
    """A replica's sync state and outbox."""
    with member.session() as s:
        return {"state": state.load(s), "unpushed": sorted(e.id for e in local.unsynced(s))}


def newest_change(postgres) -> int:
    return postgres.value("SELECT max(server_seq) FROM audit_event")


def test_a_member_deactivated_in_the_shared_database_can_neither_push_nor_pull(team, postgres):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    acme = alice.ok("customer", "add", "Acme Trading", "--city", "Shanghai")
    alice.sync()
    bob.sync()
    carol.sync()
    alice.ok("user", "deactivate", "bob", "--transfer-to", "alice")
    alice.ok("user", "deactivate", "carol", "--transfer-to", "alice")
    alice.ok("note", "add", acme, "bob and carol have left")
    alice.sync()
    bob.ok("customer", "edit", acme, "--city", "Hangzhou")  # offline, before he heard
    written = newest_change(postgres)

    for member in (bob, carol):  # with changes to push, and with none
        before = snapshot(member)
        result = member("sync")
        assert result.exit_code == 6
        [line] = result.stderr.strip().splitlines()
        assert f"{member.handle} is deactivated in the shared database" in line
        assert snapshot(member) == before  # nothing pulled, nothing marked pushed
        assert json.loads(member.ok("customer", "show", acme, "--format", "json"))["notes"] == []
    assert newest_change(postgres) == written
    assert postgres.value("SELECT city FROM customer") == "Shanghai"


def test_a_push_refuses_a_member_deactivated_after_the_sync_began(team, postgres):
    """The sync's first check passed; the deactivation committed before the push took the
    writer lock: the push itself refuses, under the lock."""
    bob = team["bob"]
    bob.ok("customer", "add", "Acme Trading")
    with bob.session() as s:
        outbox = push.read_outbox(s, bob.path.parent / "attachments")
    postgres.run("UPDATE users SET active = false WHERE handle = 'bob'")
    written = newest_change(postgres)
    conn = connection.connect(postgres.url)
    try:
        with pytest.raises(PermissionDenied, match="bob is deactivated"):
            push.push(conn, outbox, "bob")
    finally:
        conn.close()
    assert newest_change(postgres) == written
    assert postgres.value("SELECT count(*) FROM customer") == 0
