"""A member with their own login and plain psycopg (not crmcli) against the shared database.

Whatever they send, PostgreSQL decides: they read no sensitive value they are not cleared
for, write nothing outside their rights, cannot forge who or when, cannot touch the audit
trail or hold the team's lock, and once deactivated cannot even connect.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg.types.json import Jsonb

from conftest import schema_of
from crmcli.ids import new_id
from helpers import as_login, login_for

SECRETS = {
    "contract_amount": "987654.32",
    "id_number": "11010519491231002X",
    "bank_account": "6222020200112233445",
}
TABLES = (
    "users", "field_def", "customer", "note", "attachment", "task", "assignment", "conflict",
    "audit_event", "attachment_blob", "crm_server", "crm_member",
)


@contextmanager
def as_member(postgres, handle: str) -> Iterator[psycopg.Connection]:
    """A plain psycopg connection with the member's own login (autocommit)."""
    url = as_login(postgres.url, login_for(schema_of(postgres.url), handle))
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def secret_acme(team, acme, postgres) -> str:
    """Acme's sensitive values, set in the shared database (where they live)."""
    postgres.run(
        "UPDATE customer SET contract_amount = %s, id_number = %s, bank_account = %s",
        *SECRETS.values(),
    )
    return postgres.value("SELECT id FROM customer")


def readable(conn, table: str) -> list[str]:
    """The columns of `table` the connected login may SELECT."""
    return [row[0] for row in conn.execute(
        "SELECT column_name FROM information_schema.columns c WHERE table_schema = "
        "current_schema() AND table_name = %s AND has_column_privilege(%s, column_name, "
        "'SELECT') ORDER BY ordinal_position", (table, table),
    )]


def test_no_sensitive_value_anywhere_an_uncleared_member_can_select(team, secret_acme, postgres):
    alice = team["alice"]
    alice.ok("note", "add", secret_acme, "contract signed")
    alice.sync()
    with as_member(postgres, "bob") as bob:
        relations = [row[0] for row in bob.execute(  # every table and view, readable or not
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
            "AND relkind IN ('r', 'v', 'm', 'p', 'f')"
        )]
        assert set(TABLES) <= set(relations)
        seen = []
        for table in relations:
            columns = readable(bob, table)
            if not columns:
                continue
            query = "SELECT {} FROM {}".format(", ".join(f'"{c}"' for c in columns), f'"{table}"')
            seen += [json.dumps(row, default=str) for row in bob.execute(query)]
        assert seen, "bob reads the shared record"
        for value in SECRETS.values():
            assert not any(value in row for row in seen), value
        for name in SECRETS:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bob.execute(f"SELECT {name} FROM customer")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("SELECT * FROM crm_member")


@pytest.mark.parametrize("statement", [
    "INSERT INTO customer (id, name, stage, tags, extra, created_at, updated_at, version) "
    "VALUES ('x', 'Mallory Ltd', 'lead', '[]', '{}', now(), now(), 1)",
    "UPDATE customer SET stage = 'won'",
    "UPDATE customer SET deleted_at = now()",
    "DELETE FROM customer",
    "UPDATE users SET role = 'admin' WHERE handle = 'bob'",
    "UPDATE users SET active = true",
    "INSERT INTO crm_member (login, handle) VALUES (session_user, 'alice')",
    "UPDATE crm_server SET settings = '{\"max_text\": 1}'",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
    "UPDATE audit_event SET actor = 'alice'",
    "INSERT INTO attachment_blob (sha256, content) VALUES (repeat('a', 64), 'x')",
    "CREATE TABLE customer_copy AS SELECT 1",
])
def test_a_member_writes_nothing_directly(team, acme, postgres, statement):
    with as_member(postgres, "bob") as bob:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(statement)


def push_as(conn, *, events=(), writes=None, entries=()) -> None:
    """Call the shared database's push function the way a modified client could."""
    conn.execute(
        "SELECT crm_push(NULL, %s, %s, %s, %s, %s)",
        (Jsonb(list(events)), Jsonb(writes or {}), Jsonb(list(entries)), [], []),
    )


def shared_row(conn, table: str, record_id: str) -> dict:
    columns = ", ".join(f'"{c}"' for c in readable(conn, table))
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(f"SELECT {columns} FROM {table} WHERE id = %s", (record_id,)).fetchone()


def event(actor: str, **fields) -> dict:
    return {
        "id": new_id(), "at": "2020-01-01T00:00:00+00:00", "actor": actor,
        "action": "note.create", "entity": "note", "entity_id": None, "customer_id": None,
        "changes": {}, "detail": {}, **fields,
    }


def test_an_event_in_another_members_name_is_refused(team, acme, postgres):
    with as_member(postgres, "bob") as bob:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="members push their own"):
            push_as(bob, events=[event("alice")])


def test_the_server_stamps_its_own_time_and_the_login_beside_the_clients(team, acme, postgres):
    with as_member(postgres, "bob") as bob:
        mine = event("bob")
        push_as(bob, events=[mine])
        at, server_at, login = bob.execute(
            "SELECT at, server_at, login FROM audit_event WHERE id = %s", (mine["id"],)
        ).fetchone()
        now = bob.execute("SELECT now()").fetchone()[0]
    assert at.year == 2020  # the client's own claim, kept beside
    assert abs((now - server_at).total_seconds()) < 60
    assert login == login_for(schema_of(postgres.url), "bob")


def test_a_member_cannot_change_back_date_or_delete_a_customer_they_may_not(team, postgres):
    alice = team["alice"]
    ref = alice.ok("customer", "add", "Globex", "--city", "Shanghai")  # alice's; bob no role
    alice.sync()
    customer_id = postgres.value("SELECT id FROM customer WHERE name = 'Globex'")
    with as_member(postgres, "bob") as bob:
        row = shared_row(bob, "customer", customer_id)
        row = json.loads(json.dumps(row, default=str))
        for change in ({"city": "Hangzhou"}, {"deleted_at": "2020-01-01T00:00:00+00:00"},
                       {"owner": "bob"}, {"merged_into": customer_id}):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="bob may not"):
                push_as(bob, writes={"customer": [{**row, **change}]})
        # the bookkeeping a client sends is not taken: a new record gets the server's times
        new = {**row, "id": new_id(), "name": "Backdated", "created_at": "2030-01-01T00:00:00Z",
               "updated_at": "2001-01-01T00:00:00Z", "created_by": "alice", "updated_by": "alice"}
        push_as(bob, writes={"customer": [new]})
        stored = shared_row(bob, "customer", new["id"])
        now = bob.execute("SELECT now()").fetchone()[0]
    assert stored["created_at"].year < 2030 and stored["updated_at"].year > 2001
    assert abs((now - stored["updated_at"]).total_seconds()) < 60
    assert (stored["created_by"], stored["updated_by"]) == ("bob", "bob")
    assert postgres.value("SELECT city FROM customer WHERE id = %s", customer_id) == "Shanghai"
    assert alice.ok("customer", "show", ref, "--format", "json")


def test_a_member_cannot_promote_themselves_or_add_users(team, postgres):
    with as_member(postgres, "bob") as bob:
        me = json.loads(json.dumps(shared_row(bob, "users", bob.execute(
            "SELECT id FROM users WHERE handle = 'bob'").fetchone()[0]), default=str))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only an admin"):
            push_as(bob, writes={"user": [{**me, "role": "admin"}]})
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only an admin"):
            push_as(bob, writes={"user": [{**me, "id": new_id(), "handle": "mallory"}]})
    assert postgres.value("SELECT role FROM users WHERE handle = 'bob'") == "member"


def test_values_outside_the_data_dictionary_are_refused_for_everyone(team, acme, postgres):
    customer_id = postgres.value("SELECT id FROM customer")
    with as_member(postgres, "alice") as alice:  # an admin, with a modified client
        row = json.loads(json.dumps(shared_row(alice, "customer", customer_id), default=str))
        for change in ({"stage": "bribed"}, {"level": "Z"}, {"name": " "},
                       {"contract_amount": "-100"}, {"requirement": "x" * 20_001}):
            with pytest.raises((psycopg.errors.CheckViolation, psycopg.errors.StringDataRightTruncation)):
                push_as(alice, writes={"customer": [{**row, **change}]})


def test_the_audit_trail_cannot_be_changed_or_removed_even_by_the_owner(team, acme, postgres):
    for statement in ("UPDATE audit_event SET actor = 'mallory'", "DELETE FROM audit_event",
                      "TRUNCATE audit_event"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            postgres.run(statement)


@pytest.mark.parametrize("lock", [
    "pg_advisory_lock(1)", "pg_advisory_xact_lock(1)", "pg_try_advisory_lock(1)",
    "pg_advisory_lock_shared(1)", "pg_try_advisory_xact_lock(1, 2)",
])
def test_no_member_can_hold_the_teams_lock(team, postgres, lock):
    with as_member(postgres, "carol") as carol:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            carol.execute(f"SELECT {lock}")


def test_a_deactivated_login_cannot_connect_and_its_sessions_end(crm, team, postgres, shared):
    with as_member(postgres, "bob") as bob:
        result = crm("server", "member", "deactivate", "bob", "--transfer-to", "alice",
                     "--url", shared)
        assert result.exit_code == 0, result.output
        with pytest.raises(psycopg.OperationalError):
            bob.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        with as_member(postgres, "bob"):
            pass
    assert crm("server", "member", "reactivate", "bob", "--url", shared).exit_code == 0
    with as_member(postgres, "bob") as bob:
        assert bob.execute("SELECT (crm_actor()).active").fetchone()[0] is True


def test_only_cleared_readers_reveal_and_every_reveal_is_recorded_first(team, secret_acme, postgres):
    with as_member(postgres, "bob") as bob:  # a member of service: cleared for nothing
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="bob may not read"):
            bob.execute("SELECT crm_reveal(%s, %s)", (secret_acme, ["contract_amount"]))
    with as_member(postgres, "carol") as carol:  # a manager: contract amounts only
        shown = carol.execute(
            "SELECT crm_reveal(%s, %s)", (secret_acme, ["contract_amount"])
        ).fetchone()[0]
        assert shown == {"contract_amount": "987654.32"}
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="carol may not read"):
            carol.execute("SELECT crm_reveal(%s, %s)", (secret_acme, ["id_number"]))
    with as_member(postgres, "alice") as alice:
        shown = alice.execute("SELECT crm_reveal(%s, %s)", (secret_acme, list(SECRETS))).fetchone()[0]
        assert shown["id_number"] == SECRETS["id_number"]
    reveals = postgres.rows(
        "SELECT actor, detail, login FROM audit_event WHERE action = 'customer.reveal' "
        "ORDER BY server_seq"
    )
    assert [(actor, detail["fields"]) for actor, detail, _login in reveals] == [
        ("carol", ["contract_amount"]), ("alice", list(SECRETS)),
    ]


def test_a_member_cannot_sync_as_someone_else_through_crm_either(team):
    impostor = team["bob"]("--as", "alice", "sync")
    assert impostor.exit_code == 6
    assert "this login is bob's" in impostor.stderr


def test_a_pushed_sensitive_change_reaches_the_history_as_restricted(team, acme, postgres):
    alice = team["alice"]
    alice.ok("customer", "edit", acme, "--set", "contract_amount=500000")
    alice.sync()
    changes = postgres.value(
        "SELECT changes FROM audit_event WHERE action = 'customer.update' ORDER BY server_seq "
        "DESC LIMIT 1"
    )
    assert changes["contract_amount"][1] == "restricted"
    assert "500000" not in json.dumps(postgres.rows("SELECT changes FROM audit_event"))


def test_member_logins_get_statement_lock_and_idle_timeouts(team, postgres):
    with as_member(postgres, "bob") as bob:
        shown = {name: bob.execute(f"SHOW {name}").fetchone()[0] for name in (
            "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")}
    assert shown == {
        "statement_timeout": "2min", "lock_timeout": "30s",
        "idle_in_transaction_session_timeout": "1min",
    }


def test_an_attachment_over_the_teams_limit_is_refused(team, acme, postgres):
    postgres.run("UPDATE crm_server SET settings = settings || '{\"max_attachment_bytes\": 10}'")
    note_id = new_id()
    with as_member(postgres, "bob") as bob:
        note = {"id": note_id, "customer_id": postgres.value("SELECT id FROM customer"),
                "kind": "internal", "body": "see file", "author": "bob",
                "at": "2026-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z", "version": 1}
        attachment = {"id": new_id(), "note_id": note_id, "filename": "big.bin",
                      "sha256": "a" * 64, "size": 11, "created_at": "2026-01-01T00:00:00Z",
                      "updated_at": "2026-01-01T00:00:00Z", "version": 1}
        with pytest.raises(psycopg.errors.StringDataRightTruncation, match="larger than 10 bytes"):
            push_as(bob, writes={"note": [note], "attachment": [attachment]})
        push_as(bob, writes={"note": [note]})  # the note alone is fine


def test_an_admins_deactivation_reaching_the_server_ends_the_login_too(team, postgres):
    alice = team["alice"]
    alice.ok("user", "deactivate", "carol", "--transfer-to", "alice")
    with as_member(postgres, "carol"):
        pass  # still in: the deactivation has not reached the shared database
    alice.sync()
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        with as_member(postgres, "carol"):
            pass
