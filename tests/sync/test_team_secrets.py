"""Sensitive values on a team live in the shared database alone: a cleared member's value
reaches it with their sync and then leaves their replica; nobody's replica holds one; a
reveal asks the shared database, which refuses the uncleared and records the cleared."""

import json

import psycopg
import pytest

ID = "11010519491231002X"


def file_holds(member, text: str) -> bool:
    """Whether the replica's SQLite files (database and write-ahead log) hold `text`."""
    import sqlite3

    with sqlite3.connect(member.path) as conn:  # checkpoint, so the log is in the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return any(
        text.encode() in path.read_bytes()
        for path in (member.path, member.path.with_name(member.path.name + "-wal"))
        if path.exists()
    )


def test_a_cleared_members_value_reaches_the_shared_database_and_leaves_every_replica(
    team, acme, postgres
):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    alice.ok("customer", "edit", acme, "--set", "contract_amount=987654.32", "--set",
             f"id_number={ID}")
    assert file_holds(alice, ID)  # typed here, not sent yet
    alice.sync()
    for member in (bob, carol, alice):
        member.sync()

    row = postgres.rows("SELECT contract_amount::text, id_number FROM customer")
    assert row == [("987654.32", ID)]
    for member in (alice, bob, carol):
        assert not file_holds(member, ID), member.handle
        assert not file_holds(member, "987654"), member.handle
    history = json.loads(alice.ok("history", acme, "--format", "json"))
    [edit] = [e for e in history if "id_number" in e["changes"]]
    assert ID not in json.dumps(edit)


def shown_secrets(member, acme: str) -> tuple:
    shown = json.loads(member.ok("customer", "show", acme, "--format", "json"))
    return shown["contract_amount"], shown["id_number"]


def test_a_cleared_reader_sees_the_mask_of_a_value_their_replica_does_not_hold(
    team, acme, postgres
):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    alice.ok("customer", "edit", acme, "--set", "contract_amount=987654.32", "--set",
             f"id_number={ID}")
    for member in (alice, bob, carol):
        member.sync()

    assert shown_secrets(alice, acme) == ("≥100,000", "••••002X")  # an admin reads both
    assert shown_secrets(carol, acme) == ("≥100,000", None)  # a manager, the amount only
    assert shown_secrets(bob, acme) == (None, None)  # not even that there is one
    assert "••••002X" in alice.ok("customer", "show", acme)
    listed = json.loads(alice.ok("customer", "list", "--format", "json"))
    assert (listed[0]["contract_amount"], listed[0]["id_number"]) == ("≥100,000", "••••002X")
    assert not file_holds(carol, "002X") and not file_holds(bob, "100,000")

    postgres.run("UPDATE customer SET id_number = NULL")  # gone from the shared database:
    alice.sync()
    assert shown_secrets(alice, acme) == ("≥100,000", None)  # its mask goes at the next pull
    alice.ok("field", "access", "contract_amount", "--grant", "user:bob")
    alice.sync()
    bob.sync()  # a reader granted since gets the masks of values already there
    assert shown_secrets(bob, acme) == ("≥100,000", None)


def test_a_reader_clears_a_value_their_replica_does_not_hold(team, acme, postgres):
    alice, carol = team["alice"], team["carol"]
    alice.ok("customer", "edit", acme, "--set", f"id_number={ID}", "--set", "contract_amount=10")
    alice.sync()
    alice.sync()  # the values left, their masks came
    assert shown_secrets(alice, acme) == ("≥10", "••••002X")
    cleared = alice("customer", "edit", acme, "--set", "id_number=")
    assert cleared.exit_code == 0 and "updated" in cleared.stderr and "id_number" in cleared.stderr
    assert shown_secrets(alice, acme) == ("≥10", None)  # at once, here
    history = json.loads(alice.ok("history", acme, "--format", "json"))
    assert history[-1]["changes"]["id_number"] == ["restricted", None]
    alice.sync()
    assert postgres.rows("SELECT id_number, contract_amount::text FROM customer") == [(None, "10")]
    carol.sync()
    assert shown_secrets(carol, acme) == ("≥10", None)
    refused = carol("customer", "edit", acme, "--set", "id_number=")  # not a reader of it
    assert refused.exit_code == 6 and "id_number" in refused.stderr


def test_a_value_typed_before_its_author_lost_the_right_to_it_is_withheld_not_stuck(
    team, acme, postgres
):
    alice, carol = team["alice"], team["carol"]  # carol, a manager, reads contract_amount
    carol.ok("customer", "edit", acme, "--set", "contract_amount=424242.42", "--city", "Xi'an")
    alice.ok("field", "access", "contract_amount", "--revoke", "role:manager")
    alice.sync()
    result = carol("sync")
    assert result.exit_code == 0, result.output
    assert ("not sent, and no longer on this replica: contract_amount of Acme Trading (you "
            "may no longer write it)") in result.stderr
    assert postgres.rows("SELECT contract_amount, city FROM customer") == [(None, "Xi'an")]
    assert not file_holds(carol, "424242")
    assert carol("sync").exit_code == 0  # nothing left behind to refuse


def test_two_readers_setting_one_value_the_first_stands_and_the_second_is_told(
    team, acme, postgres
):
    alice, carol = team["alice"], team["carol"]  # both read contract_amount
    alice.ok("customer", "edit", acme, "--set", "contract_amount=200000")
    carol.ok("customer", "edit", acme, "--set", "contract_amount=300000")
    alice.sync()
    result = carol("sync")
    assert result.exit_code == 0, result.output
    assert ("contract_amount of Acme Trading (changed by someone else since your last sync)"
            in result.stderr)
    assert postgres.value("SELECT contract_amount::text FROM customer") == "200000"
    assert not file_holds(carol, "300000")
    carol.ok("customer", "edit", acme, "--set", "contract_amount=300000")  # seen, set again
    carol.sync()
    assert postgres.value("SELECT contract_amount::text FROM customer") == "300000"


def test_a_reveal_on_a_replica_asks_the_shared_database_which_records_it(team, acme, postgres):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    alice.ok("customer", "edit", acme, "--set", "contract_amount=50万", "--set", f"id_number={ID}")
    alice.sync()
    carol.sync()
    bob.sync()

    refused = bob("customer", "show", acme, "--reveal")
    assert refused.exit_code == 6
    shown = json.loads(carol.ok("customer", "show", acme, "--reveal", "--format", "json"))
    assert shown["contract_amount"] == "500000"  # a manager reads the amount
    assert shown["id_number"] in ("restricted", None)  # and not the ID number
    assert not file_holds(carol, "500000")
    revealed = postgres.rows(
        "SELECT actor, login, detail FROM audit_event WHERE action = 'customer.reveal'"
    )
    assert [(actor, detail["fields"]) for actor, _login, detail in revealed] == [
        ("carol", ["contract_amount"])
    ]
    assert revealed[0][1].endswith("_carol")


def test_a_deactivated_members_replica_forgets_the_sensitive_values_it_held(
    crm, team, acme, shared
):
    carol = team["carol"]
    carol.ok("customer", "edit", acme, "--set", "contract_amount=123456")  # offline
    assert file_holds(carol, "123456")
    assert crm("server", "member", "deactivate", "carol", "--transfer-to", "alice",
               "--url", shared).exit_code == 0
    result = carol("sync")
    assert result.exit_code == 6
    assert "deactivated" in result.stderr and "cleared" in result.stderr
    assert not file_holds(carol, "123456")


async def test_the_dashboards_reveal_on_a_replica_asks_the_shared_database(team, acme, postgres):
    from crmcli import config
    from crmcli.tui.app import make_app
    from crmcli.tui.screens.customer import CustomerScreen
    from tui.helpers import press, screen_text, settle

    alice, carol = team["alice"], team["carol"]
    alice.ok("customer", "edit", acme, "--set", "contract_amount=50万")
    alice.sync()
    carol.sync()
    customer_id = postgres.value("SELECT id FROM customer")
    dashboard = make_app(config.resolve(str(carol.path), "carol"))
    async with dashboard.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        await dashboard.push_screen(CustomerScreen(customer_id))
        await settle(pilot)
        assert "¥500,000" not in screen_text(dashboard)
        await press(pilot, "v")
        assert "¥500,000" in screen_text(dashboard)  # revealed, shown as money
    assert postgres.value(
        "SELECT count(*) FROM audit_event WHERE action = 'customer.reveal' AND actor = 'carol'"
    ) == 1
    assert not file_holds(carol, "500000")


def test_an_admins_field_access_on_a_replica_changes_who_the_shared_database_lets_read(
    team, acme, postgres
):
    alice, bob = team["alice"], team["bob"]
    alice.ok("customer", "edit", acme, "--set", f"id_number={ID}")
    alice.sync()
    bob.sync()
    assert bob("customer", "show", acme, "--reveal").exit_code == 6
    alice.ok("field", "access", "id_number", "--grant", "user:bob")
    assert bob("customer", "show", acme, "--reveal").exit_code == 6  # not before it syncs
    alice.sync()
    assert postgres.rows("SELECT field, reader, granted FROM field_reader") == [
        ("id_number", "user:bob", True)]
    bob.sync()
    shown = json.loads(bob.ok("customer", "show", acme, "--reveal", "--format", "json"))
    assert shown["id_number"] == ID
    refused = bob("field", "access", "id_number", "--grant", "user:carol")
    assert refused.exit_code == 6  # only an admin, here and on the server:
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only an admin"):
        push_reader_rule(postgres, "bob", "id_number")


def push_reader_rule(postgres, handle: str, field: str) -> None:
    from psycopg.types.json import Jsonb

    from conftest import schema_of
    from crmcli.ids import new_id
    from helpers import as_login, login_for

    rule = {"id": new_id(), "field": field, "reader": "user:bob", "granted": True,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "version": 1}
    url = as_login(postgres.url, login_for(schema_of(postgres.url), handle))
    with psycopg.connect(url, autocommit=True) as bob:
        bob.execute("SELECT crm_push(NULL, '[]', %s, '[]', %s, %s)",
                    (Jsonb({"field_reader": [rule]}), [], []))


def test_a_custom_sensitive_field_lives_in_the_shared_database_alone(team, acme, postgres):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    alice.ok("field", "add", "salary", "--type", "int", "--sensitive")
    alice.ok("customer", "edit", acme, "--set", "salary=88123")
    assert file_holds(alice, "88123")  # typed here, not sent yet
    for member in (alice, bob, carol, alice):
        member.sync()

    assert postgres.rows("SELECT field, value FROM customer_secret") == [("salary", 88123)]
    shared = json.dumps(postgres.rows("SELECT extra, (SELECT json_agg(changes) FROM audit_event) "
                                      "FROM customer"))
    assert "88123" not in shared and '"salary": "restricted"' in shared
    for member in (alice, bob, carol):
        assert not file_holds(member, "88123"), member.handle
    assert json.loads(alice.ok("customer", "show", acme, "--format", "json"))["salary"] == "••••8123"
    assert json.loads(bob.ok("customer", "show", acme, "--format", "json")).get("salary") is None
    assert "••••8123" in alice.ok("customer", "show", acme)  # the card shows it too
    revealed = json.loads(alice.ok("customer", "show", acme, "--reveal", "--format", "json"))
    assert revealed["salary"] == "88123"
    assert bob("customer", "show", acme, "--reveal").exit_code == 6  # finance and admins
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="bob may not write salary"):
        push_custom_value(postgres, "bob", "salary", 1)  # nor past crmcli

    alice.ok("customer", "edit", acme, "--set", "salary=")
    alice.sync()
    assert postgres.rows("SELECT field, value FROM customer_secret") == []
    assert json.loads(alice.ok("customer", "show", acme, "--format", "json")).get("salary") is None


def push_custom_value(postgres, handle: str, field: str, value) -> None:
    """Push the customer with `field` set inside its `extra`, with plain psycopg."""
    from test_hostile_clients import as_member, push_as, pushable

    customer_id = postgres.value("SELECT id FROM customer")
    with as_member(postgres, handle) as conn:
        row = pushable(conn, "customer", customer_id)
        push_as(conn, writes={"customer": [{**row, "extra": {**row["extra"], field: value}}]})
