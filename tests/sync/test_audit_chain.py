"""`crm audit verify`: the shared audit trail is hash-chained, so an event changed or removed
even by the server's owner (who may switch the append-only trigger off) is found."""

import json

import pytest


def verify(crm, url: str):
    return crm("audit", "verify", "--url", url, "--format", "json")


def tamper(postgres, statement: str, *params) -> None:
    """What only the owner can do: switch the trail's guard off, change it, switch it on."""
    postgres.run("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    postgres.run(statement, *params)
    postgres.run("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")


def third_event(postgres) -> str:
    return postgres.value("SELECT id FROM audit_event ORDER BY server_seq LIMIT 1 OFFSET 2")


def test_an_untouched_trail_is_intact_and_its_newest_hash_is_printed(crm, acme, postgres, shared):
    result = verify(crm, shared)
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["intact"] is True
    assert verdict["events"] == postgres.value("SELECT count(*) FROM audit_event") > 5
    assert verdict["head"] == postgres.value(
        "SELECT hash FROM audit_event ORDER BY server_seq DESC LIMIT 1")
    table = crm("audit", "verify", "--url", shared)
    assert "every link holds" in table.stdout and verdict["head"] in table.stdout


@pytest.mark.parametrize("change", [
    "UPDATE audit_event SET actor = 'mallory' WHERE id = %s",
    "UPDATE audit_event SET changes = '{}' WHERE id = %s",
    # a careful forger recomputes the changed event's own hash: the next link still breaks
    "UPDATE audit_event e SET detail = '{\"x\": 1}', "
    "hash = crm_event_hash(ROW(e.id, e.at, e.actor, e.action, e.entity, e.entity_id, "
    "e.customer_id, e.changes, '{\"x\": 1}', e.server_seq, e.server_at, e.login, "
    "e.prev_hash, e.hash)::audit_event) WHERE id = %s",
])
def test_an_event_changed_by_the_owner_breaks_the_chain(crm, acme, postgres, shared, change):
    target = third_event(postgres)
    postgres.run("ALTER TABLE audit_event DISABLE TRIGGER audit_event_stamp")  # keep its place
    tamper(postgres, change, *([target] * change.count("%s")))
    postgres.run("ALTER TABLE audit_event ENABLE TRIGGER audit_event_stamp")
    result = verify(crm, shared)
    assert result.exit_code == 4
    [line] = result.stderr.strip().splitlines()
    assert "the audit trail is broken at event" in line
    following = postgres.value(
        "SELECT id FROM audit_event ORDER BY server_seq LIMIT 1 OFFSET 3")
    assert target in line or following in line


def test_an_event_removed_by_the_owner_breaks_the_chain_at_the_next(crm, acme, postgres, shared):
    target = third_event(postgres)
    following = postgres.value("SELECT id FROM audit_event ORDER BY server_seq LIMIT 1 OFFSET 3")
    tamper(postgres, "DELETE FROM audit_event WHERE id = %s", target)
    result = verify(crm, shared)
    assert result.exit_code == 4
    assert following in result.stderr and "removed or changed" in result.stderr


def test_an_event_changed_with_its_stamp_trigger_on_is_the_one_named(crm, acme, postgres, shared):
    """An UPDATE with only the append-only guard off also fires the stamp trigger, which
    gives the changed event a new server_seq and so moves it to the end of the chain: the
    event now following its old place is intact, and must not be the one named."""
    target = third_event(postgres)
    following = postgres.value("SELECT id FROM audit_event ORDER BY server_seq LIMIT 1 OFFSET 3")
    before = postgres.value("SELECT server_seq FROM audit_event WHERE id = %s", target)
    tamper(postgres, "UPDATE audit_event SET actor = 'x' WHERE id = %s", target)
    assert postgres.value(
        "SELECT id FROM audit_event ORDER BY server_seq DESC LIMIT 1") == target
    assert postgres.value("SELECT server_seq FROM audit_event WHERE id = %s", target) > before
    result = verify(crm, shared)
    assert result.exit_code == 4
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert f"the audit trail is broken at event {target}" in line
    assert "its contents or its hash were changed" in line
    assert following not in line
