"""The stage history the funnel reads (repo/reports/stage_history.py): kept up to date as
customers are made, edited, imported, merged, deleted, restored and handed over, it holds
what one built from scratch out of the audit trail holds."""

from __future__ import annotations

import json

from helpers import add_customer, ok


def entries(database) -> list[tuple]:
    with database() as s:
        return [tuple(row) for row in s.connection().exec_driver_sql(
            "SELECT * FROM stage_entry ORDER BY seq").all()]


def built_from_scratch(database) -> list[tuple]:
    from crmcli.repo.reports import stage_history

    with database(write=True) as s:
        run = s.connection().exec_driver_sql
        run("DELETE FROM stage_entry")
        run("UPDATE stage_mark SET events = 0, customers = 0")
        stage_history.catch_up(s)
    return entries(database)


def funnel(crm, *options: str) -> dict[str, dict]:
    result = ok(crm("report", "funnel", "--format", "json", *options))
    return {row["stage"]: row for rows in json.loads(result.stdout).values() for row in rows}


def test_the_history_kept_up_as_things_happen_is_the_one_built_from_scratch(
        crm, team, database, tmp_path, at):
    at("2026-03-02 09:00")
    acme = add_customer(crm, "Acme", "--phone", "13800000001")
    globex = add_customer(crm, "Globex", "--stage", "qualified")
    funnel(crm)  # caught up here, then each change below is taken in by the next report
    at("2026-03-03 09:00")
    ok(crm("customer", "edit", acme, "--stage", "proposal"))
    copy = add_customer(crm, "Acme Copy", "--stage", "negotiation", "--allow-duplicate")
    ok(crm("customer", "merge", acme, copy))  # the copy's history counts no more
    assert funnel(crm)["negotiation"]["entered"] == 0
    at("2026-03-04 09:00")
    ok(crm("customer", "delete", globex))
    assert funnel(crm)["qualified"]["entered"] == 0
    ok(crm("customer", "restore", globex))
    assert funnel(crm)["qualified"]["entered"] == 1
    ok(crm("assign", globex, "--to", "bob"))
    assert funnel(crm, "--owner", "bob")["qualified"]["now"] == 1
    at("2026-03-05 09:00")
    sheet = tmp_path / "customers.csv"
    exported = ok(crm("export", "customers", "--format", "csv")).stdout
    sheet.write_text(exported.replace(",proposal,", ",won,"))
    ok(crm("import", "customers", str(sheet)))  # Acme updated in bulk
    sheet.write_text("客户名称,阶段\nInitech,商机\n")
    ok(crm("import", "customers", str(sheet)))  # a customer made in bulk
    found = funnel(crm)
    assert (found["won"]["entered"], found["proposal"]["went_on"]) == (1, 1)
    assert found["qualified"]["entered"] == 2  # Globex and Initech
    kept_up = entries(database)
    assert kept_up == built_from_scratch(database)
    assert len(kept_up) == 6  # Acme 3, Globex 1, Initech 1, and the copy's (not live)
    assert sum(row[8] is not None for row in kept_up) == 5  # who: live ones only


def test_an_event_that_leaves_the_replica_takes_its_entry_with_it(crm, alice, database, at):
    """A pull whose view moved deletes the events the member no longer sees (sync tests
    drive the real one); the entry goes, and the customer's others are worked out again."""
    at("2026-03-02 09:00")
    acme = add_customer(crm, "Acme")
    at("2026-03-03 09:00")
    ok(crm("customer", "edit", acme, "--stage", "qualified"))
    at("2026-03-04 09:00")
    ok(crm("customer", "edit", acme, "--stage", "proposal"))
    assert funnel(crm)["qualified"]["stays"] == 1
    with database(write=True) as s:
        s.connection().exec_driver_sql(
            "DELETE FROM audit_event WHERE changes LIKE '%\"qualified\",\"proposal\"%'")
    found = funnel(crm)
    assert (found["qualified"]["stays"], found["proposal"]["entered"]) == (0, 0)
    assert entries(database) == built_from_scratch(database)


def test_a_lost_customer_taken_up_again_came_back(crm, alice, at):
    at("2026-03-02 09:00")
    acme = add_customer(crm, "Acme", "--stage", "lost")
    add_customer(crm, "Globex", "--stage", "lost")
    at("2026-03-09 09:00")
    ok(crm("customer", "edit", acme, "--stage", "qualified"))
    lost = funnel(crm)["lost"]
    assert (lost["now"], lost["entered"], lost["came_back"], lost["stays"]) == (1, 2, 1, 1)
    assert lost["median"] == 7 * 86400


def test_a_stage_stored_by_its_alias_counts_as_its_stage(crm, alice, database, at):
    """An older client, or a sheet loaded by hand, may have stored 商机 for qualified (here
    written over an event the history holds already: a rewritten event is read again)."""
    at("2026-03-02 09:00")
    acme = add_customer(crm, "Acme")
    assert funnel(crm)["lead"]["entered"] == 1
    with database(write=True) as s:
        run = s.connection().exec_driver_sql
        run("UPDATE customer SET stage = '商机' WHERE name = 'Acme'")
        run("UPDATE audit_event SET changes = replace(changes, '\"lead\"', '\" 商机\"') "
            "WHERE action = 'customer.create' AND customer_id LIKE ?", (f"%{acme}",))
    found = funnel(crm)
    assert (found["qualified"]["now"], found["qualified"]["entered"]) == (1, 1)
    assert found["lead"]["entered"] == 0


def test_reading_a_long_history_for_the_first_time_is_said_on_stderr(
        crm, alice, monkeypatch):
    from crmcli.cli import report_funnel

    add_customer(crm, "Acme")
    monkeypatch.setattr(report_funnel, "MANY", 0)
    result = ok(crm("report", "funnel", "--format", "json"))
    assert "reading the history of stage changes" in result.stderr
    assert "reading" not in ok(crm("report", "funnel", "--format", "json")).stderr
