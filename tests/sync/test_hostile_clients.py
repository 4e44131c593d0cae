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
from crmcli.sync.judge_writes import TABLE_OF
from helpers import as_login, login_for

SECRETS = {
    "contract_amount": "987654.32",
    "id_number": "11010519491231002X",
    "bank_account": "6222020200112233446",
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
    alice.ok("field", "add", "salary", "--type", "text", "--sensitive")  # custom, sensitive
    alice.ok("customer", "edit", secret_acme, "--set", "salary=SALARY-31415")
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
        for value in (*SECRETS.values(), "SALARY-31415"):
            assert not any(value in row for row in seen), value
        for name in SECRETS:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bob.execute(f"SELECT {name} FROM customer")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("SELECT * FROM crm_member")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("SELECT * FROM customer_secret")  # the custom sensitive values
        assert bob.execute("SELECT * FROM crm_masks(NULL)").fetchall() == []  # reads none
        assert bob.execute("SELECT crm_unreadable()").fetchone()[0] == [
            "contract_amount", "id_number", "bank_account", "salary"]
    with as_member(postgres, "carol") as carol:  # a manager reads the amount, and only it
        masks = carol.execute("SELECT customer_id, field, stand_in FROM crm_masks(NULL)")
        assert masks.fetchall() == [(secret_acme, "contract_amount", "100000")]


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


def pushable(conn, table: str, record_id: str) -> dict:
    """A shared row as a modified client sends it back (its values as JSON)."""
    return json.loads(json.dumps(shared_row(conn, table, record_id), default=str))


def refused(conn, entity: str, row: dict, match: str) -> None:
    """PostgreSQL refuses pushing `row` (a record of kind `entity`), naming the rule, and
    the shared row is as it was (still absent, for a new one)."""
    table = TABLE_OF[entity]
    before = shared_row(conn, table, row["id"])
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=match):
        push_as(conn, writes={entity: [row]})
    assert shared_row(conn, table, row["id"]) == before


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
        row = pushable(bob, "customer", customer_id)
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
        me = pushable(bob, "users", bob.execute(
            "SELECT id FROM users WHERE handle = 'bob'").fetchone()[0])
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only an admin"):
            push_as(bob, writes={"user": [{**me, "role": "admin"}]})
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only an admin"):
            push_as(bob, writes={"user": [{**me, "id": new_id(), "handle": "mallory"}]})
    assert postgres.value("SELECT role FROM users WHERE handle = 'bob'") == "member"


@pytest.mark.parametrize(("change", "refused"), [
    ({"phone": "13800138000"}, "customer_phone_is_e164"),
    ({"phone": "+861065521234 x8001"}, "customer_phone_is_e164"),
    ({"phone": "+861065521234;ext="}, "customer_phone_is_e164"),
    ({"phone": "+861065521234;ext=8001;ext=2"}, "customer_phone_is_e164"),
    ({"phone": "+861065521234;ext=12345678901"}, "customer_phone_is_e164"),
    ({"email": "Bob@Example.com"}, "customer_email_is_an_address"),
    ({"sla": 0}, "customer_sla_is_a_duration"),
    ({"tags": {"vip": True}}, "customer_tags_are_a_list"),
])
def test_a_member_cannot_store_a_value_outside_its_normal_form(team, acme, postgres, change, refused):
    customer_id = postgres.value("SELECT id FROM customer")
    with as_member(postgres, "bob") as bob:  # holds a role on Acme: may change its fields
        row = pushable(bob, "customer", customer_id)
        with pytest.raises(psycopg.errors.CheckViolation, match=refused):
            push_as(bob, writes={"customer": [{**row, **change}]})
        assert pushable(bob, "customer", customer_id) == row


def test_a_phone_with_its_extension_is_stored_for_a_member(team, acme, postgres):
    customer_id = postgres.value("SELECT id FROM customer")
    with as_member(postgres, "bob") as bob:
        row = pushable(bob, "customer", customer_id)
        push_as(bob, writes={"customer": [{**row, "phone": "+861065521234;ext=8001"}]})
    assert postgres.value("SELECT phone FROM customer") == "+861065521234;ext=8001"


def test_values_outside_the_data_dictionary_are_refused_for_everyone(team, acme, postgres):
    customer_id = postgres.value("SELECT id FROM customer")
    with as_member(postgres, "alice") as alice:  # an admin, with a modified client
        row = pushable(alice, "customer", customer_id)
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


NOW = "2026-01-01T00:00:00+00:00"


@pytest.fixture
def globex(team, postgres) -> str:
    """alice's customer Globex, with her note and a task she gave carol; bob holds no role
    on it, carol only the task (she manages marketing, alice is in sales)."""
    alice = team["alice"]
    alice.ok("customer", "add", "Globex", "--city", "Shanghai")
    alice.ok("note", "add", "Globex", "pricing call")
    alice.ok("task", "add", "Globex", "send the quote", "--assignee", "carol")
    alice.sync()
    return postgres.value("SELECT id FROM customer WHERE name = 'Globex'")


MAY_NOT_CHANGE_GLOBEX = (
    r"bob may not change customer \w+ \(Globex\): its fields are changed by its owner \(alice\)"
)
MAY_NOT_CHANGE_ALICES_NOTE = (
    r"bob may not change a note on customer \w+ \(Globex\): a note is changed or deleted only "
    r"by its author \(alice\), the customer's owner \(alice\), managers of sales and admins"
)


def test_a_task_is_changed_by_its_assignee_not_by_a_member_without_rights(globex, postgres):
    task_id = postgres.value("SELECT id FROM task WHERE customer_id = %s", globex)
    with as_member(postgres, "bob") as bob:
        task = pushable(bob, "task", task_id)
        for change in ({"title": "forget it"}, {"status": "cancelled"}, {"due": NOW},
                       {"assignee": "bob"}):
            refused(bob, "task", {**task, **change}, MAY_NOT_CHANGE_GLOBEX)
    with as_member(postgres, "carol") as carol:  # the assignee, and nothing else of Globex
        push_as(carol, writes={"task": [{**task, "status": "done", "title": "quote sent"}]})
    assert postgres.rows("SELECT status, title FROM task WHERE id = %s", task_id) == [
        ("done", "quote sent")]


def test_a_note_is_changed_by_its_author_not_by_a_member_without_rights(globex, postgres):
    note_id = postgres.value("SELECT id FROM note WHERE customer_id = %s", globex)
    with as_member(postgres, "bob") as bob:
        note = pushable(bob, "note", note_id)
        for change in ({"body": "no call"}, {"author": "bob"}, {"deleted_at": NOW}):
            refused(bob, "note", {**note, **change}, MAY_NOT_CHANGE_ALICES_NOTE)
    assert postgres.rows("SELECT body, author, deleted_at FROM note WHERE id = %s", note_id) == [
        ("pricing call", "alice", None)]


@pytest.mark.parametrize("role", ["owner", "service"])
def test_a_member_without_rights_cannot_take_a_role_on_a_customer(globex, postgres, role):
    held = "SELECT \"user\", role FROM assignment WHERE customer_id = %s AND until IS NULL"
    before = postgres.rows(held, globex)
    taken = {"id": new_id(), "customer_id": globex, "user": "bob", "role": role,
             "assigned_by": "bob", "reason": None, "since": NOW, "until": None,
             "acknowledged_at": NOW, "created_at": NOW, "updated_at": NOW, "version": 1}
    with as_member(postgres, "bob") as bob:
        refused(bob, "assignment", taken, MAY_NOT_CHANGE_GLOBEX)
    assert postgres.rows(held, globex) == before


def test_only_the_holder_acknowledges_an_assignment(acme, postgres):
    carols = postgres.value("SELECT id FROM assignment WHERE \"user\" = 'carol'")
    with as_member(postgres, "bob") as bob:  # holds a role on Acme: may change it
        row = pushable(bob, "assignment", carols)
        assert row["acknowledged_at"] is None
        rule = "bob may not acknowledge carol's assignment: only the user it was given to does"
        refused(bob, "assignment", {**row, "acknowledged_at": NOW}, rule)
        given = {**row, "id": new_id(), "role": "product", "acknowledged_at": NOW}  # a new one
        refused(bob, "assignment", given, rule)
    with as_member(postgres, "carol") as carol:
        push_as(carol, writes={"assignment": [{**row, "acknowledged_at": NOW}]})
    assert postgres.value("SELECT acknowledged_at FROM assignment WHERE id = %s", carols)


def test_a_member_cannot_declare_or_change_custom_fields(team, postgres):
    team["alice"].ok("field", "add", "budget", "--type", "decimal")
    team["alice"].sync()
    budget = postgres.value("SELECT id FROM field_def WHERE name = 'budget'")
    rule = "bob may not declare or change custom fields: only an admin or a manager declares"
    with as_member(postgres, "bob") as bob:
        field = pushable(bob, "field_def", budget)
        refused(bob, "field_def", {**field, "type": "text"}, rule)
        refused(bob, "field_def", {**field, "id": new_id(), "name": "bribes"}, rule)
    assert postgres.rows("SELECT name, type FROM field_def") == [("budget", "decimal")]


OTHER_SECRETS = {
    "contract_amount": "1000.00",
    "id_number": "110105198001010016",
    "bank_account": "6222020200112233453",
}


@pytest.mark.parametrize("field", list(SECRETS))
def test_a_role_holder_writes_no_sensitive_field_they_do_not_read(secret_acme, postgres, field):
    with as_member(postgres, "bob") as bob:  # a service role on Acme; reads none of them
        row = pushable(bob, "customer", secret_acme)
        # another value, or the stored one guessed: refused alike, so a push confirms nothing
        for value in (OTHER_SECRETS[field], SECRETS[field]):
            refused(bob, "customer", {**row, field: value},
                    f"bob may not write {field}: only its readers write it")
        push_as(bob, writes={"customer": [{**row, "city": "Hangzhou"}]})  # his to change
    assert postgres.rows(
        "SELECT city, contract_amount::text, id_number, bank_account FROM customer"
    ) == [("Hangzhou", *SECRETS.values())]


@pytest.mark.parametrize("handle", ["bob", "carol"])  # its owner; a manager of marketing
def test_only_its_owners_manager_or_an_admin_restores_a_customer(team, postgres, handle):
    team["bob"].ok("customer", "add", "Initech")
    team["bob"].sync()
    team["alice"].sync()
    team["alice"].ok("customer", "delete", "Initech")
    team["alice"].sync()
    initech = postgres.value("SELECT id FROM customer WHERE name = 'Initech'")
    with as_member(postgres, handle) as member:
        row = pushable(member, "customer", initech)
        refused(member, "customer", {**row, "deleted_at": None},
                rf"{handle} may not restore customer \w+ \(Initech\): "
                "only managers of service and admins delete, merge or restore it")
    assert postgres.value("SELECT deleted_at FROM customer WHERE id = %s", initech)


def test_a_task_moves_to_another_customer_only_in_a_merge_and_keeps_who_wrote_it(
    globex, acme, postgres
):
    task_id = postgres.value("SELECT id FROM task WHERE customer_id = %s", globex)
    acme_id = postgres.value("SELECT id FROM customer WHERE name = 'Acme Trading'")
    with as_member(postgres, "carol") as carol:  # its assignee, with a role on Acme too
        task = pushable(carol, "task", task_id)
        refused(carol, "task", {**task, "customer_id": acme_id},
                r"carol may not delete or merge customer \w+ \(Globex\)")
        push_as(carol, writes={"task": [{**task, "created_by": "carol", "title": "mine"}]})
    assert postgres.rows("SELECT created_by, title FROM task WHERE id = %s", task_id) == [
        ("alice", "mine")]


def test_a_note_keeps_its_author_whoever_changes_it(acme, team, postgres):
    team["bob"].ok("note", "add", acme, "called them")
    team["bob"].sync()
    note_id = postgres.value("SELECT id FROM note WHERE author = 'bob'")
    with as_member(postgres, "bob") as bob:
        note = pushable(bob, "note", note_id)
        push_as(bob, writes={"note": [{**note, "author": "carol", "body": "called them twice"}]})
    assert postgres.rows("SELECT author, body FROM note WHERE id = %s", note_id) == [
        ("bob", "called them twice")]


def test_a_non_reader_cannot_clear_a_sensitive_value_either(secret_acme, postgres):
    with as_member(postgres, "bob") as bob:  # a role holder on Acme, no reader
        customer = pushable(bob, "customer", secret_acme)
        refused(bob, "customer", {**customer, "id_number": None}, "bob may not write id_number")
    assert postgres.value("SELECT id_number FROM customer") == SECRETS["id_number"]


def test_a_push_left_open_loses_the_teams_lock_to_the_next_push(team, acme, postgres):
    import time

    from crmcli.sync.judge_lock import IDLE_SECONDS

    with as_member(postgres, "bob") as bob:
        bob.execute("SET idle_in_transaction_session_timeout = 0")
        bob.execute("BEGIN")
        push_as(bob)  # holds the lock, and stays idle
        time.sleep(IDLE_SECONDS + 1)
        team["alice"].ok("customer", "edit", acme, "--city", "Hangzhou")
        assert team["alice"].sync()["pushed"] == 1  # not kept waiting
        with pytest.raises(psycopg.OperationalError):
            bob.execute("SELECT 1")  # his session was ended
    assert postgres.value("SELECT city FROM customer") == "Hangzhou"


@pytest.fixture
def acme_entry(team, acme, postgres) -> str:
    """An open conflict entry about Acme's city: bob's edit reached the shared database
    first, alice's did not (its actor alice). bob holds a role on Acme."""
    team["bob"].ok("customer", "edit", acme, "--city", "Hangzhou")
    team["bob"].sync()
    team["alice"].ok("customer", "edit", acme, "--city", "Suzhou")
    assert team["alice"].sync()["conflicts"] == 1
    return postgres.value("SELECT id FROM conflict")


ENTRY = "SELECT kind, field, mine, theirs, actor, resolution, resolved_by FROM conflict WHERE id = %s"


def test_what_a_conflict_entry_keeps_never_changes(acme_entry, postgres):
    before = postgres.rows(ENTRY, acme_entry)
    assert before == [("edit", "city", "Suzhou", "Hangzhou", "alice", None, None)]
    rule = ("bob may not change conflict entry \\w+: what a conflict entry keeps never "
            "changes; only its resolution is written")
    with as_member(postgres, "bob") as bob:  # may change Acme: it is not about that
        entry = pushable(bob, "conflict", acme_entry)
        for change in ({"mine": "lost", "actor": "alice"}, {"theirs": "Beijing"},
                       {"actor": "bob"}, {"field": "stage"}, {"deleted_at": NOW}):
            refused(bob, "conflict", {**entry, **change}, rule)
    with as_member(postgres, "alice") as alice:  # an admin neither
        refused(alice, "conflict", {**entry, "mine": "lost"}, rule.replace("bob", "alice"))
    assert postgres.rows(ENTRY, acme_entry) == before


def test_a_resolution_is_stamped_with_its_pusher_and_the_first_one_stands(acme_entry, postgres):
    with as_member(postgres, "bob") as bob:
        entry = pushable(bob, "conflict", acme_entry)
        push_as(bob, writes={"conflict": [
            {**entry, "resolution": "theirs", "resolved_by": "alice", "resolved_at": NOW}]})
    assert postgres.rows(ENTRY, acme_entry) == [
        ("edit", "city", "Suzhou", "Hangzhou", "alice", "theirs", "bob")]
    with as_member(postgres, "carol") as carol:
        again = {**entry, "resolution": "mine", "resolved_by": "carol", "resolved_at": NOW}
        refused(carol, "conflict", again,
                "carol may not resolve conflict entry \\w+ again: bob resolved it first")
    assert postgres.value("SELECT resolved_by FROM conflict") == "bob"


@pytest.fixture
def globex_entry(team, globex, postgres) -> str:
    """An open conflict entry about the status of alice's task on Globex, assigned to
    carol: alice's "done" reached the shared database first, carol's "cancelled" did not.
    bob holds no role on Globex."""
    alice, carol = team["alice"], team["carol"]
    carol.sync()
    task = postgres.value("SELECT id FROM task WHERE customer_id = %s", globex)
    alice.ok("task", "done", task[-8:])
    alice.sync()
    carol.ok("task", "cancel", task[-8:])
    assert carol.sync()["conflicts"] == 1
    return postgres.value("SELECT id FROM conflict")


def test_only_who_may_change_what_a_conflict_is_about_resolves_it(globex_entry, postgres):
    with as_member(postgres, "bob") as bob:
        entry = pushable(bob, "conflict", globex_entry)
        for resolution in ("theirs", "mine"):
            refused(bob, "conflict", {**entry, "resolution": resolution, "resolved_by": "alice",
                                      "resolved_at": NOW}, MAY_NOT_CHANGE_GLOBEX)
    assert postgres.rows(ENTRY, globex_entry) == [
        ("edit", "status", "cancelled", "done", "carol", None, None)]
    with as_member(postgres, "carol") as carol:  # the task's assignee
        push_as(carol, writes={"conflict": [{**entry, "resolution": "theirs",
                                             "resolved_at": NOW}]})
    assert postgres.rows(ENTRY, globex_entry) == [
        ("edit", "status", "cancelled", "done", "carol", "theirs", "carol")]
    globex = postgres.value("SELECT customer_id FROM conflict WHERE id = %s", globex_entry)
    with as_member(postgres, "bob") as bob:  # his own change he may give up, and only that
        his = new_entry(globex, "bob")
        push_as(bob, entries=[his])
        refused(bob, "conflict", {**his, "resolution": "mine", "resolved_at": NOW},
                MAY_NOT_CHANGE_GLOBEX)
        push_as(bob, writes={"conflict": [{**his, "resolution": "theirs", "resolved_at": NOW}]})
    assert postgres.rows(ENTRY, his["id"]) == [
        ("edit", "stage", "lost", "won", "bob", "theirs", "bob")]


def new_entry(customer_id: str, actor: str, **fields) -> dict:
    return {"id": new_id(), "kind": "edit", "entity": "customer", "entity_id": customer_id,
            "customer_id": customer_id, "field": "stage", "base": "lead", "mine": "lost",
            "theirs": "won", "actor": actor, "made_at": NOW, "event_id": new_id(),
            "resolution": None, "resolved_by": None, "resolved_at": None, "created_at": NOW,
            "updated_at": NOW, "version": 1, **fields}


def test_a_new_conflict_entry_keeps_the_pushers_own_change(acme, postgres):
    acme_id = postgres.value("SELECT id FROM customer")
    forged = new_entry(acme_id, "alice")
    rule = "bob may not keep a change by alice in a conflict entry: members keep their own"
    with as_member(postgres, "bob") as bob:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=rule):
            push_as(bob, entries=[forged])
        refused(bob, "conflict", forged, rule)  # as a record of its own, neither
        closed = new_entry(acme_id, "bob", resolution="theirs", resolved_by="bob",
                           resolved_at=NOW)
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match="bob may not push a conflict entry resolved already"):
            push_as(bob, entries=[closed])
        assert postgres.value("SELECT count(*) FROM conflict") == 0
        own = new_entry(acme_id, "bob")
        push_as(bob, entries=[own])
    with as_member(postgres, "alice") as alice:  # an admin pushes others' work
        push_as(alice, entries=[new_entry(acme_id, "carol")])
    assert sorted(postgres.rows("SELECT actor, resolution FROM conflict")) == [
        ("bob", None), ("carol", None)]


def test_a_new_conflict_entry_needs_its_customer_in_sight(crm, shared, globex, acme, postgres):
    assert crm("server", "set", "visibility", "own", "--url", shared).exit_code == 0
    acme_id = postgres.value("SELECT id FROM customer WHERE name = 'Acme Trading'")
    with as_member(postgres, "bob") as bob:
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match=r"bob may not add to customer \w+: with visibility = own"):
            push_as(bob, entries=[new_entry(globex, "bob")])
        push_as(bob, entries=[new_entry(acme_id, "bob")])
    assert postgres.rows("SELECT customer_id FROM conflict") == [(acme_id,)]


def fake_owner(customer_id: str, reason: str) -> dict:
    return {"id": new_id(), "customer_id": customer_id, "user": "bob", "role": "owner",
            "assigned_by": "alice", "reason": reason, "since": "2020-01-01T00:00:00+00:00",
            "until": "2026-01-01T00:00:00+00:00", "acknowledged_at": None,
            "created_at": NOW, "updated_at": NOW, "version": 1}


def test_a_role_arriving_ended_cannot_forge_a_customers_history(team, globex, acme, postgres):
    roles = ("SELECT assigned_by, reason, since, until, since = now() AND until = now() "
             "FROM assignment WHERE id = %s")
    with as_member(postgres, "bob") as bob:  # no role on Globex
        bob.execute("BEGIN")
        forged = fake_owner(globex, "fake history")
        push_as(bob, writes={"assignment": [forged]})
        [(by, reason, since, until, stamped_now)] = bob.execute(
            roles, (forged["id"],)).fetchall()
        bob.execute("COMMIT")
    assert (by, reason, stamped_now) == ("bob", "fake history", True)
    assert since.year > 2020 and since == until
    shown = team["alice"].sync() and team["alice"].ok("customer", "show", "Globex")
    assert "2020-01-01" not in shown
    with as_member(postgres, "alice") as alice:  # an admin's is taken as sent
        kept = fake_owner(globex, "imported")
        push_as(alice, writes={"assignment": [kept]})
    with as_member(postgres, "bob") as bob:  # and so is one on a customer bob may change
        own = {**fake_owner(acme, "his own"), "assigned_by": "bob"}
        own["customer_id"] = postgres.value("SELECT id FROM customer WHERE name = 'Acme Trading'")
        push_as(bob, writes={"assignment": [own]})
    for taken, by in ((kept, "alice"), (own, "bob")):
        [(assigned_by, _reason, since, until, _now)] = postgres.rows(roles, taken["id"])
        assert (assigned_by, since.year, until.year) == (by, 2020, 2026)


def test_an_honest_resolution_its_resolver_lost_the_right_to_waits_for_someone_entitled(
    team, acme_entry, postgres
):
    alice, bob = team["alice"], team["bob"]
    bob.sync()
    bob.ok("conflicts", "resolve", acme_entry[-8:], "--keep-current")  # his role: he may
    alice.ok("assign", "Acme Trading", "--to", "alice", "--role", "service")  # bob's ends
    alice.sync()
    assert bob.sync()["pushed"] == 1  # neither refused nor stuck: the entry stays open
    assert postgres.rows(ENTRY, acme_entry) == [
        ("edit", "city", "Suzhou", "Hangzhou", "alice", None, None)]
    refused_here = bob("conflicts", "resolve", acme_entry[-8:], "--keep-current")
    assert refused_here.exit_code == 6, refused_here.output
    assert "bob may not change customer" in refused_here.stderr
    alice.ok("conflicts", "resolve", acme_entry[-8:], "--keep-current")
    alice.sync()
    assert postgres.rows(ENTRY, acme_entry) == [
        ("edit", "city", "Suzhou", "Hangzhou", "alice", "theirs", "alice")]


def test_a_managers_deletion_keeps_the_edit_it_never_saw_in_its_editors_name(team, postgres):
    bob, carol = team["bob"], team["carol"]
    carol.ok("customer", "add", "Initech", "--city", "Shanghai")  # hers: marketing
    carol.ok("assign", "Initech", "--to", "bob", "--role", "service")
    carol.sync()
    bob.sync()
    bob.ok("customer", "edit", "Initech", "--city", "Hangzhou")
    bob.sync()
    carol.ok("customer", "delete", "Initech")  # carol never pulled bob's edit
    assert carol.sync()["conflicts"] == 1  # an entry in bob's name, pushed by a manager
    assert postgres.rows("SELECT kind, mine, actor FROM conflict") == [
        ("deleted", {"city": "Hangzhou"}, "bob")]
    initech = postgres.value("SELECT id FROM customer WHERE name = 'Initech'")
    with as_member(postgres, "carol") as conn:  # but not with values bob never wrote
        forged = {**new_entry(initech, "bob"), "kind": "deleted", "field": "city",
                  "base": {"city": "Shanghai"}, "mine": {"city": "Mallory Street"}}
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match="carol may not keep a change by bob in a conflict entry"):
            push_as(conn, entries=[forged])


def test_a_member_who_sets_the_sensitive_fields_setting_still_may_not_write_one(team, postgres):
    """`crm_sensitive_fields` keeps its answer for the transaction in a setting any session
    may set itself; a push clears it first, so a member who is no reader of
    contract_amount cannot make the shared database forget that it is sensitive."""
    from crmcli.ids import new_id

    new = {"id": new_id(), "name": "Forged", "stage": "lead", "tags": [], "extra": {},
           "owner": "bob", "contract_amount": "123456", "created_at": "2026-01-01T00:00:00Z",
           "updated_at": "2026-01-01T00:00:00Z", "version": 1}
    with as_member(postgres, "bob") as conn:
        conn.execute("SET crm.sensitive_fields = '{}'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match="bob may not write contract_amount"):
            push_as(conn, writes={"customer": [new]})
    assert postgres.value("SELECT count(*) FROM customer WHERE name = 'Forged'") == 0


@pytest.mark.parametrize("pusher", ["alice", "bob"])  # a reader of both fields, and not
def test_sensitive_values_in_a_pushed_event_are_stored_restricted(team, acme, postgres, pusher):
    """Schema v7 scrubs only the events whose changes name a sensitive field or `extra`
    (`judge.EVENTS_SCRUBBED`): a hand-made event carrying one, pushed through a member's
    own login, still keeps no value; one naming neither is stored as sent."""
    team["alice"].ok("field", "add", "salary", "--type", "int", "--sensitive")
    team["alice"].sync()
    customer_id = postgres.value("SELECT id FROM customer")
    about = {"action": "customer.update", "entity": "customer", "entity_id": customer_id,
             "customer_id": customer_id}
    amount = event(pusher, **about, changes={"contract_amount": [None, "777001"],
                                             "city": ["Shanghai", "Hangzhou"]})
    salary = event(pusher, **about, changes={"extra": [{}, {"salary": 777002}]})
    plain = event(pusher, **about, changes={"city": ["Hangzhou", "Suzhou"]})
    with as_member(postgres, pusher) as conn:
        push_as(conn, events=[amount, salary, plain])
    stored = dict(postgres.rows("SELECT id, changes FROM audit_event WHERE id = ANY(%s)",
                                [amount["id"], salary["id"], plain["id"]]))
    assert stored[amount["id"]] == {"contract_amount": [None, "restricted"],
                                    "city": ["Shanghai", "Hangzhou"]}
    assert stored[salary["id"]] == {"extra": [{}, {"salary": "restricted"}]}
    assert stored[plain["id"]] == plain["changes"]
    assert "77700" not in json.dumps(postgres.rows("SELECT changes FROM audit_event"))
