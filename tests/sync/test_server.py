"""`crm server init` and `crm server status`: preparing and inspecting the shared database."""

import json

from crmcli.sync import schema
from crmcli.sync.tables import EVENTS, RECORDS
from helpers import schema_version


def test_server_init_prepares_an_empty_database_and_running_it_again_changes_nothing(
    crm, blank_shared, postgres
):
    first = crm("server", "init", "--url", blank_shared)
    assert first.exit_code == 0, first.output
    assert "prepared" in first.stderr and f"schema version {schema.LATEST}" in first.stderr
    server_id = postgres.value("SELECT server_id FROM crm_server")

    again = crm("server", "init", "--url", blank_shared)
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.stderr
    assert postgres.value("SELECT server_id FROM crm_server") == server_id
    assert postgres.value("SELECT schema_version FROM crm_server") == schema.LATEST


def test_server_init_upgrades_a_team_database_made_by_an_earlier_version(
    crm, blank_shared, postgres
):
    postgres.run(schema.MIGRATIONS[0])
    postgres.run("INSERT INTO crm_server (id, server_id, schema_version) VALUES (1, 'x', 1)")
    result = crm("server", "init", "--url", blank_shared)
    assert result.exit_code == 0, result.output
    assert f"from schema version 1 to {schema.LATEST}" in result.stderr
    assert postgres.value("SELECT schema_version FROM crm_server") == schema.LATEST
    assert postgres.value("SELECT server_id FROM crm_server") == "x"


def test_server_init_refuses_a_database_that_holds_unrelated_tables(crm, blank_shared, postgres):
    postgres.run("CREATE TABLE invoices (id int)")
    result = crm("server", "init", "--url", blank_shared)
    assert result.exit_code == 2
    assert "not crmcli's (invoices)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    tables = postgres.rows(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    )
    assert tables == [("invoices",)]


def test_server_status_shows_the_schema_version_the_members_and_the_newest_change(crm, team, shared):
    team["bob"].ok("customer", "add", "Acme Trading")
    team["bob"].sync()
    result = crm("server", "status", "--url", shared, "--format", "json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["schema_version"] == schema.LATEST
    assert [(m["handle"], m["role"]) for m in status["members"]] == [
        ("alice", "admin"), ("bob", "member"), ("carol", "manager")
    ]
    assert status["newest_change"]["actor"] == "bob"
    assert status["newest_change"]["action"] == "assignment.create"
    assert status["customers"] == 1

    table = team["alice"]("server", "status")  # the linked database by default
    assert table.exit_code == 0, table.output
    assert "schema version" in table.stdout and "carol" in table.stdout


def test_sync_with_an_unprepared_shared_database_says_to_run_server_init(crm, tmp_path, blank_shared):
    assert crm("init", "--user", "alice", "--name", "Alice").exit_code == 0
    assert crm("remote", "set", blank_shared).exit_code == 0
    result = crm("sync")
    assert result.exit_code == 2
    assert "crm server init" in result.stderr


def test_the_shared_schema_has_the_columns_of_the_models(postgres, crm, blank_shared):
    assert crm("server", "init", "--url", blank_shared).exit_code == 0
    for synced in (*RECORDS, EVENTS):
        found = [row[0] for row in postgres.rows(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            synced.name,
        )]
        shared_only = {
            "customer": ["contract_amount", "id_number", "bank_account"],  # never travel
            "audit_event": ["server_at", "login", "prev_hash", "hash"],  # the evidence
        }.get(synced.name, [])
        assert sorted(found) == sorted([*synced.columns, "server_seq", *shared_only]), synced.name


def test_upgrading_a_version_3_team_database_rewrites_its_checks(
    crm, blank_shared, postgres
):
    from crmcli.sync import security

    with schema_version(3) as earlier:  # what the crmcli of schema version 3 made
        earlier.setattr(security, "FUNCTIONS", tuple(
            f for f in security.FUNCTIONS if not f.startswith(("crm_masks", "crm_unreadable"))))
        assert crm("server", "init", "--url", blank_shared).exit_code == 0
    postgres.run(  # as an earlier crmcli left it: no rule on acknowledgements
        "CREATE OR REPLACE FUNCTION crm_check_assignment(who crm_who, item jsonb, "
        "adding jsonb, max_text bigint) RETURNS void LANGUAGE plpgsql AS $$ BEGIN END $$")
    result = crm("server", "init", "--url", blank_shared)
    assert result.exit_code == 0, result.output
    assert f"from schema version 3 to {schema.LATEST}" in result.stderr
    body = postgres.value(
        "SELECT prosrc FROM pg_proc WHERE proname = 'crm_check_assignment' "
        "AND pronamespace = current_schema()::regnamespace")
    assert "only the user it was given to does" in body


def test_upgrading_a_version_4_team_database_lets_phones_keep_their_extensions(
    crm, blank_shared, postgres
):
    with schema_version(4):  # what the crmcli of schema version 4 made
        assert crm("server", "init", "--url", blank_shared).exit_code == 0
    rule = ("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname = 'customer_phone_is_e164' AND connamespace = current_schema()::regnamespace")
    assert ";ext" not in postgres.value(rule)
    result = crm("server", "init", "--url", blank_shared)
    assert result.exit_code == 0, result.output
    assert f"from schema version 4 to {schema.LATEST}" in result.stderr
    assert ";ext=" in postgres.value(rule)
