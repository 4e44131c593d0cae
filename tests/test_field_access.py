"""Who may read the sensitive fields: `crm field access`, `crm field add --sensitive`."""

import json

from sqlmodel import select

from crmcli.models import AuditEvent, FieldReader


def readers(crm, *args):
    result = crm("field", "access", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return {row["field"]: row["readers"] for row in json.loads(result.stdout)}


def test_the_default_readers_are_admins_and_finance_and_managers_for_the_amount(crm, alice):
    assert readers(crm) == {
        "contract_amount": ["role:admin", "role:manager", "dept:finance"],
        "id_number": ["role:admin", "dept:finance"],
        "bank_account": ["role:admin", "dept:finance"],
    }


def test_an_admin_grants_and_revokes_readers_and_each_change_is_audited(crm, alice, database):
    result = crm("field", "access", "合同金额", "--grant", "dept:Sales", "--grant", "user:bob",
                 "--revoke", "role:manager")
    assert result.exit_code == 0, result.output
    assert "granted dept:Sales, user:bob; revoked role:manager" in result.stderr
    assert readers(crm, "contract_amount") == {
        "contract_amount": ["role:admin", "dept:finance", "dept:Sales", "user:bob"]}
    again = crm("field", "access", "contract_amount", "--grant", "role:manager")
    assert again.exit_code == 0
    assert "role:manager" in readers(crm)["contract_amount"]
    with database() as s:
        rules = {(r.reader, r.granted) for r in s.exec(select(FieldReader))}
        events = [e.action for e in s.exec(
            select(AuditEvent).where(AuditEvent.entity == "field_reader"))]
    assert rules == {("dept:Sales", True), ("user:bob", True), ("role:manager", True)}
    assert events == ["field_reader.create"] * 3 + ["field_reader.update"]


def test_only_admins_change_readers_with_exit_6(crm, team):
    result = crm("--as", "carol", "field", "access", "id_number", "--grant", "role:manager")
    assert result.exit_code == 6
    assert "only an admin may change who reads sensitive fields" in result.stderr
    assert readers(crm, "id_number") == {"id_number": ["role:admin", "dept:finance"]}
    assert crm("--as", "bob", "field", "access").exit_code == 0  # reading the rules is fine


def test_admins_cannot_be_revoked_and_readers_are_checked(crm, alice):
    assert crm("field", "access", "id_number", "--revoke", "role:admin").exit_code == 4
    bad = crm("field", "access", "id_number", "--grant", "finance")
    assert bad.exit_code == 4 and "role:ROLE, dept:DEPARTMENT or user:HANDLE" in bad.stderr
    assert crm("field", "access", "city", "--grant", "role:member").exit_code == 4
    assert crm("field", "access", "--grant", "role:member").exit_code == 2


def test_a_custom_field_declared_sensitive_gets_readers_and_is_listed_as_sensitive(crm, team):
    assert crm("field", "add", "salary", "--type", "decimal", "--sensitive").exit_code == 0
    assert crm("field", "add", "tier", "--type", "text").exit_code == 0
    assert readers(crm, "salary") == {"salary": ["role:admin", "dept:finance"]}
    listed = json.loads(crm("field", "list", "--format", "json").stdout)
    assert {f["name"]: f["sensitive"] for f in listed} == {"salary": True, "tier": False}
    refused = crm("--as", "carol", "field", "add", "bonus", "--type", "int", "--sensitive")
    assert refused.exit_code == 6
    assert crm("field", "access", "tier").exit_code == 4


def test_a_department_is_one_reader_however_it_is_spelt(crm, alice):
    assert crm("field", "access", "bank_account", "--revoke", "dept:FINANCE").exit_code == 0
    assert readers(crm, "bank_account") == {"bank_account": ["role:admin"]}
    assert crm("field", "access", "bank_account", "--grant", "dept:Ｆinance").exit_code == 0
    assert readers(crm, "bank_account") == {"bank_account": ["role:admin", "dept:finance"]}
