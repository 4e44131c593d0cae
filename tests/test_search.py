"""Search: substrings of name, company, phone, e-mail, requirement and notes, Chinese included."""

import json

import pytest

from helpers import add_customer


def found(crm, text, *, via="find"):
    if via == "find":
        result = crm("customer", "find", text, "--format", "json")
    else:
        result = crm("customer", "list", "--search", text, "--format", "json")
    assert result.exit_code == 0, result.output
    return [c["name"] for c in json.loads(result.stdout)]


def test_a_two_character_chinese_name_is_found(crm, alice):
    # FTS5 trigram matches nothing under three characters; the scan fallback must.
    add_customer(crm, "王伟")
    add_customer(crm, "王伟明")
    add_customer(crm, "李娜")
    assert found(crm, "王伟") == ["王伟", "王伟明"]
    assert found(crm, "伟", via="list") == ["王伟", "王伟明"]


def test_substrings_of_every_searched_field_are_found(crm, alice):
    add_customer(crm, "张三丰", "--company", "武当科技有限公司", "--phone", "13800138000",
                 "--email", "zsf@wudang.cn", "--requirement", "需要太极拳培训方案")
    add_customer(crm, "Other")
    for text in ("三丰", "武当科技", "0013800", "wudang", "太极拳", "WUDANG", "+86138"):
        assert found(crm, text) == ["张三丰"], text


@pytest.mark.parametrize("typed", ["138 0013 8000", "13800138000", "+86 138-0013-8000",
                                   "+8613800138000", "0086 13800138000", "138-0013-8000"])
def test_a_phone_is_found_however_it_is_typed(crm, alice, typed):
    add_customer(crm, "张三", "--phone", "13800138000")
    add_customer(crm, "李四", "--phone", "13900139000")
    assert found(crm, typed) == ["张三"]
    assert found(crm, typed, via="list") == ["张三"]


def test_a_landline_is_found_written_nationally_and_with_its_extension(crm, alice):
    add_customer(crm, "王经理", "--phone", "010-6552 1234 转8001")
    add_customer(crm, "李经理", "--phone", "010-6552 1234 转8002")
    assert found(crm, "010-6552 1234") == ["李经理", "王经理"]
    assert found(crm, "010 6552 1234 x8001") == ["王经理"]
    assert found(crm, "+861065521234;ext=8002") == ["李经理"]


def test_notes_are_searched_and_new_notes_are_found_at_once(crm, alice):
    ref = add_customer(crm, "Acme")
    assert found(crm, "invoice") == []
    crm("note", "add", ref, "asked for an invoice copy", "--quote", "发票抬头要改")
    assert found(crm, "invoice") == ["Acme"]
    assert found(crm, "发票抬头") == ["Acme"]
    assert found(crm, "发票", via="list") == ["Acme"]


def test_edits_and_deletes_are_reflected_in_search(crm, alice):
    ref = add_customer(crm, "Acme")
    crm("customer", "edit", ref, "--name", "Initech")
    assert found(crm, "Acme") == [] and found(crm, "Initech") == ["Initech"]
    crm("customer", "delete", ref)
    assert found(crm, "Initech") == []


def test_exact_and_prefix_name_matches_rank_first(crm, alice):
    for name in ("Big Acme Holdings", "Acme Supplies", "Acme", "Roadrunner"):
        add_customer(crm, name, *(["--requirement", "acme parts"] if name == "Roadrunner" else []))
    assert found(crm, "acme") == ["Acme", "Acme Supplies", "Big Acme Holdings", "Roadrunner"]


def test_search_text_with_quotes_and_like_wildcards_is_literal(crm, alice):
    add_customer(crm, 'He said "hi" 100%_sure')
    add_customer(crm, "Plain")
    assert found(crm, '"hi"') == ['He said "hi" 100%_sure']
    assert found(crm, "%_") == ['He said "hi" 100%_sure']
    assert found(crm, "0%") == ['He said "hi" 100%_sure']


def test_search_combines_with_filters(crm, team):
    add_customer(crm, "Acme East", "--owner", "bob")
    add_customer(crm, "Acme West")
    result = crm("customer", "list", "--search", "acme", "--owner", "bob", "--format", "json")
    assert [c["name"] for c in json.loads(result.stdout)] == ["Acme East"]


def test_find_without_text_is_a_usage_error(crm, alice):
    assert crm("customer", "find", "  ").exit_code == 2
