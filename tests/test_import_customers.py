"""`crm import customers`: the rules of `customer add`, duplicates, errors, reports, audit."""

import csv
import json

from sqlmodel import select

from crmcli.models import Assignment, AuditEvent, Customer, Note
from helpers import add_customer, customers_by_name


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_values_go_through_the_same_rules_as_customer_add(crm, alice, database, tmp_path):
    add_customer(crm, "By Hand", "--phone", "+86 138-0013-8001", "--stage", "谈判",
                 "--sla", "24小时", "--set", "contract_amount=50万")
    path = write(tmp_path, "same.csv", "name,phone,stage,sla,contract_amount\n"
                 "By Import,+86 138-0013-8002,谈判,24小时,50万\n")
    assert crm("import", "customers", path).exit_code == 0
    by_hand, imported = customers_by_name(database)["By Hand"], customers_by_name(database)["By Import"]
    for field in ("stage", "sla", "contract_amount", "owner", "department", "created_by"):
        assert getattr(imported, field) == getattr(by_hand, field), field
    assert imported.phone == "+8613800138002"


def test_invalid_rows_name_line_column_and_reason_and_nothing_is_written(
    crm, alice, database, tmp_path
):
    path = write(tmp_path, "bad.csv", "客户名称,电话,邮箱,等级\n"
                 "好客户,13800138000,,A\n坏客户,123,not-mail,Z\n,13900139000,,\n")
    result = crm("import", "customers", path)
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    assert "line 3: 电话: '123' is not a valid phone number for region CN" in lines
    assert "line 3: 邮箱: 'not-mail' is not an e-mail address" in lines
    assert "line 3: 等级: 'Z' is not one of A, B, C, D" in lines
    assert "line 4: 客户名称: is required" in lines
    assert "invalid 2" in result.stderr
    assert "nothing imported" in result.stderr
    assert customers_by_name(database) == {}


def test_partial_imports_the_valid_rows_and_still_exits_4(crm, alice, database, tmp_path):
    path = write(tmp_path, "bad.csv", "name,phone\nGood,13800138000\nBad,123\n")
    result = crm("import", "customers", path, "--partial")
    assert result.exit_code == 4
    assert set(customers_by_name(database)) == {"Good"}


def test_errors_can_go_to_a_csv_file(crm, alice, tmp_path):
    path = write(tmp_path, "bad.csv", "name,phone\nBad,123\n")
    report = tmp_path / "errors.csv"
    result = crm("import", "customers", path, "--errors", report)
    assert result.exit_code == 4
    assert "123" not in result.stderr
    assert report.read_bytes().startswith(b"\xef\xbb\xbfwhere,column,reason\r\n")  # Excel
    with report.open(encoding="utf-8-sig") as handle:
        assert list(csv.reader(handle)) == [
            ["where", "column", "reason"],
            ["line 2", "phone", "'123' is not a valid phone number for region CN"],
        ]


def test_no_bom_leaves_the_byte_order_mark_out_of_the_errors_file(crm, alice, tmp_path):
    path = write(tmp_path, "bad.csv", "name,phone\nBad,123\n")
    report = tmp_path / "errors.csv"
    assert crm("import", "customers", path, "--errors", report, "--no-bom").exit_code == 4
    assert report.read_bytes().startswith(b"where,column,reason\r\n")


def test_unknown_columns_stop_the_import_with_their_list(crm, alice, tmp_path):
    path = write(tmp_path, "u.csv", "name,手机号码,微博\nA,13800138000,x\n")
    result = crm("import", "customers", path)
    assert result.exit_code == 4
    assert "unknown columns: 手机号码, 微博" in result.stderr


def test_a_map_file_or_ignore_unknown_say_what_other_columns_are(crm, alice, database, tmp_path):
    path = write(tmp_path, "u.csv", "name,手机号码,备注\nA,13800138000,x\n")
    mapping = write(tmp_path, "map.toml", '"手机号码" = "phone"\n"备注" = "ignore"\n')
    assert crm("import", "customers", path, "--map", mapping).exit_code == 0
    assert customers_by_name(database)["A"].phone == "+8613800138000"
    other = write(tmp_path, "v.csv", "name,junk\nB,x\n")
    assert crm("import", "customers", other, "--ignore-unknown").exit_code == 0
    bad_map = write(tmp_path, "bad.toml", 'junk = "nonsense"\n')
    result = crm("import", "customers", other, "--map", bad_map)
    assert result.exit_code == 2
    assert "no such field" in result.stderr


def test_headers_match_ignoring_case_space_and_width_but_duplicates_are_refused(
    crm, alice, database, tmp_path
):
    path = write(tmp_path, "w.csv", " ＮＡＭＥ , Phone ,电子邮件\nWide,13800138000,W@x.com\n")
    assert crm("import", "customers", path).exit_code == 0
    assert customers_by_name(database)["Wide"].email == "w@x.com"
    twice = write(tmp_path, "d.csv", "name,电话,phone\nA,1,2\n")
    result = crm("import", "customers", twice)
    assert result.exit_code == 4
    assert "duplicate columns: '电话' and 'phone' both mean phone" in result.stderr


def test_declared_custom_fields_import_by_name(crm, alice, database, tmp_path):
    assert crm("field", "add", "budget", "--type", "decimal").exit_code == 0
    path = write(tmp_path, "c.csv", "name,Budget\nA,\"1,200.50\"\nB,lots\n")
    result = crm("import", "customers", path, "--partial")
    assert "line 3: Budget: 'lots' is not a number" in result.stderr
    assert customers_by_name(database)["A"].extra == {"budget": "1200.50"}


def test_duplicates_in_the_file_and_in_the_database_update_without_erasing(
    crm, alice, database, tmp_path
):
    add_customer(crm, "Old Name", "--phone", "13800138000", "--city", "北京")
    path = write(tmp_path, "d.csv", "name,phone,email,city,level\n"
                 "Old Name,138 0013 8000,,,A\n"  # db duplicate by phone: level set, city kept
                 "New One,13900139000,n@x.com,上海,\n"
                 "new  one,,N@X.com,,B\n")  # in-file duplicate by e-mail, the same name
    result = crm("import", "customers", path)
    assert result.exit_code == 0, result.output
    assert "created 1, updated 2, unchanged 0" in result.stderr
    stored = customers_by_name(database)
    assert stored["Old Name"].city == "北京"
    assert stored["Old Name"].level == "A"
    assert stored["New One"].phone == "+8613900139000"  # name and phone kept
    assert stored["New One"].level == "B"
    assert len(stored) == 2


def test_name_and_company_case_folded_is_a_duplicate_key(crm, alice, database, tmp_path):
    add_customer(crm, "Acme Ltd", "--company", "ACME")
    path = write(tmp_path, "n.csv", "name,company,city\n  acme ltd ,Ａｃｍｅ,Paris\n")
    assert crm("import", "customers", path).exit_code == 0
    assert [(c.name, c.company, c.city) for c in customers_by_name(database).values()] == [
        ("Acme Ltd", "Ａｃｍｅ", "Paris")  # matched: the name is kept (only an id renames),
    ]                                     # other non-empty incoming values overwrite


def test_skip_and_error_are_the_other_duplicate_policies(crm, alice, database, tmp_path):
    add_customer(crm, "Kept", "--phone", "13800138000")
    path = write(tmp_path, "d.csv", "name,phone,city\nKept,13800138000,X\n")
    skipped = crm("import", "customers", path, "--on-duplicate", "skip")
    assert skipped.exit_code == 0
    assert "skipped 1" in skipped.stderr
    refused = crm("import", "customers", path, "--on-duplicate", "error")
    assert refused.exit_code == 4
    assert "line 2: duplicate: same phone as existing customer" in refused.stderr
    assert customers_by_name(database)["Kept"].city is None


def test_running_the_same_import_twice_changes_nothing_and_says_so(crm, alice, database, tmp_path):
    path = write(tmp_path, "twice.csv", "name,phone,email,tags\n"
                 "A,13800138000,a@x.com,x\nB,13900139000,,\nC,,c@x.com,\n")
    assert "created 3" in crm("import", "customers", path).stderr
    with database() as s:
        events = len(s.exec(select(AuditEvent)).all())
    again = crm("import", "customers", path, "--format", "json")
    assert again.exit_code == 0
    assert "created 0, updated 0, unchanged 3, skipped 0, invalid 0" in again.stderr
    report = json.loads(again.stdout)
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 3)
    with database() as s:
        assert len(s.exec(select(AuditEvent)).all()) == events + 1  # only the import's own


def test_dry_run_reports_everything_and_writes_nothing(crm, alice, database, tmp_path):
    add_customer(crm, "Existing", "--phone", "13800138000")
    path = write(tmp_path, "d.csv", "name,phone,city\nExisting,13800138000,X\nNew,,\nBad,1,\n")
    result = crm("import", "customers", path, "--dry-run", "-f", "json")
    assert result.exit_code == 4
    report = json.loads(result.stdout)
    assert report == {"kind": "customers", "file": "d.csv", "created": 1, "updated": 1,
                      "unchanged": 0, "skipped": 0, "invalid": 1, "dry_run": True,
                      "written": False}
    assert "dry run: nothing was written" in result.stderr
    assert set(customers_by_name(database)) == {"Existing"}
    assert customers_by_name(database)["Existing"].city is None


def test_an_import_is_audited_per_record_and_as_a_whole(crm, team, database, tmp_path):
    add_customer(crm, "Existing", "--phone", "13800138000")
    path = write(tmp_path, "a.csv", "name,phone,owner,city\n"
                 "Existing,13800138000,,上海\nNew,13900139000,bob,\n")
    assert crm("import", "customers", path).exit_code == 0
    with database() as s:
        new = s.exec(select(Customer).where(Customer.name == "New")).one()
        events = s.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
        owner = s.exec(select(Assignment).where(Assignment.customer_id == new.id)).one()
    created = [e for e in events if e.action == "customer.create" and e.entity_id == new.id]
    assert created[0].changes["phone"] == [None, "+8613900139000"]
    assert created[0].changes["owner"] == [None, "bob"]
    updated = [e for e in events if e.action == "customer.update"]
    assert updated[-1].changes == {"city": [None, "上海"]}
    assert (owner.user, owner.role, owner.acknowledged_at) == ("bob", "owner", None)
    assert any(e.action == "assignment.create" and e.entity_id == owner.id for e in events)
    summary = events[-1]
    assert (summary.action, summary.actor) == ("import.customers", "alice")
    assert summary.detail == {"file": "a.csv", "created": 1, "updated": 1, "unchanged": 0,
                              "skipped": 0, "invalid": 0}


def test_imported_customers_are_found_by_search(crm, alice, tmp_path):
    path = write(tmp_path, "s.csv", "name,company\n张小明,北京星辰科技\n")
    assert crm("import", "customers", path).exit_code == 0
    found = crm("customer", "find", "星辰科", "-f", "json")
    assert [row["name"] for row in json.loads(found.stdout)] == ["张小明"]


def test_an_unknown_or_deactivated_owner_is_an_invalid_row(crm, team, tmp_path):
    crm("user", "deactivate", "bob", "--transfer-to", "alice")
    path = write(tmp_path, "o.csv", "name,负责人\nA,nobody\nB,bob\n")
    result = crm("import", "customers", path)
    assert result.exit_code == 4
    assert "line 2: 负责人: no user 'nobody'" in result.stderr
    assert "line 3: 负责人: user 'bob' is deactivated" in result.stderr


def test_owner_may_be_a_members_name_as_well_as_handle(crm, team, database, tmp_path):
    path = write(tmp_path, "o.csv", "联系人,负责人\nA,Bob Li\nB, carol zhang \nC,alice\nD,Ｂｏｂ　ｌｉ\n")
    result = crm("import", "customers", path)
    assert result.exit_code == 0, result.output
    owners = {name: c.owner for name, c in customers_by_name(database).items()}
    assert owners == {"A": "bob", "B": "carol", "C": "alice", "D": "bob"}
    assert crm("user", "add", "bli", "--name", "Bob Li", "--dept", "sales").exit_code == 0
    twice = crm("import", "customers", write(tmp_path, "t.csv", "name,owner\nE,bob li\n"))
    assert twice.exit_code == 4
    assert "line 2: owner: 'bob li' is the name of 2 users (bli, bob); give the handle" \
        in twice.stderr


def test_a_remarks_column_becomes_a_note_on_the_customer_once(crm, alice, database, tmp_path):
    add_customer(crm, "王经理", "--phone", "13800138000")
    path = write(tmp_path, "r.csv", "联系人,电话,备注\n王经理,13800138000,喜欢喝茶\n"
                 "李经理,13900139000,\n李经理,13900139000,下月再联系\n")
    result = crm("import", "customers", path)
    assert result.exit_code == 0, result.output
    assert "notes from the 备注 column: 2" in result.stderr
    again = crm("import", "customers", path)
    assert "notes from" not in again.stderr
    assert "created 0, updated 0, unchanged 3" in again.stderr
    with database() as s:
        notes = {(n.customer_id, n.body, n.kind, n.author) for n in s.exec(select(Note))}
        events = [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.entity == "note"))]
    stored = customers_by_name(database)
    assert notes == {(stored["王经理"].id, "喜欢喝茶", "internal", "alice"),
                     (stored["李经理"].id, "下月再联系", "internal", "alice")}
    assert events == ["note.create", "note.create"]
    found = crm("customer", "find", "喜欢喝茶", "-f", "json")
    assert [row["name"] for row in json.loads(found.stdout)] == ["王经理"]
    mapping = write(tmp_path, "m.toml", '"备注" = "requirement"\n')
    mapped = crm("import", "customers", path, "--map", mapping)
    assert mapped.exit_code == 0, mapped.output
    assert customers_by_name(database)["王经理"].requirement == "喜欢喝茶"


def test_a_row_that_would_make_a_duplicate_suggests_what_import_offers(
    crm, alice, database, tmp_path
):
    add_customer(crm, "First", "--phone", "13800138000")
    add_customer(crm, "Second", "--email", "second@x.com")
    path = write(tmp_path, "clash.csv", "name,phone,email\nFirst,13800138000,second@x.com\n")
    result = crm("import", "customers", path)
    assert result.exit_code == 4
    assert "line 2: duplicate: same email as existing customer" in result.stderr
    assert "--allow-duplicate" not in result.stderr
    assert "--on-duplicate skip" in result.stderr
    assert customers_by_name(database)["First"].email is None


def test_a_refused_update_leaves_out_only_its_rows_and_the_others_are_written(
    crm, alice, database, tmp_path
):
    """A batch's updates are made together; one refused is left out, the rest kept
    with their history (each once), as if each had been made alone."""
    add_customer(crm, "First", "--phone", "13800138000")
    add_customer(crm, "Second", "--email", "second@x.com")
    add_customer(crm, "Third", "--phone", "13900139000")
    path = write(tmp_path, "mixed.csv", "name,phone,email,city\n"
                 "First,13800138000,,上海\nFirst,13800138000,second@x.com,\n"
                 "Third,13900139000,,北京\n")
    result = crm("import", "customers", path, "--partial")
    assert result.exit_code == 4
    assert "line 3: duplicate: same email as existing customer" in result.stderr
    assert "updated 1" in result.stderr and "invalid 2" in result.stderr
    stored = customers_by_name(database)
    assert (stored["First"].city, stored["First"].email) == (None, None)
    assert stored["Third"].city == "北京"
    with database() as s:
        updates = s.exec(select(AuditEvent).where(AuditEvent.action == "customer.update")).all()
    assert [(e.customer_id, e.changes) for e in updates] == [
        (stored["Third"].id, {"city": [None, "北京"]})]


def test_a_customer_twice_in_a_file_is_folded_so_importing_it_again_changes_nothing(
    crm, alice, database, tmp_path
):
    path = write(tmp_path, "dup.csv", "name,phone,city\nLi,13911112222,深圳\nLI,13911112222,广州\n")
    first = crm("import", "customers", path)
    assert "created 1, updated 1, unchanged 0" in first.stderr
    with database() as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.entity == "customer")).all()
    assert [e.action for e in events] == ["customer.create"]  # one record, written once
    assert events[0].changes["name"] == [None, "Li"]
    for _ in range(2):
        again = crm("import", "customers", path)
        assert again.exit_code == 0, again.output
        assert "created 0, updated 0, unchanged 2" in again.stderr
    with database() as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.entity == "customer")).all()) == 1
    stored = customers_by_name(database)
    assert [(c.name, c.city) for c in stored.values()] == [("Li", "广州")]


def test_rows_of_one_stored_customer_update_it_once(
    crm, alice, database, tmp_path
):
    add_customer(crm, "Wang", "--phone", "13800138000", "--city", "北京")
    path = write(tmp_path, "two.csv", "phone,email,city,level\n"
                 "13800138000,w@x.com,上海,\n"  # matches by phone
                 ",w@x.com,,A\n"                # the same customer, by the e-mail above
                 "13800138000,,上海,\n")         # repeats the first row: changes nothing
    result = crm("import", "customers", path)
    assert result.exit_code == 0, result.output
    assert "created 0, updated 2, unchanged 1" in result.stderr
    with database() as s:
        updates = s.exec(select(AuditEvent).where(AuditEvent.action == "customer.update")).all()
    assert [u.changes for u in updates] == [
        {"email": [None, "w@x.com"], "city": ["北京", "上海"], "level": [None, "A"]}
    ]


def test_with_skip_or_error_a_repeated_row_names_the_earlier_line(crm, alice, database, tmp_path):
    path = write(tmp_path, "dup.csv", "name,phone,city\nNew,13911112222,深圳\nnew,13911112222,广州\n")
    refused = crm("import", "customers", path, "--on-duplicate", "error")
    assert refused.exit_code == 4
    assert "line 3: duplicate: same phone as line 2" in refused.stderr
    assert "existing customer" not in refused.stderr
    skipped = crm("import", "customers", path, "--on-duplicate", "skip")
    assert skipped.exit_code == 0
    assert "created 1, updated 0, unchanged 0, skipped 1" in skipped.stderr
    assert [(c.name, c.city) for c in customers_by_name(database).values()] == [("New", "深圳")]


def test_values_repeated_on_thousands_of_rows_are_judged_alike_on_each(
    crm, alice, database, tmp_path
):
    """An import remembers what a column's repeated text parsed to (`fields.ParseMemo`),
    and stops remembering a column whose values do not repeat: either way each row gets
    the value, or the refusal, it would get alone."""
    rows = [f"客户{i},+86 139 {i:04d} {i:04d},上海,谈判,{'Z' if i in (2, 4999) else 'A'},vip，展会\n"
            for i in range(5000)]
    path = write(tmp_path, "many.csv", "客户名称,电话,城市,阶段,等级,标签\n" + "".join(rows))
    result = crm("import", "customers", path, "--partial")
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    assert "line 4: 等级: 'Z' is not one of A, B, C, D" in lines
    assert "line 5001: 等级: 'Z' is not one of A, B, C, D" in lines
    assert "invalid 2" in result.stderr
    stored = customers_by_name(database)
    assert len(stored) == 4998
    last = stored["客户4998"]
    assert (last.phone, last.city, last.stage, last.level, last.tags) == (
        "+8613949984998", "上海", "negotiation", "A", ["vip", "展会"])
    assert stored["客户0"].tags == ["vip", "展会"]
