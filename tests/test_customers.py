"""`crm customer …`: the shared record, its fields, duplicates, merge and delete."""

import json
import os

from helpers import add_customer


def shown(crm, ref: str, *options: str) -> dict:
    result = crm("customer", "show", ref, "--format", "json", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_add_prints_the_short_id_and_stores_normalised_values(crm, alice, database):
    short = add_customer(
        crm, "张三", "--company", "华为", "--phone", "138 0013 8000", "--email", "Zhang@HW.com",
        "--wechat", "zs_wx", "--city", "深圳", "--industry", "telecom", "--source", "exhibition",
        "--stage", "商机", "--level", "a", "--sla", "24小时", "--requirement", "需要报价",
        "--tag", "vip", "--tag", "重点", "--department", "华南销售部",
    )
    assert len(short) == 8
    record = shown(crm, short)
    assert record["id"].endswith(short)
    assert record | {
        "name": "张三", "company": "华为", "phone": "+8613800138000", "email": "zhang@hw.com",
        "wechat": "zs_wx", "city": "深圳", "industry": "telecom", "source": "exhibition",
        "stage": "qualified", "level": "A", "sla": "1d", "requirement": "需要报价",
        "owner": "alice", "department": "华南销售部", "tags": ["vip", "重点"],
    } == record
    from sqlmodel import select

    from crmcli.models import Customer

    with database() as s:
        stored = s.exec(select(Customer)).one()
        assert stored.sla == 1440


def test_owner_defaults_to_the_acting_user_and_department_to_the_owners(crm, team):
    add_customer(crm, "Acme", "--owner", "bob")
    record = shown(crm, "Acme")
    assert (record["owner"], record["department"]) == ("bob", "service")
    assert shown(crm, add_customer(crm, "Mine"))["owner"] == "alice"


def test_an_unknown_or_deactivated_owner_is_refused_as_the_owner_field_with_exit_4(crm, team):
    ref = add_customer(crm, "Acme")
    crm("user", "deactivate", "bob", "--transfer-to", "alice")
    for command in (["customer", "add", "X"], ["customer", "edit", ref, "--city", "Paris"]):
        unknown = crm(*command, "--owner", "nobody")
        assert (unknown.exit_code, unknown.stderr) == (4, "error: owner: no user 'nobody'\n")
        gone = crm(*command, "--owner", "bob")
        assert (gone.exit_code, gone.stderr) == (4, "error: owner: user 'bob' is deactivated\n")
    record = shown(crm, ref)
    assert (record["owner"], record["city"], record["version"]) == ("alice", None, 1)
    assert [c["name"] for c in json.loads(crm("customer", "list", "-f", "json").stdout)] == ["Acme"]


def test_an_invalid_value_names_the_field_exits_4_and_writes_nothing(crm, alice):
    for option, value, field in (("--phone", "12345", "phone"), ("--email", "nope", "email"),
                                 ("--stage", "qualifed", "stage"), ("--sla", "soon", "sla"),
                                 ("--level", "Z", "level")):
        result = crm("customer", "add", "Bad", option, value)
        assert result.exit_code == 4, (option, result.output)
        assert result.stderr.startswith(f"error: {field}:"), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stdout == ""
    assert crm("customer", "list", "--format", "json").stdout.strip() == "[]"


def test_sensitive_and_custom_fields_are_set_with_set(crm, alice):
    crm("field", "add", "budget", "--type", "decimal")
    crm("field", "add", "tier", "--type", "choice", "--choices", "gold,silver")
    add_customer(crm, "Acme", "--set", "contract_amount=50万", "--set", "id_number=11010519491231002x",
                 "--set", "budget=1,250.5", "--set", "tier=Gold", "--set", "bank_account=6222 0000 1111")
    record = shown(crm, "Acme", "--reveal")
    assert record["contract_amount"] == "500000"
    assert record["id_number"] == "11010519491231002X"
    assert record["bank_account"] == "622200001111"
    assert (record["budget"], record["tier"]) == ("1250.5", "gold")


def test_an_undeclared_or_mistyped_custom_field_is_refused(crm, alice):
    crm("field", "add", "visits", "--type", "int")
    undeclared = crm("customer", "add", "Acme", "--set", "shoe_size=42")
    assert undeclared.exit_code == 4 and "shoe_size" in undeclared.stderr
    assert "crm field add" in undeclared.stderr
    mistyped = crm("customer", "add", "Acme", "--set", "visits=many")
    assert mistyped.exit_code == 4 and "visits" in mistyped.stderr
    malformed = crm("customer", "add", "Acme", "--set", "visits")
    assert malformed.exit_code == 2
    assert crm("customer", "list", "--format", "json").stdout.strip() == "[]"


def test_custom_fields_are_declared_listed_and_checked(crm, team):
    assert crm("field", "add", "renewal", "--type", "date").exit_code == 0
    assert crm("field", "add", "renewal", "--type", "text").exit_code == 4
    assert crm("field", "add", "phone", "--type", "text").exit_code == 4
    assert crm("field", "add", "tier", "--type", "choice").exit_code == 4
    listed = json.loads(crm("field", "list", "--format", "json").stdout)
    assert [(f["name"], f["type"]) for f in listed] == [("renewal", "date")]
    assert crm("--as", "bob", "field", "add", "x", "--type", "text").exit_code == 6


def test_a_duplicate_phone_email_or_name_and_company_is_refused_naming_the_existing_one(crm, alice):
    first = add_customer(crm, "张三", "--company", "华为", "--phone", "13800138000",
                         "--email", "zs@hw.com")
    for options in (["Other", "--phone", "138 0013 8000"], ["Other", "--email", "ZS@hw.com"],
                    ["张三", "--company", "华为"]):
        result = crm("customer", "add", *options)
        assert result.exit_code == 4, options
        assert first in result.stderr and "--allow-duplicate" in result.stderr
    assert crm("customer", "add", "张三", "--company", "华为", "--allow-duplicate").exit_code == 0
    assert len(json.loads(crm("customer", "list", "--format", "json").stdout)) == 2


def test_people_behind_one_switchboard_keep_their_extensions_and_are_no_duplicates(crm, alice):
    wang = add_customer(crm, "王经理", "--company", "华为", "--phone", "010-6552 1234 ext. 8001")
    li = add_customer(crm, "李经理", "--company", "华为", "--phone", "010-6552 1234 转8002")
    assert shown(crm, wang)["phone"] == "+861065521234;ext=8001"
    assert shown(crm, li)["phone"] == "+861065521234;ext=8002"
    again = crm("customer", "add", "赵经理", "--phone", "010 65521234 #8001")
    assert again.exit_code == 4 and wang in again.stderr
    assert crm("customer", "edit", li, "--phone", "010-6552 1234 x8003").exit_code == 0
    assert shown(crm, li)["phone"] == "+861065521234;ext=8003"


def test_name_and_company_duplicates_ignore_case_and_width(crm, alice):
    add_customer(crm, "Acme Ltd", "--company", "ACME")
    assert crm("customer", "add", "ａｃｍｅ ltd", "--company", "acme").exit_code == 4


def test_name_and_company_duplicates_fold_spaces_and_traditional_script_as_identity_does(
    crm, alice
):
    add_customer(crm, "张三", "--company", "华为")
    refused = crm("customer", "add", "張 三", "--company", "华为")
    assert refused.exit_code == 4
    assert "张三" in refused.stderr


def test_a_deleted_customer_is_no_duplicate(crm, alice):
    add_customer(crm, "Acme", "--phone", "13800138000")
    crm("customer", "delete", "Acme")
    assert crm("customer", "add", "Acme", "--phone", "13800138000").exit_code == 0


def test_edit_changes_only_the_given_fields_and_empty_clears(crm, alice):
    ref = add_customer(crm, "Acme", "--city", "Beijing", "--level", "B", "--tag", "a")
    result = crm("customer", "edit", ref, "--city", "", "--level", "A", "--tag", "x", "--tag", "y",
                 "--name", "Acme Corp")
    assert result.exit_code == 0, result.output
    record = shown(crm, ref)
    assert (record["name"], record["city"], record["level"], record["tags"]) == \
        ("Acme Corp", None, "A", ["x", "y"])
    assert record["version"] == 2


def test_edit_refuses_a_duplicate_and_an_empty_name(crm, alice):
    add_customer(crm, "Acme", "--phone", "13800138000")
    other = add_customer(crm, "Globex")
    assert crm("customer", "edit", other, "--phone", "13800138000").exit_code == 4
    assert crm("customer", "edit", other, "--name", " ").exit_code == 4
    assert crm("customer", "edit", other).exit_code == 2
    assert shown(crm, other)["phone"] is None


def test_edit_with_expect_changes_only_while_the_fields_hold_the_expected_values(crm, team):
    ref = add_customer(crm, "Acme", "--phone", "13800138000", "--stage", "lead", "--owner", "bob")
    assert crm("--as", "bob", "customer", "edit", ref, "--city", "上海").exit_code == 0
    moved_on = crm("customer", "edit", ref, "--level", "A", "--expect", "city=",
                   "--expect", "stage=lead")
    assert moved_on.exit_code == 5
    assert "was changed by bob" in moved_on.stderr and "(city)" in moved_on.stderr
    assert shown(crm, ref)["level"] is None
    # typed as people type them: the data dictionary's forms are compared, aliases too
    result = crm("customer", "edit", ref, "--level", "A", "--expect", "city=上海",
                 "--expect", "phone=138 0013 8000", "--expect", "阶段=线索")
    assert result.exit_code == 0, result.output
    assert shown(crm, ref)["level"] == "A"


def test_expect_refuses_bad_pairs_unknown_and_sensitive_fields_writing_nothing(crm, alice):
    ref = add_customer(crm, "Acme", "--set", "contract_amount=100")
    refusals = {("--expect", "city"): (2, "--expect wants FIELD=VALUE"),
                ("--expect", "colour=red"): (4, "colour: is not a field"),
                ("--expect", "stage=someday"): (4, "stage:"),
                ("--expect", "contract_amount=100"): (4, "expect: contract_amount is sensitive")}
    for options, (code, message) in refusals.items():
        result = crm("customer", "edit", ref, "--city", "Paris", *options)
        assert result.exit_code == code, (options, result.output)
        assert message in result.stderr
    assert shown(crm, ref)["city"] is None


def test_changing_the_owner_on_edit_is_a_recorded_hand_over(crm, team):
    ref = add_customer(crm, "Acme")
    crm("customer", "edit", ref, "--owner", "bob")
    record = shown(crm, ref)
    assert record["owner"] == "bob"
    owners = [a for a in record["assignments"] if a["role"] == "owner"]
    assert [(a["user"], a["until"] is None) for a in owners] == [("alice", False), ("bob", True)]


def test_delete_is_soft_and_recorded(crm, alice, database):
    ref = add_customer(crm, "Acme")
    assert crm("customer", "delete", ref).exit_code == 0
    assert crm("customer", "show", ref).exit_code == 3
    assert crm("customer", "list", "--format", "json").stdout.strip() == "[]"
    from sqlmodel import select

    from crmcli.models import AuditEvent, Customer

    with database() as s:
        assert s.exec(select(Customer)).one().deleted_at is not None
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.seq))]
    assert actions[-1] == "customer.delete"


def test_merge_moves_notes_tasks_assignments_and_fills_empty_fields(crm, team):
    keep = add_customer(crm, "张三", "--company", "华为", "--tag", "vip")
    other = add_customer(crm, "张三 (dup)", "--email", "zs@hw.com", "--city", "深圳",
                         "--company", "华为技术", "--tag", "南区")
    crm("note", "add", other, "called about pricing")
    crm("task", "add", other, "send quote", "--assignee", "bob")
    crm("assign", other, "--to", "carol", "--role", "marketing")
    result = crm("customer", "merge", keep, other)
    assert result.exit_code == 0, result.output
    record = shown(crm, keep)
    assert record["company"] == "华为"  # keep's own value stays
    assert (record["email"], record["city"]) == ("zs@hw.com", "深圳")
    assert record["tags"] == ["vip", "南区"]
    assert "called about pricing" in [n["body"] for n in record["notes"]]
    assert [t["title"] for t in record["tasks"]] == ["send quote"]
    current = {(a["role"], a["user"]) for a in record["assignments"] if a["until"] is None}
    assert current == {("owner", "alice"), ("marketing", "carol")}
    gone = crm("customer", "show", other)
    assert gone.exit_code == 3 and "merged into" in gone.stderr
    actions = [e["action"] for e in record["history"]]
    assert "customer.merge" in actions
    merged_event = next(e for e in record["history"] if e["action"] == "customer.merge")
    assert merged_event["detail"]["merged"].endswith(other)


def test_a_customer_cannot_be_merged_with_itself(crm, alice):
    ref = add_customer(crm, "Acme")
    assert crm("customer", "merge", ref, ref).exit_code == 4


def test_list_filters_by_owner_department_stage_level_tag_and_city(crm, team):
    add_customer(crm, "A1", "--owner", "bob", "--stage", "won", "--level", "A", "--city", "上海",
                 "--tag", "vip")
    add_customer(crm, "A2", "--stage", "lead", "--level", "B", "--city", "北京", "--tag", "new")
    add_customer(crm, "A3", "--owner", "carol", "--stage", "成交", "--tag", "vip", "--tag", "new")

    def names(*options):
        result = crm("customer", "list", *options, "--format", "json")
        assert result.exit_code == 0, result.output
        return [c["name"] for c in json.loads(result.stdout)]

    assert names() == ["A1", "A2", "A3"]
    assert names("--owner", "bob") == ["A1"]
    assert names("--department", "marketing") == ["A3"]
    assert names("--stage", "won") == ["A1", "A3"]
    assert names("--stage", "成交", "--tag", "new") == ["A3"]
    assert names("--level", "b") == ["A2"]
    assert names("--tag", "vip") == ["A1", "A3"]
    assert names("--city", "北京") == ["A2"]
    add_customer(crm, "A4", "--city", "Shanghai")
    assert names("--city", " SHANGHAI ") == names("--city", "shanghai") == ["A4"]
    assert names("--department", "MARKETING") == ["A3"]
    assert names("--sort", "-name", "--limit", "2") == ["A4", "A3"]
    assert names("--sort", "stage") == ["A2", "A4", "A1", "A3"]
    assert crm("customer", "list", "--sort", "shoe").exit_code == 4
    assert crm("customer", "list", "--stage", "nope").exit_code == 4


def test_show_lists_the_timeline_newest_first_with_the_quote_set_apart(crm, team):
    ref = add_customer(crm, "Acme")
    crm("note", "add", ref, "first call", "--kind", "call", "--quote", "we need it by March")
    crm("task", "add", ref, "send quote", "--assignee", "bob", "--due", "tomorrow")
    crm("assign", ref, "--to", "bob", "--role", "service", "--reason", "complaint")
    result = crm("customer", "show", ref)
    assert result.exit_code == 0
    text = result.stdout
    assert "Responsibilities" in text and "Timeline" in text and "Tasks" in text
    assert "“we need it by March”" in text
    assert text.index("bob as service") < text.index("first call") < text.index("customer.create")
    assert "complaint" in text and "waiting" in text


def test_arguments_that_are_not_utf8_are_refused_with_exit_4(crm_process, alice):
    added = crm_process("customer", "add", os.fsdecode(b"bad\xffname"))  # the raw byte 0xff
    assert added.returncode == 4, added.stderr
    assert "name: holds bytes that are not UTF-8 text (0xff at character 4)" in added.stderr
    found = crm_process("customer", "find", os.fsdecode(b"\xff\xfe"))
    assert found.returncode == 4, found.stderr
    assert found.stderr.strip() == "error: an argument: holds bytes that are not UTF-8 text"
    assert json.loads(crm_process("customer", "list", "--format", "json").stdout) == []


def test_a_merged_away_customer_named_by_name_says_where_it_went(crm, alice):
    keep = add_customer(crm, "Keeper")
    add_customer(crm, "Absorbed")
    crm("customer", "merge", "Keeper", "Absorbed")
    gone = crm("customer", "show", "Absorbed")
    assert gone.exit_code == 3
    assert f"customer 'Absorbed' was merged into {keep}  Keeper" in gone.stderr
    crm("customer", "delete", "Keeper")
    gone = crm("customer", "show", "Absorbed")
    assert gone.exit_code == 3 and "merged into" in gone.stderr and "since deleted" in gone.stderr
