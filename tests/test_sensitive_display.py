"""Sensitive values are masked or `restricted` wherever they are shown; --reveal and
exports are recorded in the audit trail."""

import json

import pytest
from sqlmodel import select

from crmcli.models import AuditEvent, Customer
from helpers import add_customer

ID = "11010519491231002X"
CARD = "6222021234567890128"  # 19 digits, passes the Luhn check


@pytest.fixture
def acme(crm, team):
    """Acme with all three sensitive values; dave is in finance (a member)."""
    assert crm("user", "add", "dave", "--name", "Dave", "--dept", "Finance").exit_code == 0
    add_customer(crm, "Acme", "--city", "上海", "--set", "contract_amount=50万",
                 "--set", f"id_number={ID.lower()}", "--set", f"bank_account={CARD}")
    return "Acme"


def show(crm, user, *options):
    result = crm("--as", user, "customer", "show", "Acme", "--format", "json", *options)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    return {k: record[k] for k in ("contract_amount", "id_number", "bank_account")}


def events(database, action):
    with database() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_each_reader_sees_masks_or_restricted_by_the_rules(crm, acme):
    assert show(crm, "alice") == {"contract_amount": "≥100,000", "id_number": "••••002X",
                                  "bank_account": "••••0128"}
    assert show(crm, "dave") == show(crm, "alice")  # department finance, any case
    assert show(crm, "carol") == {"contract_amount": "≥100,000", "id_number": "restricted",
                                  "bank_account": "restricted"}
    assert show(crm, "bob") == dict.fromkeys(("contract_amount", "id_number", "bank_account"),
                                             "restricted")


def test_the_card_and_every_list_format_show_no_real_value_to_a_member(crm, acme):
    outputs = [crm("--as", "bob", "customer", "show", "Acme").stdout]
    for fmt in ("table", "json", "ndjson", "csv"):
        outputs.append(crm("--as", "bob", "customer", "list", "--format", fmt).stdout)
        outputs.append(crm("--as", "bob", "customer", "find", "Acme", "--format", fmt).stdout)
        outputs.append(crm("--as", "bob", "customer", "show", "Acme", "--format", fmt).stdout)
    for output in outputs:
        assert "500000" not in output and "002X" not in output and "0128" not in output
    assert "restricted" in outputs[0]
    listed = json.loads(crm("--as", "bob", "customer", "list", "--format", "json").stdout)
    assert listed[0]["id_number"] == "restricted"


def test_reveal_shows_clear_values_to_a_cleared_reader_after_recording_it(crm, acme, database):
    assert show(crm, "dave", "--reveal") == {"contract_amount": "500000", "id_number": ID,
                                             "bank_account": CARD}
    assert show(crm, "carol", "--reveal") == {"contract_amount": "500000",
                                              "id_number": "restricted",
                                              "bank_account": "restricted"}
    revealed = events(database, "customer.reveal")
    assert [(e.actor, e.detail["fields"]) for e in revealed] == [
        ("dave", ["contract_amount", "id_number", "bank_account"]), ("carol", ["contract_amount"])]
    assert revealed[0].entity == "customer" and revealed[0].customer_id is not None
    timeline = crm("customer", "show", "Acme").stdout
    assert "customer.reveal carol" in timeline and "revealed contract_amount" in timeline
    history = crm("history", "Acme").stdout
    assert "revealed contract_amount, id_number, bank_account" in history


def test_reveal_by_a_reader_cleared_for_nothing_is_refused_with_exit_6(crm, acme, database):
    result = crm("--as", "bob", "customer", "show", "Acme", "--reveal")
    assert result.exit_code == 6
    assert result.stdout == ""
    assert result.stderr.startswith(
        "error: bob (a member of service) may not read contract_amount, id_number, "
        "bank_account; readers are contract_amount: role:admin, role:manager, dept:finance; "
        "id_number: role:admin, dept:finance")
    assert events(database, "customer.reveal") == []


def test_history_masks_sensitive_changes_and_the_stored_event_keeps_them(crm, acme, database):
    assert crm("customer", "edit", "Acme", "--set", "contract_amount=1234").exit_code == 0
    for fmt in ("table", "json"):
        shown = crm("--as", "bob", "history", "Acme", "--format", fmt).stdout
        assert "1234" not in shown and "500000" not in shown and "restricted" in shown
    masked = json.loads(crm("--as", "carol", "history", "Acme", "--format", "json").stdout)
    assert masked[-1]["changes"]["contract_amount"] == ["≥100,000", "≥1,000"]
    card = crm("--as", "carol", "customer", "show", "Acme").stdout
    assert "contract_amount: ≥100,000 → ≥1,000" in card and "1234" not in card
    (stored,) = events(database, "customer.update")
    assert stored.changes["contract_amount"] == ["500000", "1234"]


def test_a_custom_field_declared_sensitive_is_masked_like_the_standard_ones(crm, acme):
    assert crm("field", "add", "salary", "--type", "decimal", "--sensitive").exit_code == 0
    assert crm("customer", "edit", "Acme", "--set", "salary=98765").exit_code == 0
    member = json.loads(crm("--as", "bob", "customer", "show", "Acme", "-f", "json").stdout)
    assert member["salary"] == "restricted"
    assert "98765" not in crm("--as", "bob", "history", "Acme", "-f", "json").stdout
    finance = json.loads(crm("--as", "dave", "customer", "show", "Acme", "-f", "json").stdout)
    assert finance["salary"] == "••••8765"
    refused = crm("customer", "edit", "Acme", "--set", "salary=restricted")
    assert refused.exit_code == 4 and "salary" in refused.stderr


def test_an_export_leaves_out_what_its_reader_may_not_read_and_is_recorded(crm, acme, database):
    member = crm("--as", "bob", "export", "customers", "--format", "json", "--city", "上海")
    assert member.exit_code == 0
    (row,) = json.loads(member.stdout)
    assert not {"contract_amount", "id_number", "bank_account"} & row.keys()
    finance = crm("--as", "dave", "export", "customers", "--format", "csv")
    header, line = finance.stdout.splitlines()
    assert "id_number" in header and ID in line and CARD in line and "500000" in line
    recorded = events(database, "customer.export")
    assert [(e.actor, e.detail["rows"], e.detail["in_clear"]) for e in recorded] == [
        ("bob", 1, []), ("dave", 1, ["contract_amount", "id_number", "bank_account"])]
    assert recorded[0].detail["options"] == {"city": ["上海"], "format": "json", "output": "-"}


def test_a_restricted_readers_export_imports_back_without_touching_sensitive_values(
    crm, acme, database, tmp_path
):
    path = tmp_path / "bob.csv"
    assert crm("--as", "bob", "export", "customers", "-o", str(path)).exit_code == 0
    imported = crm("--as", "bob", "import", "customers", str(path))
    assert imported.exit_code == 0, imported.output
    with database() as s:
        stored = s.exec(select(Customer)).one()
    assert (stored.contract_amount, stored.id_number, stored.bank_account) == (500000, ID, CARD)


@pytest.mark.parametrize("cell", ["restricted", "••••002X", "≥100,000"])
def test_an_import_never_writes_a_placeholder_over_a_stored_value(crm, acme, database, tmp_path, cell):
    listed = json.loads(crm("customer", "list", "--format", "json").stdout)
    path = tmp_path / "shown.csv"
    row = f'{listed[0]["id"]},Acme,"{cell}","{cell}"'
    path.write_text(f"id,name,id_number,contract_amount\n{row}\n",
                    encoding="utf-8")
    result = crm("import", "customers", str(path))
    assert result.exit_code == 4
    assert "not a value" in result.stderr
    with database() as s:
        stored = s.exec(select(Customer)).one()
    assert (stored.contract_amount, stored.id_number) == (500000, ID)


def test_a_conflict_over_a_sensitive_field_is_masked_for_the_reader(crm, acme, database):
    from crmcli import clock
    from crmcli.models import Conflict

    with database(write=True) as s:
        customer = s.exec(select(Customer)).one()
        s.add(Conflict(kind="edit", entity="customer", entity_id=customer.id,
                       customer_id=customer.id, field="id_number", base=ID,
                       mine="110105194912310029", theirs=ID, actor="carol",
                       made_at=clock.now(), event_id="e1"))
    member = json.loads(crm("--as", "bob", "conflicts", "list", "--format", "json").stdout)
    assert (member[0]["mine"], member[0]["theirs"]) == ("restricted", "restricted")
    admin = json.loads(crm("conflicts", "show", member[0]["id"][-8:], "--format", "json").stdout)
    assert (admin["mine"], admin["theirs"]) == ("••••0029", "••••002X")
    # bob may change Acme as its role holder, but not write a field he may not read
    assert crm("assign", "Acme", "--to", "bob", "--role", "service").exit_code == 0
    refused = crm("--as", "bob", "conflicts", "resolve", member[0]["id"][-8:], "--value", ID)
    assert refused.exit_code == 6 and "may not write id_number" in refused.stderr


def test_an_empty_sensitive_field_stays_empty_for_every_reader(crm, team):
    add_customer(crm, "Initech")
    record = json.loads(crm("--as", "bob", "customer", "show", "Initech", "-f", "json").stdout)
    assert (record["contract_amount"], record["id_number"], record["bank_account"]) == (
        None, None, None)


def test_only_a_fields_readers_may_write_it_so_an_edit_cannot_confirm_a_guess(
    crm, acme, database, tmp_path
):
    for colleague in ("bob", "carol"):  # both may change Acme (a role on it): not its secrets
        assert crm("assign", "Acme", "--to", colleague, "--role", "service" if colleague == "bob"
                   else "marketing").exit_code == 0
    guess = crm("--as", "bob", "customer", "edit", "Acme", "--set", f"id_number={ID}")
    assert guess.exit_code == 6
    assert "bob (a member of service) may not write id_number; readers are id_number: " in (
        guess.stderr)
    assert crm("--as", "bob", "customer", "add", "New", "--set", "contract_amount=1").exit_code == 6
    path = tmp_path / "guess.csv"
    path.write_text(f"name,bank_account\nAcme,{CARD}\n", encoding="utf-8")
    assert crm("--as", "bob", "import", "customers", str(path)).exit_code == 6
    assert crm("--as", "carol", "customer", "edit", "Acme", "--set",
               "contract_amount=60万").exit_code == 0  # a manager reads and writes the amount
    with database() as s:
        assert [c.name for c in s.exec(select(Customer))] == ["Acme"]
        assert [e.actor for e in s.exec(select(AuditEvent).where(
            AuditEvent.action == "customer.update"))] == ["carol"]
