"""What the shared database refuses, and how `crm sync` says so: one line, a documented
exit code, nothing changed on either side."""

import json

import pytest

from crmcli.sync import connection, outbox, push


def newest_change(postgres) -> int:
    return postgres.value("SELECT max(server_seq) FROM audit_event")


def test_a_member_deactivated_in_the_shared_database_can_neither_push_nor_pull(team, postgres):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    acme = alice.ok("customer", "add", "Acme Trading", "--city", "Shanghai")
    alice.ok("assign", acme, "--to", "bob", "--role", "service")  # so bob may change it
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
        before = member.sync_state()
        result = member("sync")
        assert result.exit_code == 6
        [line] = result.stderr.strip().splitlines()
        assert f"{member.handle}'s login may no longer connect" in line and "deactivated" in line
        assert member.sync_state() == before  # nothing pulled, nothing marked pushed
        assert json.loads(member.ok("customer", "show", acme, "--format", "json"))["notes"] == []
    assert newest_change(postgres) == written
    assert postgres.value("SELECT city FROM customer") == "Shanghai"


def test_a_member_deactivated_after_the_sync_began_is_cut_off_and_nothing_is_written(
    team, postgres
):
    """The sync's first check passed; then the member is deactivated: their session is
    ended at once, so the push never lands."""
    import psycopg

    from conftest import schema_of
    from crmcli.sync import schema
    from helpers import as_login, login_for

    bob = team["bob"]
    bob.ok("customer", "add", "Acme Trading")
    with bob.session() as s:
        batch = outbox.next_batch(s, bob.path.parent / "attachments", 0, outbox.BATCH_EVENTS)
    conn = connection.connect(as_login(postgres.url, login_for(schema_of(postgres.url), "bob")))
    try:
        who = schema.check(conn).who
        postgres.run("UPDATE users SET active = false WHERE handle = 'bob'")
        written = newest_change(postgres)
        with pytest.raises(psycopg.OperationalError):
            push.push(conn, batch, who)
    finally:
        conn.close()
    assert newest_change(postgres) == written
    assert postgres.value("SELECT count(*) FROM customer") == 0


def legacy_write(member, ref: str, **values) -> None:
    """Change a customer as an older crmcli could have (before values were checked for
    everything the shared database refuses): audited, not validated."""
    from crmcli.repo import audit, customers

    with member.session(write=True) as s:
        record = customers.resolve(s, ref)
        changes = audit.apply(record, values, member.handle)
        audit.record(
            s, by=member.handle, action="customer.update", entity="customer",
            entity_id=record.id, customer_id=record.id, changes=changes,
        )


def test_a_value_holding_nul_travels_with_a_replacement_character_and_its_author_keeps_it(
    team, postgres
):
    alice, bob = team["alice"], team["bob"]
    acme = alice.ok("customer", "add", "Acme Trading")
    alice.sync()
    bob.sync()
    legacy_write(alice, acme, city="Bei\x00jing", tags=["vip\x00"])  # a text and a JSON column

    assert alice.sync()["pushed"] == 1  # PostgreSQL refuses NUL in text and jsonb
    assert postgres.rows("SELECT city, tags FROM customer") == [("Bei\ufffdjing", ["vip\ufffd"])]
    bob.sync()
    for member in (alice, bob):  # the record is the same everywhere, its author's included
        record = json.loads(member.ok("customer", "show", acme, "--format", "json"))
        assert (record["city"], record["tags"]) == ("Bei\ufffdjing", ["vip\ufffd"])
    histories = {
        member.handle: [e for e in json.loads(member.ok("history", acme, "--format", "json"))
                        if e["action"] == "customer.update"]
        for member in (alice, bob)
    }
    assert histories["alice"][-1]["changes"]["city"] == [None, "Bei\x00jing"]  # the original
    assert histories["bob"][-1]["changes"]["city"] == [None, "Bei\ufffdjing"]

    alice.ok("customer", "edit", acme, "--level", "A")  # and syncing goes on
    assert alice.sync()["pushed"] == 1


def test_a_record_the_shared_database_refuses_is_named_in_one_line_and_nothing_is_sent(
    team, postgres
):
    alice = team["alice"]
    acme = alice.ok("customer", "add", "Acme Trading")
    alice.ok("customer", "add", "Globex")
    legacy_write(alice, acme, sla=2**40)  # more than PostgreSQL's integer column holds
    before, written = alice.sync_state(), newest_change(postgres)

    result = alice("sync")
    assert result.exit_code == 4
    [line] = result.stderr.strip().splitlines()
    assert f"cannot push customer {acme} (Acme Trading)" in line
    assert "out of range for type integer" in line
    assert alice.sync_state() == before and newest_change(postgres) == written

    alice.ok("customer", "edit", acme, "--sla", "4h")  # corrected here, it goes
    alice.sync()
    assert postgres.rows("SELECT name, sla FROM customer ORDER BY name") == [
        ("Acme Trading", 4 * 60), ("Globex", None)  # minutes
    ]


def test_any_other_failure_of_the_shared_database_ends_the_sync_in_one_line(team, postgres):
    alice = team["alice"]
    alice.ok("customer", "add", "Acme Trading")
    postgres.run("ALTER TABLE customer RENAME COLUMN city TO town")  # damaged by hand
    before = alice.sync_state()

    result = alice("sync")
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert "failed during sync" in line and 'column "city" does not exist' in line
    assert alice.sync_state() == before


def test_a_change_the_shared_database_refuses_is_named_too(team, postgres):
    alice = team["alice"]
    acme = alice.ok("customer", "add", "Acme Trading")
    alice.sync()
    postgres.run(  # a rule an administrator added by hand
        "ALTER TABLE audit_event ADD CONSTRAINT keep CHECK (action <> 'customer.delete')"
    )
    alice.ok("customer", "delete", acme)

    result = alice("sync")
    assert result.exit_code == 4
    [line] = result.stderr.strip().splitlines()
    assert f"cannot push the change customer.delete of customer {acme}" in line
    assert 'violates check constraint "keep"' in line
    assert postgres.value("SELECT deleted_at FROM customer") is None
