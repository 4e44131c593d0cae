"""Records new to the shared database are written set-based (`judge_fresh`): through a
member's own login, a push of several new records gets the verdicts and stamps of the
one-by-one path, whichever of its records the set-based path takes."""

from __future__ import annotations

import psycopg
import pytest
from test_hostile_clients import as_member, push_as, shared_row

from crmcli.ids import new_id


def new_customer(name: str, **fields) -> dict:
    return {
        "id": new_id(), "name": name, "stage": "lead", "tags": [], "extra": {},
        "version": 1, "created_at": "2030-01-01T00:00:00Z", "updated_at": "2001-01-01T00:00:00Z",
        "created_by": "alice", "updated_by": "alice", **fields,
    }


def new_role(customer_id: str, user: str, **fields) -> dict:
    return {
        "id": new_id(), "customer_id": customer_id, "user": user, "role": "owner",
        "assigned_by": "alice", "reason": None, "since": "2020-01-01T00:00:00Z",
        "until": None, "acknowledged_at": None, "version": 1,
        "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z", **fields,
    }


def stored(postgres, table: str, ids: list[str]) -> int:
    return postgres.value(f"SELECT count(*) FROM {table} WHERE id = ANY(%s)", ids)


def test_new_records_get_the_servers_stamps_and_the_pushers_name(team, postgres):
    customers = [new_customer(f"Fresh {n}") for n in range(3)]
    roles = [new_role(c["id"], "bob") for c in customers]
    with as_member(postgres, "bob") as bob:
        push_as(bob, writes={"customer": customers, "assignment": roles})
        now = bob.execute("SELECT now()").fetchone()[0]
        rows = [shared_row(bob, "customer", c["id"]) for c in customers]
        given = [shared_row(bob, "assignment", r["id"]) for r in roles]
    for row in rows:
        assert (row["created_by"], row["updated_by"]) == ("bob", "bob")
        assert row["created_at"].year < 2030 and abs((now - row["updated_at"]).total_seconds()) < 60
    assert {role["assigned_by"] for role in given} == {"bob"}


def test_one_refused_value_among_new_customers_is_named_and_nothing_is_written(team, postgres):
    customers = [new_customer("Good"), new_customer("Bad", phone="13800138000"), new_customer("Fine")]
    roles = [new_role(c["id"], "bob") for c in customers]
    with as_member(postgres, "bob") as bob:
        with pytest.raises(psycopg.errors.CheckViolation, match="customer_phone_is_e164") as caught:
            push_as(bob, writes={"customer": customers, "assignment": roles})
    assert caught.value.diag.message_hint == f"customer {customers[1]['id']}"
    assert stored(postgres, "customer", [c["id"] for c in customers]) == 0
    assert stored(postgres, "assignment", [r["id"] for r in roles]) == 0


@pytest.mark.parametrize(("unfresh", "match"), [
    ("acknowledged", "acknowledge carol's assignment"),
    ("sensitive", "write contract_amount"),
    ("sensitive in extra", "write salary"),  # a custom field: asked of `extra`'s keys
    ("elsewhere", "bob may not change customer"),
])
def test_a_new_record_its_rules_refuse_is_refused_among_fresh_ones(team, postgres, unfresh, match):
    alice = team["alice"]
    alice.ok("customer", "add", "Globex", "--city", "Shanghai")  # alice's: bob holds no role
    alice.ok("field", "add", "salary", "--type", "int", "--sensitive")  # finance and admins
    alice.sync()
    globex = postgres.value("SELECT id FROM customer WHERE name = 'Globex'")
    customers = [new_customer("Fresh"), new_customer("Also fresh")]
    roles = [new_role(c["id"], "bob") for c in customers]
    if unfresh == "acknowledged":
        roles.append(new_role(customers[0]["id"], "carol", acknowledged_at="2020-01-02T00:00:00Z"))
    elif unfresh == "sensitive":
        customers.append(new_customer("Secret", contract_amount="100.00"))
    elif unfresh == "sensitive in extra":
        customers.append(new_customer("Secret", extra={"salary": 100}))
    else:
        roles.append(new_role(globex, "bob"))
    with as_member(postgres, "bob") as bob:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=match):
            push_as(bob, writes={"customer": customers, "assignment": roles})
    assert stored(postgres, "customer", [c["id"] for c in customers]) == 0
    assert stored(postgres, "assignment", [r["id"] for r in roles]) == 0


def test_a_new_id_sent_twice_is_written_once_as_the_one_by_one_path_does(team, postgres):
    first = new_customer("First")
    again = {**first, "name": "Again"}
    with as_member(postgres, "bob") as bob:
        push_as(bob, writes={"customer": [first, again, new_customer("Other")]})
    assert postgres.rows("SELECT name, created_by FROM customer WHERE id = %s", first["id"]) == [
        ("Again", "bob")]


@pytest.mark.parametrize(("column", "value", "rule"), [
    ("id_number", "11010519491231002Y", "ends in a digit or X"),
    ("bank_account", "6222020200112233445", "Luhn"),
])
def test_a_readers_new_customer_with_an_invalid_sensitive_value_is_refused(
        team, postgres, column, value, rule):
    """The check of id numbers and bank accounts (a trigger called only for a customer
    holding one, schema version 8) still runs on a new customer pushed by a reader."""
    customers = [new_customer("Fresh"), new_customer("Secret", **{column: value})]
    with as_member(postgres, "alice") as alice:  # an admin: reads and writes them
        with pytest.raises(psycopg.errors.CheckViolation, match=f"{column} refused: .*{rule}"):
            push_as(alice, writes={"customer": customers})
    assert stored(postgres, "customer", [c["id"] for c in customers]) == 0
