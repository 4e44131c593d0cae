"""Likely duplicates (repo/duplicates.py): names that meet across scripts and spellings
(张三, 張三, Zhang San), companies without their legal form, phones and e-mails; blocked,
never all pairs; unrelated customers, deleted and merged ones never paired."""

from __future__ import annotations

import pytest

from helpers import add_customer


def found(database, **options) -> list[tuple[str, str, float, tuple[str, ...]]]:
    """The pairs as (first name, second name, score, reasons), best first."""
    from sqlmodel import select

    from crmcli.models import Customer
    from crmcli.repo import duplicates

    with database() as s:
        named = {c.id: c.name for c in s.exec(select(Customer))}
        return [(named[p.first], named[p.second], p.score, p.reasons)
                for p in duplicates.pairs(s, **options)]


def names(pairs) -> set[frozenset[str]]:
    return {frozenset((first, second)) for first, second, *_ in pairs}


def test_zhang_san_in_simplified_traditional_and_pinyin_are_all_paired(crm, alice, database):
    add_customer(crm, "张三")
    add_customer(crm, "張三", "--allow-duplicate")
    add_customer(crm, "Zhang San")
    add_customer(crm, "zhangsan", "--allow-duplicate")
    add_customer(crm, "João Silva")
    add_customer(crm, "Joao Silva")
    pairs = found(database)
    assert names(pairs) == {frozenset(pair) for pair in (
        ("张三", "張三"), ("张三", "Zhang San"), ("张三", "zhangsan"), ("張三", "Zhang San"),
        ("張三", "zhangsan"), ("Zhang San", "zhangsan"), ("João Silva", "Joao Silva"))}
    reasons = {frozenset((a, b)): why for a, b, _, why in pairs}
    assert reasons[frozenset(("张三", "張三"))] == ("name 张三 ~ 張三 (traditional)",)
    assert reasons[frozenset(("张三", "Zhang San"))] == ("name 张三 ~ Zhang San (pinyin)",)
    assert reasons[frozenset(("Zhang San", "zhangsan"))] == (
        "name Zhang San ~ zhangsan (case, width, accents or spaces)",)
    assert reasons[frozenset(("João Silva", "Joao Silva"))] == (
        "name João Silva ~ Joao Silva (case, width, accents or spaces)",)
    assert pairs[0][:2] in (("张三", "張三"), ("Zhang San", "zhangsan"))  # written alike first


def test_the_first_of_a_pair_is_the_older_customer(crm, alice, database):
    add_customer(crm, "張三")
    add_customer(crm, "张三", "--allow-duplicate")
    assert [pair[:2] for pair in found(database)] == [("張三", "张三")]


def test_a_name_in_latin_order_reversed_meets_its_chinese_form(crm, alice, database):
    add_customer(crm, "李四")
    add_customer(crm, "Si Li")
    assert found(database) == [("李四", "Si Li", 57.0, ("name 李四 ~ Si Li (pinyin)",))]


def test_a_chinese_name_written_given_name_first_in_latin_meets_it(crm, alice, database):
    add_customer(crm, "王晓明")
    add_customer(crm, "Xiaoming Wang")
    assert found(database) == [
        ("王晓明", "Xiaoming Wang", 57.0, ("name 王晓明 ~ Xiaoming Wang (pinyin)",))]


def test_a_company_with_its_city_before_it_counts_as_alike(crm, alice, database):
    add_customer(crm, "周杰", "--company", "上海华泰科技有限公司")
    add_customer(crm, "周杰", "--company", "华泰科技有限公司")
    assert found(database) == [("周杰", "周杰", 75.0, (
        "name same", "company 上海华泰科技有限公司 ~ 华泰科技有限公司 (place)"))]


def test_companies_meet_without_their_legal_form(crm, alice, database):
    add_customer(crm, "王五", "--company", "华为技术有限公司")
    add_customer(crm, "王五", "--company", "华为技术")
    add_customer(crm, "Wang Fang", "--company", "Huawei Technologies Co., Ltd.")
    add_customer(crm, "WANG FANG", "--company", "HUAWEI TECHNOLOGIES")
    add_customer(crm, "深圳市华为技术（深圳）有限公司")
    add_customer(crm, "华为技术股份有限公司")
    pairs = found(database)
    assert pairs[:2] == [
        ("王五", "王五", 85.0, ("name same", "company 华为技术有限公司 ~ 华为技术")),
        ("Wang Fang", "WANG FANG", 85.0, ("name Wang Fang ~ WANG FANG (case, width, accents or spaces)",
                                          "company Huawei Technologies Co., Ltd. ~ HUAWEI TECHNOLOGIES")),
    ]
    assert pairs[2:] == [("深圳市华为技术（深圳）有限公司", "华为技术股份有限公司", 60.0, (
        "name 深圳市华为技术（深圳）有限公司 ~ 华为技术股份有限公司 (legal form, place or brackets)",))]


def test_colleagues_at_one_company_are_not_duplicates(crm, alice, database):
    add_customer(crm, "张三", "--company", "华为技术有限公司")
    add_customer(crm, "张伟", "--company", "华为技术")
    add_customer(crm, "Zhao Lei", "--company", "华为")
    assert found(database) == []


def test_a_shared_phone_pairs_like_names_strongly_and_unlike_names_not_at_all(crm, alice, database):
    add_customer(crm, "刘洋", "--phone", "138 0013 8000")
    add_customer(crm, "Liu Yang", "--phone", "+86 138-0013-8000", "--allow-duplicate")
    add_customer(crm, "陈静", "--phone", "13800138000", "--allow-duplicate")  # a family's phone
    assert found(database) == [
        ("刘洋", "Liu Yang", 96.2, ("name 刘洋 ~ Liu Yang (pinyin)", "phone same"))]
    assert [pair[:2] for pair in found(database, min_score=20)][1:] == [
        ("刘洋", "陈静"), ("Liu Yang", "陈静")]


def test_a_mistyped_character_pairs_under_one_phone_unless_only_the_surname_is_left(
        crm, alice, database):
    add_customer(crm, "欧阳晓明", "--phone", "13800138000")
    add_customer(crm, "欧阳晓东", "--phone", "13800138000", "--allow-duplicate")
    add_customer(crm, "黄蓉", "--phone", "13900139000")
    add_customer(crm, "黄容", "--phone", "13900139000", "--allow-duplicate")  # same pinyin
    add_customer(crm, "郭靖", "--phone", "13700137000")
    add_customer(crm, "郭襄", "--phone", "13700137000", "--allow-duplicate")  # a daughter
    assert [pair[:3] for pair in found(database)] == [
        ("黄蓉", "黄容", 81.2), ("欧阳晓明", "欧阳晓东", 68.8)]


def test_a_different_phone_counts_against_a_like_name(crm, alice, database):
    add_customer(crm, "刘洋", "--phone", "13800138000")
    add_customer(crm, "劉洋", "--phone", "13900139000", "--allow-duplicate")
    assert found(database) == []
    assert found(database, min_score=40) == [
        ("刘洋", "劉洋", 48.0, ("name 刘洋 ~ 劉洋 (traditional)", "phone differs"))]


def test_e_mails_pair_by_address_and_by_mailbox_at_another_domain(crm, alice, database):
    add_customer(crm, "Zhou Min", "--email", "ZhouMin@QQ.com")
    add_customer(crm, "周敏", "--email", "zhoumin@qq.com", "--allow-duplicate")
    add_customer(crm, "周敏 (深圳)", "--email", "zhoumin@163.com")
    add_customer(crm, "Acme", "--email", "info@acme.com")
    add_customer(crm, "Globex", "--email", "info@globex.com")  # a shared mailbox says nothing
    pairs = {frozenset(pair[:2]): pair[3] for pair in found(database)}
    assert pairs == {
        frozenset(("Zhou Min", "周敏")): ("name Zhou Min ~ 周敏 (pinyin)", "e-mail same"),
        frozenset(("周敏", "周敏 (深圳)")): (
            "name 周敏 ~ 周敏 (深圳) (legal form, place or brackets)",
            "e-mail zhoumin@qq.com ~ zhoumin@163.com"),
        frozenset(("Zhou Min", "周敏 (深圳)")): (
            "name Zhou Min ~ 周敏 (深圳) (pinyin)", "e-mail zhoumin@qq.com ~ zhoumin@163.com"),
    }


def test_unrelated_customers_are_never_paired(crm, alice, database):
    for name, *options in (("张三", "--company", "华为"), ("李四", "--company", "腾讯"),
                           ("王五",), ("John Smith", "--email", "john@acme.com"),
                           ("Acme", "--phone", "13800138000"), ("阿里巴巴",),
                           ("Jane Doe", "--company", "Acme Inc.")):
        add_customer(crm, name, *options)
    assert found(database) == []
    assert found(database, min_score=0) == []  # not even candidates: no block in common


def test_deleted_and_merged_customers_are_never_paired(crm, alice, database):
    keep = add_customer(crm, "赵六", "--phone", "13800138000")
    other = add_customer(crm, "趙六", "--allow-duplicate")
    gone = add_customer(crm, "Zhao Liu")
    assert len(found(database)) == 3
    assert crm("customer", "delete", gone).exit_code == 0
    assert names(found(database)) == {frozenset(("赵六", "趙六"))}
    assert crm("customer", "merge", keep, other).exit_code == 0
    assert found(database) == []


def test_excluded_pairs_are_left_out_and_a_limit_keeps_the_best(crm, alice, database):
    from crmcli.repo import duplicates

    add_customer(crm, "孙七", "--phone", "13800138000")
    add_customer(crm, "孫七", "--phone", "13800138000", "--allow-duplicate")
    add_customer(crm, "Sun Qi")
    assert [pair[:2] for pair in found(database, limit=1)] == [("孙七", "孫七")]
    with database() as s:
        first, second = duplicates.pairs(s, limit=1)[0].first, duplicates.pairs(s)[0].second
        left = duplicates.pairs(s, exclude=lambda a, b: (a, b) == (first, second))
        assert (first, second) not in {(p.first, p.second) for p in left} and len(left) == 2


def test_a_block_too_crowded_to_pair_is_said_and_its_members_pair_otherwise(
        crm, alice, database, monkeypatch):
    from crmcli.repo import duplicates

    monkeypatch.setattr(duplicates, "CROWDED", 2)
    for name in ("张三", "李四", "王五"):
        add_customer(crm, name, "--phone", "13800138000", "--allow-duplicate")
    add_customer(crm, "張三", "--allow-duplicate")
    with database() as s:
        scan = duplicates.scan(s)
    assert scan.crowded == [("phone +8613800138000", 3)]
    assert scan.customers == 4 and scan.compared == 1
    assert len(scan.pairs) == 1


@pytest.mark.parametrize(("company", "key"), [
    ("华为技术有限公司", "华为技术"), ("深圳市华为技术有限公司", "华为技术"),
    ("華為技術股份有限公司", "华为技术"), ("华为技术（深圳）有限公司", "华为技术"),
    ("Huawei Technologies Co., Ltd.", "huaweitechnologies"), ("ACME, Inc.", "acme"),
    ("Globex LLC", "globex"), ("有限公司", ""), ("上海市", "上海市"),
])
def test_a_company_is_compared_without_its_legal_form_place_or_brackets(company, key):
    from crmcli.likeness import firm

    assert firm(company) == key
