"""Lead routing on a database of one's own: rules as team settings, first match wins, the
owner recorded with the rule's name, turns kept locally."""

from __future__ import annotations

import json

import pytest

from helpers import add_customer

SALES = ("alice", "bob", "carol")  # handle order


@pytest.fixture
def sales(crm, alice) -> None:
    """alice (admin), bob and carol in sales; dan in service."""
    for handle, dept in (("bob", "sales"), ("carol", "sales"), ("dan", "service")):
        result = crm("user", "add", handle, "--name", handle.title(), "--dept", dept)
        assert result.exit_code == 0, result.output


def ok(crm, *args) -> str:
    result = crm(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def owner_of(crm, ref: str) -> str:
    return json.loads(ok(crm, "customer", "show", ref, "--format", "json"))["owner"]


def owners(crm) -> dict[str, str]:
    rows = json.loads(ok(crm, "customer", "list", "--format", "json"))
    return {row["name"]: row["owner"] for row in rows}


def test_round_robin_gives_new_leads_to_the_departments_active_members_in_turn(crm, sales):
    ok(crm, "rule", "add", "expo", "--when", "source=exhibition,city=上海", "--to", "dept:sales")
    ok(crm, "user", "deactivate", "carol", "--transfer-to", "alice")
    made = [add_customer(crm, f"展会{n}", "--source", "Exhibition", "--city", " 上海 ")
            for n in range(5)]
    assert [owner_of(crm, ref) for ref in made] == ["alice", "bob", "alice", "bob", "alice"]


def test_the_first_rule_in_order_wins_and_an_explicit_owner_is_never_routed(crm, sales):
    ok(crm, "rule", "add", "everyone", "--how", "dan", "--order", "20")
    ok(crm, "rule", "add", "shanghai", "--when", "城市=上海", "--how", "carol", "--to",
       "dept:sales", "--order", "10")
    assert owner_of(crm, add_customer(crm, "沪客", "--city", "上海")) == "carol"
    assert owner_of(crm, add_customer(crm, "沪市客", "--city", "上海市")) == "carol"  # 市 or not
    assert owner_of(crm, add_customer(crm, "京客", "--city", "北京")) == "dan"
    assert owner_of(crm, add_customer(crm, "自己的", "--city", "上海", "--owner", "bob")) == "bob"
    listed = json.loads(ok(crm, "rule", "list", "--format", "json"))
    assert [(rule["name"], rule["order"]) for rule in listed] == [("shanghai", 10), ("everyone", 20)]


@pytest.mark.parametrize("stored", [
    "bob", {"when": ["city"], "how": "bob"}, {"when": {}, "how": "round-robin"},
    {"when": {}, "to": "dept:sales", "how": "least-open", "order": "first"},
])
def test_a_rule_stored_malformed_is_skipped_and_the_next_one_applies(crm, sales, database,
                                                                     stored):
    """A value no `crm rule add` makes (by hand, or from a client that checked less) must
    not stop customers being created: it is skipped, as if it were not there."""
    from sqlmodel import select

    from crmcli.models import Setting

    ok(crm, "rule", "add", "broken", "--how", "carol", "--order", "10")
    ok(crm, "rule", "add", "fallback", "--how", "dan", "--order", "20")
    with database(write=True) as s:
        s.exec(select(Setting).where(Setting.key == "rule.broken")).one().value = stored
    assert owner_of(crm, add_customer(crm, "沪客", "--city", "上海")) == "dan"
    assert [rule["name"] for rule in json.loads(ok(crm, "rule", "list", "--format", "json"))] \
        == ["fallback"]
    ok(crm, "rule", "remove", "broken")
    assert "rule.broken" not in ok(crm, "setting", "list")

def test_chinese_values_are_stored_as_the_data_dictionary_reads_them(crm, sales):
    ok(crm, "rule", "add", "fresh", "--when", "阶段=线索,等级=a级", "--how", "bob")
    [rule] = json.loads(ok(crm, "rule", "list", "--format", "json"))
    assert rule["when"] == "stage=lead,level=A"
    assert owner_of(crm, add_customer(crm, "新线索", "--stage", "lead", "--level", "A")) == "bob"


@pytest.mark.parametrize(("when", "reason"), [
    ("stage=bogus", "stage: 'bogus' is not one of"),
    ("colour=red", "colour: is not a field"),
    ("phone=13800138000", "not phone"),
    ("contract_amount=100", "not contract_amount"),
    ("source", "wants FIELD=VALUE"),
])
def test_a_rule_on_a_bad_field_or_value_is_refused_with_exit_4(crm, sales, when, reason):
    result = crm("rule", "add", "bad", "--when", when, "--to", "dept:sales")
    assert result.exit_code == 4
    assert reason in result.stderr
    assert json.loads(ok(crm, "rule", "list", "--format", "json")) == []


def test_a_rule_to_nobody_known_or_with_an_unknown_way_is_refused_with_exit_4(crm, sales):
    assert crm("rule", "add", "x", "--to", "zed,bob").exit_code == 4
    assert crm("rule", "add", "x", "--to", "dept:sales", "--how", "zed").exit_code == 4
    assert crm("rule", "add", "x", "--to", "dept:sales", "--how", "dan").exit_code == 4
    assert crm("rule", "add", "x", "--how", "round-robin").exit_code == 4


def test_only_an_admin_changes_the_rules(crm, sales):
    result = crm("--as", "bob", "rule", "add", "mine", "--how", "bob")
    assert result.exit_code == 6
    ok(crm, "rule", "add", "expo", "--to", "dept:sales")
    assert crm("--as", "bob", "rule", "remove", "expo").exit_code == 6
    assert crm("rule", "remove", "nosuch").exit_code == 3
    ok(crm, "rule", "remove", "expo")
    assert owner_of(crm, add_customer(crm, "无规则")) == "alice"


def test_a_routed_owner_is_in_the_history_with_the_rules_name_and_waits_to_acknowledge(
        crm, sales):
    ok(crm, "rule", "add", "expo", "--to", "bob")
    result = crm("customer", "add", "展会客户")
    assert "routed to bob by rule expo, waiting for bob to acknowledge" in result.stderr
    ref = result.stdout.strip()
    history = ok(crm, "history", ref)
    assert "routed to bob as owner by rule expo" in history
    events = json.loads(ok(crm, "history", ref, "--format", "json"))
    assert {"rule": "expo"} in [event["detail"] for event in events]
    [owner] = json.loads(ok(crm, "customer", "show", ref, "--format", "json"))["assignments"]
    assert (owner["reason"], owner["assigned_by"], owner["acknowledged_at"]) == \
        ("rule expo", "alice", None)


def test_an_import_routes_its_rows_in_bulk_and_continues_the_turns(crm, sales, tmp_path):
    ok(crm, "rule", "add", "expo", "--when", "来源=展会", "--to", "dept:sales")
    add_customer(crm, "先来的", "--source", "展会")  # alice's turn
    path = tmp_path / "leads.csv"
    path.write_text("客户名称,来源,负责人\n甲,展会,\n乙,展会,\n丙,展会,dan\n丁,展会,\n戊,网站,\n",
                    encoding="utf-8")
    ok(crm, "import", "customers", str(path))
    assert owners(crm) == {"先来的": "alice", "甲": "bob", "乙": "carol", "丙": "dan",
                           "丁": "alice", "戊": "alice"}


def test_a_dry_run_import_takes_no_turn(crm, sales, tmp_path):
    ok(crm, "rule", "add", "expo", "--to", "dept:sales")
    path = tmp_path / "leads.csv"
    path.write_text("name\nA\nB\n", encoding="utf-8")
    ok(crm, "import", "customers", str(path), "--dry-run")
    assert owner_of(crm, add_customer(crm, "C")) == "alice"


def test_least_open_picks_the_member_with_fewest_open_customers_ties_by_handle(crm, sales):
    for name, owner, stage in (("a1", "alice", "lead"), ("a2", "alice", "proposal"),
                               ("b1", "bob", "won"), ("b2", "bob", "lead"),
                               ("c1", "carol", "lead")):
        add_customer(crm, name, "--owner", owner, "--stage", stage)
    ok(crm, "rule", "add", "fair", "--how", "least-open", "--to", "dept:sales")
    made = [add_customer(crm, f"new{n}") for n in range(3)]
    assert [owner_of(crm, ref) for ref in made] == ["bob", "carol", "alice"]


def test_rule_test_says_which_rule_and_whom_and_writes_nothing(crm, sales, database):
    ok(crm, "rule", "add", "expo", "--when", "source=exhibition", "--to", "dept:sales")
    ref = add_customer(crm, "老客户", "--source", "exhibition", "--owner", "dan")
    with database() as s:
        from sqlmodel import func, select

        from crmcli.models import AuditEvent, Meta
        before = (s.exec(select(func.count()).select_from(AuditEvent)).one(),
                  s.exec(select(Meta.key, Meta.value)).all())
    verdict = json.loads(ok(crm, "rule", "test", "--when", "source=Exhibition", "-f", "json"))
    assert (verdict["rule"], verdict["how"], verdict["owner"]) == ("expo", "round-robin", "alice")
    assert json.loads(ok(crm, "rule", "test", ref, "-f", "json"))["rule"] == "expo"
    assert "no rule matches" in ok(crm, "rule", "test", "--when", "source=web")
    assert crm("rule", "test", "--when", "stage=nope").exit_code == 4
    assert crm("rule", "test").exit_code == 2
    with database() as s:
        assert before == (s.exec(select(func.count()).select_from(AuditEvent)).one(),
                          s.exec(select(Meta.key, Meta.value)).all())
