"""Chinese names sort by pinyin and are found by pinyin, initials and either script."""

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from crmcli.names import spelled
from helpers import add_customer

NAMES = ["张三", "Acme", "王五", "陈六", "李四", "艾米", "Zoe", "梁静", "曾国藩", "João"]
BY_PINYIN = ["Acme", "艾米", "陈六", "João", "李四", "梁静", "王五", "曾国藩", "张三", "Zoe"]


def listed(crm, *options: str) -> list[str]:
    result = crm("customer", "list", "--format", "json", *options)
    assert result.exit_code == 0, result.output
    return [c["name"] for c in json.loads(result.stdout)]


def found(crm, text: str) -> list[str]:
    result = crm("customer", "find", text, "--format", "json")
    assert result.exit_code == 0, result.output
    return [c["name"] for c in json.loads(result.stdout)]


@pytest.fixture
def people(crm, alice) -> None:
    for name in NAMES:
        add_customer(crm, name)


def test_lists_sort_chinese_names_by_pinyin_among_latin_ones(crm, people):
    assert listed(crm) == BY_PINYIN
    assert listed(crm, "--sort", "name") == BY_PINYIN
    assert listed(crm, "--sort", "-name") == BY_PINYIN[::-1]


def test_exports_sort_by_pinyin_too(crm, people):
    result = crm("export", "customers")
    assert result.exit_code == 0, result.output
    assert [row["name"] for row in csv.DictReader(io.StringIO(result.stdout))] == BY_PINYIN


def test_a_renamed_customer_moves_to_its_new_place(crm, people):
    assert crm("customer", "edit", "张三", "--name", "白三").exit_code == 0
    assert listed(crm)[:3] == ["Acme", "艾米", "白三"]


def test_a_list_sorted_by_name_is_read_from_the_index(crm, people, database):
    from crmcli.repo.customer_lists import CustomerQuery, list_

    with database() as s:
        plan = s.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT * FROM customer WHERE deleted_at IS NULL "
            "ORDER BY sort_key, name, pk LIMIT 50").all()
        assert "ix_customer_sort" in str(plan) and "TEMP B-TREE" not in str(plan)
        assert [c.name for c in list_(s, CustomerQuery(limit=3))] == BY_PINYIN[:3]


@pytest.mark.parametrize(("typed", "expected"), [
    ("zhangsan", ["张三"]), ("zhang san", ["张三"]), ("ZhangSan", ["张三"]), ("zs", ["张三"]),
    ("張三", ["张三"]), ("zgf", ["曾国藩"]), ("zengguo", ["曾国藩"]), ("liang", ["梁静"]),
])
def test_search_finds_a_name_by_pinyin_initials_and_traditional_script(crm, people, typed, expected):
    assert found(crm, typed) == expected
    assert listed(crm, "--search", typed) == expected


def test_a_name_written_in_traditional_script_is_found_in_simplified(crm, alice):
    add_customer(crm, "張三豐")
    add_customer(crm, "陳經理")
    assert found(crm, "张三丰") == ["張三豐"]
    assert found(crm, "张三") == ["張三豐"]
    assert found(crm, "陈经理") == ["陳經理"]
    assert found(crm, "chenjingli") == ["陳經理"]


def test_an_old_database_is_given_its_pinyin_when_upgraded(crm, tmp_path: Path):
    old = tmp_path / "old.db"
    shutil.copyfile(Path(__file__).parent / "data" / "first_version.db", old)
    result = crm("--db", old, "--as", "alice", "customer", "find", "zhangsan", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [c["name"] for c in json.loads(result.stdout)] == ["张三"]
    quoted = crm("--db", old, "--as", "alice", "customer", "find", "需要报价", "--format", "json")
    assert [c["name"] for c in json.loads(quoted.stdout)] == ["张三"]


@pytest.mark.parametrize(("name", "key", "spellings"), [
    ("张三", "zhang san", "zhangsan | zs"),
    ("張三", "zhang san", "张三 | zhangsan | zs"),
    ("曾国藩", "zeng guo fan", "zengguofan | zgf"),  # 曾 as a surname, not ceng
    ("绿地集团", "lv di ji tuan", "lvdijituan | ldjt"),
    ("ＡＣＭＥ  Ltd", "acme ltd", ""),
    ("王伟2", "wang wei 2", "wangwei2 | ww"),
])
def test_a_name_is_spelled_in_toneless_pinyin(name, key, spellings):
    assert spelled(name) == (key, spellings)
