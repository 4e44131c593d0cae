"""`crm report quality`: required fields per stage, stale customers, invalid stored values
and likely duplicates, over a hand-built record with a frozen clock (China's time).

The record (`record`), users alice (admin, sales), bob (member, service), carol
(manager, marketing); settings quality.require.proposal requirement,sla and
quality.require.negotiation requirement,contract_amount; all made on 2026-03-02:
- Acme (proposal, exhibition, requirement and sla, 09:00): complete, a note on 03-20;
- Beta (proposal, website, 09:10): lacks requirement and sla, never followed up;
- Gamma (negotiation, bob's, a requirement, 09:20): lacks contract_amount, a note 03-05;
- Delta (lead, bob's, 09:30): a note on 03-20;
- Epsilon (lead, 09:40), then stored by an older client: stage 线索, owner zed (no
  user), phone 13800138000 (not E.164), e-mail Foo@X.com;
- Omega (won, 09:45), then stored: level E, sla 0;
- 周杰 (lead, phone 139 0013 9000, 09:50) and 周傑 (lead, bob's, the same phone, 10:00).
The report is asked on 2026-04-10 09:00: open stages go stale after 30 days.
"""

from __future__ import annotations

import json

import pytest

from helpers import add_customer, ok

NOW = "2026-04-10 09:00"


def stored(database, name: str, **values) -> None:
    """Write values straight into a customer's row, as an older client could have."""
    from sqlmodel import select

    from crmcli.models import Customer

    with database(write=True) as s:
        customer = s.exec(select(Customer).where(Customer.name == name)).one()
        for key, value in values.items():
            setattr(customer, key, value)


@pytest.fixture
def record(crm, team, beijing, at, database) -> dict[str, str]:
    ok(crm("setting", "set", "quality.require.方案", "需求,响应时限"))
    ok(crm("setting", "set", "quality.require.negotiation", "requirement,contract_amount"))
    made = {}
    for moment, name, *options in (
        ("09:00", "Acme", "--stage", "proposal", "--source", "exhibition",
         "--requirement", "200 seats", "--sla", "4h"),
        ("09:10", "Beta", "--stage", "proposal", "--source", "website"),
        ("09:20", "Gamma", "--stage", "negotiation", "--owner", "bob", "--requirement", "ERP"),
        ("09:30", "Delta", "--owner", "bob"),
        ("09:40", "Epsilon"),
        ("09:45", "Omega", "--stage", "won"),
        ("09:50", "周杰", "--phone", "139 0013 9000"),
        ("10:00", "周傑", "--phone", "13900139000", "--owner", "bob", "--allow-duplicate"),
    ):
        at(f"2026-03-02 {moment}")
        made[name] = add_customer(crm, name, *options)
    at("2026-03-05 10:00")
    ok(crm("note", "add", made["Gamma"], "sent the contract draft"))
    at("2026-03-20 10:00")
    for name in ("Acme", "Delta"):
        ok(crm("note", "add", made[name], "called", "--kind", "call"))
    stored(database, "Epsilon", stage="线索", owner="zed", phone="13800138000",
           email="Foo@X.com")
    stored(database, "Omega", level="E", sla=0)
    at(NOW)
    return made


def report(crm, *options: str) -> dict[str, list[dict]]:
    return json.loads(ok(crm("report", "quality", "-f", "json", *options)).stdout)


def test_the_stages_settings_are_team_settings_by_stage_name_or_alias(crm, alice):
    ok(crm("setting", "set", "quality.require.方案", "需求，响应时限"))
    ok(crm("setting", "set", "quality.stale.LEAD", "2w"))
    ok(crm("setting", "set", "quality.stale.won", "never"))
    listed = ok(crm("setting", "list")).stdout
    assert "quality.require.proposal" in listed and "requirement, sla" in listed
    assert "quality.stale.lead" in listed and "14d" in listed
    assert "quality.stale.won" in listed and "never" in listed
    refused = crm("setting", "set", "quality.require.janitor", "sla")
    assert refused.exit_code == 4 and "janitor" in refused.stderr
    refused = crm("setting", "set", "quality.stale.lead", "soon")
    assert refused.exit_code == 4 and "not a duration" in refused.stderr


def test_missing_lists_the_customers_lacking_what_their_stage_requires(crm, record):
    assert [(row["customer"], row["stage"], row["owner"], row["missing"])
            for row in report(crm)["missing"]] == [
        ("Beta", "proposal", "alice", ["requirement", "sla"]),
        ("Gamma", "negotiation", "bob", ["contract_amount"]),
    ]
    ok(crm("customer", "edit", record["Beta"], "--requirement", "a quote", "--sla", "1d"))
    assert [row["customer"] for row in report(crm)["missing"]] == ["Gamma"]


def test_a_sensitive_required_field_is_checked_only_for_its_readers(crm, record):
    shown = ok(crm("--as", "bob", "report", "quality")).stdout
    assert [row["customer"] for row in report(crm, "--as", "bob")["missing"]] == ["Beta"]
    assert "Not checked for you: contract_amount" in shown
    assert "Values not checked for you: contract_amount, id_number, bank_account" in shown


def test_on_a_team_replica_a_sensitive_value_held_as_a_mask_is_not_missing(
        crm, record, database):
    from sqlmodel import select

    from crmcli.models import Customer, SensitiveMask

    with database(write=True) as s:  # what a pull leaves: the mask, not the value
        gamma = s.exec(select(Customer).where(Customer.name == "Gamma")).one()
        s.add(SensitiveMask(customer_id=gamma.id, field="contract_amount", mask="≥100,000",
                            digest="d"))
    assert [row["customer"] for row in report(crm)["missing"]] == ["Beta"]


def test_stale_lists_customers_not_followed_up_within_their_stages_limit(crm, record):
    assert [(row["customer"], row["stage"], row["last_contact"], row["days"], row["limit"])
            for row in report(crm)["stale"]] == [
        ("Beta", "proposal", None, 38, "30d"),
        ("周杰", "lead", None, 38, "30d"),
        ("周傑", "lead", None, 38, "30d"),
        ("Gamma", "negotiation", "2026-03-05T02:00:00Z", 35, "30d"),
    ]


def test_each_stage_has_its_own_stale_limit_and_closed_stages_none_by_default(
        crm, record, at):
    ok(crm("setting", "set", "quality.stale.lead", "40d"))
    ok(crm("setting", "set", "quality.stale.negotiation", "never"))
    ok(crm("setting", "set", "quality.stale.won", "4w"))
    assert [(row["customer"], row["limit"]) for row in report(crm)["stale"]] == [
        ("Beta", "30d"), ("Omega", "28d")]
    at("2026-04-10 10:00")
    ok(crm("note", "add", record["Beta"], "they replied", "--kind", "email"))
    assert [row["customer"] for row in report(crm)["stale"]] == ["Omega"]


def test_invalid_lists_values_stored_before_todays_rules_with_why(crm, record):
    assert [(row["customer"], row["stage"], row["field"], row["value"], row["why"])
            for row in report(crm)["invalid"]] == [
        ("Epsilon", "线索", "phone", "13800138000", "the rules store '+8613800138000'"),
        ("Epsilon", "线索", "email", "Foo@X.com", "the rules store 'foo@x.com'"),
        ("Epsilon", "线索", "stage", "线索", "the rules store 'lead'"),
        ("Omega", "won", "level", "E", "'E' is not one of A, B, C, D"),
        ("Omega", "won", "sla", 0, "'0m' is shorter than a minute"),
        ("Epsilon", "线索", "owner", "zed", "is no user"),
    ]


def test_a_custom_fields_stored_value_outside_its_rules_is_invalid(crm, record, database):
    ok(crm("field", "add", "budget", "--type", "int"))
    ok(crm("customer", "edit", record["Acme"], "--set", "budget=5000"))
    stored(database, "Beta", extra={"budget": "lots"})
    assert [(row["customer"], row["field"], row["value"], row["why"])
            for row in report(crm)["invalid"] if row["field"] == "budget"] == [
        ("Beta", "budget", "lots", "'lots' is not a whole number")]


def test_a_malformed_sensitive_value_is_shown_masked_to_its_readers_only(crm, record, database):
    stored(database, "Acme", id_number="12345678")
    rows = [row for row in report(crm)["invalid"] if row["field"] == "id_number"]
    assert [(row["customer"], row["value"], row["why"]) for row in rows] == [(
        "Acme", "••••5678", "the value is not an ID number: a mainland resident ID has 18 "
        "characters (17 digits and a digit or X); other documents contain a letter")]
    assert "12345678" not in ok(crm("report", "quality")).stdout
    assert [row for row in report(crm, "--as", "bob")["invalid"]
            if row["field"] == "id_number"] == []


def test_a_deactivated_owner_is_invalid_and_deleted_customers_never_count(
        crm, record, database):
    ok(crm("customer", "delete", record["Epsilon"]))
    ok(crm("user", "deactivate", "bob", "--transfer-to", "carol"))
    stored(database, "Delta", owner="bob")  # kept by a replica that had not heard yet
    assert [(row["customer"], row["field"], row["why"]) for row in report(crm)["invalid"]] == [
        ("Omega", "level", "'E' is not one of A, B, C, D"),
        ("Omega", "sla", "'0m' is shorter than a minute"),
        ("Delta", "owner", "is a deactivated user")]


def test_duplicates_lists_likely_pairs_best_first_with_reasons(crm, record):
    rows = report(crm)["duplicates"]
    assert [(row["customer"], row["other"], row["score"], row["reasons"]) for row in rows] == [
        ("周杰", "周傑", 100.0, ["name 周杰 ~ 周傑 (traditional)", "phone same"])]
    assert (rows[0]["first"][-8:], rows[0]["second"][-8:]) == (record["周杰"], record["周傑"])


def test_the_stages_section_counts_each_list_per_stage(crm, record):
    assert report(crm)["stages"] == [
        {"stage": "lead", "customers": 3, "missing": 0, "stale": 2, "invalid": 0,
         "duplicates": 2},
        {"stage": "proposal", "customers": 2, "missing": 1, "stale": 1, "invalid": 0,
         "duplicates": 0},
        {"stage": "negotiation", "customers": 1, "missing": 1, "stale": 1, "invalid": 0,
         "duplicates": 0},
        {"stage": "won", "customers": 1, "missing": 0, "stale": 0, "invalid": 1,
         "duplicates": 0},
        {"stage": "线索", "customers": 1, "missing": 0, "stale": 0, "invalid": 1,
         "duplicates": 0},
    ]


def test_filters_narrow_every_list_and_keep_a_pair_with_either_customer(crm, record):
    mine = report(crm, "--owner", "bob")
    assert [row["customer"] for row in mine["missing"]] == ["Gamma"]
    assert [row["customer"] for row in mine["stale"]] == ["周傑", "Gamma"]
    assert mine["invalid"] == []
    assert [(row["customer"], row["other"]) for row in mine["duplicates"]] == [("周杰", "周傑")]
    shown = report(crm, "--source", "EXHIBITION")
    assert shown["missing"] == shown["stale"] == shown["duplicates"] == []
    assert [row["stage"] for row in shown["stages"]] == ["proposal"]
    assert report(crm, "--dept", "marketing")["duplicates"] == []


def test_a_limit_cuts_each_list_and_says_how_many_there_are(crm, record):
    assert [row["customer"] for row in report(crm, "--limit", "1")["stale"]] == ["Beta"]
    assert len(report(crm, "--limit", "0")["stale"]) == 4
    shown = ok(crm("report", "quality", "--limit", "1")).stdout
    assert "stale: the first 1 of 4 shown (--limit)." in shown
    assert "missing: the first 1 of 2 shown (--limit)." in shown


def test_the_table_says_what_the_rules_are_and_an_empty_list_says_none(crm, record):
    ok(crm("setting", "set", "quality.stale.lead", "never"))
    ok(crm("setting", "set", "quality.require.proposal", "requirement,budget"))
    shown = ok(crm("report", "quality", "--owner", "alice", "--section", "missing")).stdout
    assert "Required per stage (quality.require.STAGE): proposal: requirement; negotiation: " \
        "requirement, contract_amount." in shown
    assert "quality.require.proposal names 'budget', which is no field: not checked." in shown
    assert "Stale: no note for longer than the stage allows (quality.stale.STAGE): " \
        "qualified 30d, proposal 30d, negotiation 30d;" in shown
    assert "Only customers of owner alice" in shown
    empty = ok(crm("report", "quality", "--owner", "carol")).stdout
    assert "Missing fields: none" in empty and "Per stage: no customers" in empty


def test_csv_writes_one_list_and_a_workbook_has_a_sheet_per_section(crm, record, tmp_path):
    from openpyxl import load_workbook

    lines = ok(crm("report", "quality", "-f", "csv", "--section", "missing")).stdout.splitlines()
    assert lines == ["customer,stage,owner,missing", 'Beta,proposal,alice,"requirement,sla"',
                     "Gamma,negotiation,bob,contract_amount"]
    refused = crm("report", "quality", "--section", "everything")
    assert refused.exit_code == 4 and "stages, missing, stale, invalid, duplicates" in refused.stderr
    path = tmp_path / "quality.xlsx"
    ok(crm("report", "quality", "-o", path))
    book = load_workbook(path)
    assert book.sheetnames == ["Per stage", "Missing fields", "Stale", "Invalid values",
                               "Likely duplicates", "Notes"]
    assert [c.value for c in book["Per stage"][2]] == ["lead", 3, 0, 2, 0, 2]
    assert type(book["Per stage"]._charts[0]).__name__ == "BarChart"


def test_the_customers_behind_a_row_are_those_it_lists(record, database):
    from sqlmodel import select

    from crmcli.models import Customer
    from crmcli.repo import users
    from crmcli.repo.reports import quality
    from crmcli.repo.reports.table import Options

    with database() as s:
        alice = users.acting(s, "alice")
        built = quality.build(s, alice, Options())
        ids = {c.name: c.id for c in s.exec(select(Customer))}

        def behind(section: str, row: dict) -> set[str]:
            return set(quality.customers_behind(s, alice, Options(), section, row))

        assert behind("stages", {"stage": "lead"}) == {ids["周杰"], ids["周傑"]}
        assert behind("stages", {"stage": "proposal"}) == {ids["Beta"]}
        pair = built.sections[4].rows[0]
        assert behind("duplicates", pair) == {ids["周杰"], ids["周傑"]}
        assert behind("missing", built.sections[1].rows[0]) == {ids["Beta"]}
