"""Who is whom: a shared phone or e-mail is not identity, and a name is never changed by one.

A record is the same customer when the export `id` matches, or its phone or e-mail matches
and the names agree (case, width, spaces, traditional script folded), or name + company
match. Import, `customer add` and the edit guard are checked here; sync (which matches
customers by id only) in tests/sync/test_identity_sync.py.
"""

import json

import pytest
from sqlmodel import select

from crmcli.models import AuditEvent
from helpers import add_customer, customers_by_name

SWITCHBOARD = "客户名称,公司,电话\n王经理,华为,010-65521234\n李经理,华为,010-65521234\n"


def imported(crm, tmp_path, text: str, *options: str):
    """`crm import customers FILE OPTIONS` of a CSV file holding `text`."""
    path = tmp_path / "rows.csv"
    path.write_text(text, encoding="utf-8")
    return crm("import", "customers", path, *options)


def customer_events(database) -> list[tuple[str, dict]]:
    with database() as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.entity == "customer")
                        .order_by(AuditEvent.seq)).all()
        return [(event.action, event.changes) for event in events]


def test_two_names_on_one_switchboard_number_are_refused_naming_both(
    crm_process, alice, database
):
    result = crm_process("import", "customers", "-", input=SWITCHBOARD)
    assert result.returncode == 4
    assert ("line 3: 电话: same phone as line 2 (王经理) but a different name (李经理): a possible "
            "duplicate, not the same customer; --on-name-mismatch create adds it as a new "
            "customer") in result.stderr
    assert "nothing imported" in result.stderr
    assert customers_by_name(database) == {}


def test_on_name_mismatch_create_keeps_both_and_importing_again_changes_nothing(
    crm, alice, database, tmp_path
):
    first = imported(crm, tmp_path, SWITCHBOARD, "--on-name-mismatch", "create")
    assert first.exit_code == 0, first.output
    assert "created 2, updated 0" in first.stderr
    stored = customers_by_name(database)
    assert {name: c.phone for name, c in stored.items()} == {
        "王经理": "+861065521234", "李经理": "+861065521234"}
    again = imported(crm, tmp_path, SWITCHBOARD)  # each matches its own name
    assert again.exit_code == 0, again.output
    assert "created 0, updated 0, unchanged 2" in again.stderr


def test_a_phone_match_under_another_name_neither_renames_nor_updates_the_stored_customer(
    crm, alice, database, tmp_path
):
    add_customer(crm, "王经理", "--company", "华为", "--phone", "010-65521234", "--city", "北京")
    before = customer_events(database)
    refused = imported(crm, tmp_path, "name,phone,city\n李经理,010-65521234,上海\n")
    assert refused.exit_code == 4
    assert "line 2: phone: same phone as existing customer " in refused.stderr
    assert "王经理 (华为) but a different name (李经理)" in refused.stderr
    assert customer_events(database) == before
    [kept] = customers_by_name(database).values()
    assert (kept.name, kept.city) == ("王经理", "北京")
    created = imported(crm, tmp_path, "name,phone,city\n李经理,010-65521234,上海\n",
                       "--on-name-mismatch", "create")
    assert "created 1, updated 0" in created.stderr
    stored = customers_by_name(database)
    assert (stored["王经理"].city, stored["李经理"].city) == ("北京", "上海")


def test_an_e_mail_under_another_name_is_a_possible_duplicate_too(crm, alice, database, tmp_path
):
    add_customer(crm, "Sales Desk", "--email", "sales@acme.com")
    result = imported(crm, tmp_path, "name,email\nJohn Doe,SALES@acme.com\n")
    assert result.exit_code == 4
    assert "line 2: email: same email as existing customer" in result.stderr
    assert "Sales Desk but a different name (John Doe)" in result.stderr


def test_names_agree_across_width_case_spaces_and_script_and_the_stored_name_stays(
    crm, alice, database, tmp_path
):
    add_customer(crm, "张三", "--phone", "13800138000")
    add_customer(crm, "Zhang San", "--email", "zs@x.com")
    rows = ("name,phone,email,city\n"
                 "張 三,13800138000,,深圳\n"         # traditional script, a space
                 "ＺＨＡＮＧ  san,,zs@x.com,广州\n")  # full width, case, two spaces
    result = imported(crm, tmp_path, rows)
    assert result.exit_code == 0, result.output
    assert "created 0, updated 2" in result.stderr
    stored = customers_by_name(database)
    assert (stored["张三"].city, stored["Zhang San"].city) == ("深圳", "广州")
    assert all("name" not in changes for action, changes in customer_events(database)
               if action == "customer.update")


def test_only_an_export_id_renames_a_customer(crm, alice, database, tmp_path
):
    ref = add_customer(crm, "Old Name", "--phone", "13800138000")
    [record] = json.loads(crm("customer", "list", "-f", "json").stdout)
    assert record["id"].endswith(ref) or record["id"].startswith(ref)
    result = imported(crm, tmp_path, f"id,name,phone\n{record['id']},New Name,13800138000\n")
    assert result.exit_code == 0, result.output
    assert set(customers_by_name(database)) == {"New Name"}


def test_a_nameless_row_on_a_number_two_names_share_is_refused_as_ambiguous(crm, alice, database, tmp_path
):
    add_customer(crm, "王经理", "--phone", "010-65521234")
    add_customer(crm, "李经理", "--phone", "010-65521234", "--allow-duplicate")
    result = imported(crm, tmp_path, "phone,city\n010-65521234,上海\n")
    assert result.exit_code == 4
    assert "who differ in name: give the row's name to say which customer it is" in result.stderr
    named = imported(crm, tmp_path, "name,phone,city\n李经理,010-65521234,上海\n")
    assert named.exit_code == 0, named.output
    stored = customers_by_name(database)
    assert (stored["王经理"].city, stored["李经理"].city) == (None, "上海")


def test_a_row_matched_by_name_giving_it_another_names_number_follows_the_policy(
    crm, alice, database, tmp_path
):
    add_customer(crm, "王经理", "--company", "华为", "--phone", "010-65521234")
    add_customer(crm, "李经理", "--company", "华为")
    row = "name,company,phone\n李经理,华为,010-65521234\n"
    refused = imported(crm, tmp_path, row)
    assert refused.exit_code == 4
    assert "same phone as existing customer" in refused.stderr
    assert "--on-name-mismatch create" in refused.stderr
    assert customers_by_name(database)["李经理"].phone is None
    allowed = imported(crm, tmp_path, row, "--on-name-mismatch", "create")
    assert allowed.exit_code == 0, allowed.output
    assert customers_by_name(database)["李经理"].phone == "+861065521234"


def test_rows_further_apart_than_a_batch_meet_under_the_same_rule(
    crm, alice, database, monkeypatch: pytest.MonkeyPatch, tmp_path
):
    monkeypatch.setattr("crmcli.repo.bulk.BATCH", 2)
    rows = "name,phone\n王经理,010-65521234\nA,13800138001\nB,13800138002\n李经理,010-65521234\n"
    refused = imported(crm, tmp_path, rows)
    assert refused.exit_code == 4
    assert "line 5: phone: same phone as existing customer" in refused.stderr
    assert imported(crm, tmp_path, rows, "--on-name-mismatch", "create").exit_code == 0
    assert {"王经理", "李经理"} <= set(customers_by_name(database))


def test_an_unknown_policy_is_a_usage_error(crm, alice, tmp_path):
    result = imported(crm, tmp_path, SWITCHBOARD, "--on-name-mismatch", "merge")
    assert result.exit_code == 2


def test_customer_add_refuses_a_number_of_another_name_and_allow_duplicate_keeps_both_names(
    crm, alice, database
):
    add_customer(crm, "王经理", "--company", "华为", "--phone", "010-65521234")
    refused = crm("customer", "add", "李经理", "--phone", "010 6552 1234")
    assert refused.exit_code == 4
    assert "same phone as existing customer" in refused.stderr and "王经理" in refused.stderr
    assert "--allow-duplicate" in refused.stderr
    ref = add_customer(crm, "李经理", "--phone", "010 6552 1234", "--allow-duplicate")
    assert set(customers_by_name(database)) == {"王经理", "李经理"}
    # the guard looks at what an edit changes: a new company is no duplicate of the number
    edited = crm("customer", "edit", ref, "--company", "华为")
    assert edited.exit_code == 0, edited.output
    assert crm("customer", "edit", ref, "--phone", "010 6552 1234").exit_code == 0  # unchanged
    assert crm("customer", "edit", "王经理", "--email", "w@hw.com").exit_code == 0
    assert crm("customer", "edit", ref, "--email", "w@hw.com").exit_code == 4


def test_name_and_company_match_folds_spaces_and_traditional_script(crm, alice, database, tmp_path):
    add_customer(crm, "张三", "--company", "华为")
    result = imported(crm, tmp_path, "客户名称,公司,城市\n張 三,华为,深圳\n")
    assert result.exit_code == 0, result.output
    assert "created 0, updated 1" in result.stderr
    stored = customers_by_name(database)
    assert set(stored) == {"张三"}  # the stored name stands
    assert stored["张三"].city == "深圳"


def test_a_database_keyed_before_script_folding_is_rekeyed_by_its_migration(
    crm, alice, crm_home
):
    from crmcli import db, migrations

    add_customer(crm, "張 三", "--company", "华为")
    engine = db.make_engine(crm_home / "crm.db")
    with engine.begin() as conn:  # the key as the older fold wrote it, then the step
        conn.exec_driver_sql("UPDATE customer SET dedupe_key = '張 三' || char(31) || '华为'")
        migrations.m006_dedupe_keys_fold_names(conn)
    refused = crm("customer", "add", "张三", "--company", "华为")
    assert refused.exit_code == 4
    assert "張 三" in refused.stderr
