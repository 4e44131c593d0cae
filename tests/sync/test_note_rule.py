"""Who changes or deletes a note, on a team: only its author, the customer's owner,
managers of the owner's department and admins — the shared database refuses a role holder
who is none of them, through their own login (plain psycopg).

Every test here runs on a team database made by schema version 4 (its note check as
version 4 had it: the author, or whoever may change the customer) and upgraded by
`crm server init`: the upgrade is what brings the rule.
"""

import pytest
from test_hostile_clients import NOW, as_member, push_as, pushable, refused

from crmcli.ids import new_id
from helpers import schema_version

# The note check of schema version 4, as it stood before issue 10.
VERSION_4_RULE = """IF old ->> 'author' = who.handle THEN RETURN; END IF;
        PERFORM crm_require(who, old ->> 'customer_id', 'change');"""


@pytest.fixture
def shared(crm, blank_shared: str, postgres) -> str:
    """A shared database made at schema version 4, then upgraded to the latest."""
    from crmcli.sync import judge_writes, schema

    with schema_version(4):  # what the crmcli of version 4 made
        assert crm("server", "init", "--url", blank_shared).exit_code == 0
    check = judge_writes._check_function("note").replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
    call = "PERFORM crm_require_note(who, old ->> 'id');  -- `judge_notes.py`"
    assert call in check
    postgres.run(check.replace(call, VERSION_4_RULE))
    result = crm("server", "init", "--url", blank_shared)
    assert result.exit_code == 0, result.output
    assert f"from schema version 4 to {schema.LATEST}" in result.stderr
    return blank_shared


def note_rule(who: str, author: str, owner: str) -> str:
    return (rf"{who} may not change a note on customer \w+ \(Acme Trading\): a note is changed "
            rf"or deleted only by its author \({author}\), the customer's owner \({owner}\), "
            r"managers of sales and admins")


def note_of(postgres, author: str) -> str:
    return postgres.value("SELECT id FROM note WHERE author = %s", author)


def test_a_role_holder_may_not_change_a_colleagues_note_through_their_own_login(
        team, acme, postgres):
    """bob (service) and carol (marketing manager) hold roles on alice's Acme (they may
    change its fields): they add notes and change their own, not alice's."""
    team["alice"].ok("note", "add", acme, "pricing call")
    team["alice"].sync()
    alices = note_of(postgres, "alice")
    for handle in ("bob", "carol"):
        with as_member(postgres, handle) as member:
            row = pushable(member, "note", alices)
            for change in ({"body": "no call"}, {"quote": "太贵了"}, {"kind": "visit"},
                           {"deleted_at": NOW}):
                refused(member, "note", {**row, **change}, note_rule(handle, "alice", "alice"))
            own = {**row, "id": new_id(), "author": handle, "body": f"{handle}'s call"}
            push_as(member, writes={"note": [own]})
            push_as(member, writes={"note": [{**pushable(member, "note", own["id"]),
                                              "body": f"{handle}'s call, corrected"}]})
    assert postgres.rows("SELECT author, body, deleted_at FROM note ORDER BY author") == [
        ("alice", "pricing call", None), ("bob", "bob's call, corrected", None),
        ("carol", "carol's call, corrected", None)]


def test_the_customers_owner_changes_anyones_note_on_it(team, acme, postgres):
    """alice hands Acme to bob: as its owner he may delete carol's note; carol, who still
    holds her role, may not delete alice's."""
    team["carol"].ok("note", "add", acme, "campaign idea")
    team["carol"].sync()
    team["alice"].ok("note", "add", acme, "pricing call")
    team["alice"].ok("assign", acme, "--to", "bob", "--role", "owner")
    team["alice"].sync()
    with as_member(postgres, "carol") as carol:
        row = pushable(carol, "note", note_of(postgres, "alice"))
        refused(carol, "note", {**row, "deleted_at": NOW}, note_rule("carol", "alice", "bob")
                .replace("managers of sales", "managers of service"))
    with as_member(postgres, "bob") as bob:
        row = pushable(bob, "note", note_of(postgres, "carol"))
        push_as(bob, writes={"note": [{**row, "deleted_at": NOW}]})
    assert postgres.rows("SELECT author, deleted_at IS NOT NULL FROM note ORDER BY author") == [
        ("alice", False), ("carol", True)]


def test_a_role_holders_edit_stays_refused_from_their_replica(team, acme, postgres):
    """The command line refuses it first (exit 6, the rule named); the author's own
    correction reaches the team."""
    alice, bob = team["alice"], team["bob"]
    note = alice.ok("note", "add", acme, "pricing call")
    alice.sync()
    bob.sync()
    result = bob("note", "edit", note, "--body", "no call")
    assert result.exit_code == 6, result.output
    assert ("bob may not change a note on Acme Trading: a note is changed or deleted only by "
            "its author (alice), the customer's owner (alice), managers of sales and admins"
            ) in result.stderr
    alice.ok("note", "edit", note, "--body", "pricing call: 报价 by Friday")
    alice.sync()
    bob.sync()
    assert postgres.rows("SELECT body FROM note") == [("pricing call: 报价 by Friday",)]
