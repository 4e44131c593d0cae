"""Queries of one or two characters (`zs`, 张三, `伟`) are answered by the index's terms.

A trigram index cannot match fewer than three characters, so these once scanned every
customer and note. They now read the terms of the padded index (migration m008); the
first test holds them to what that scan found, for every one- and two-character piece of
the data; the others follow the index through the writes that change it.
"""

import json
import sqlite3

import pytest
from sqlalchemy import or_
from sqlmodel import select

from crmcli.models import Customer, Note
from crmcli.repo import search
from crmcli.repo.customer_lists import CustomerQuery, list_
from helpers import add_customer


def found(crm, text: str, *options: str) -> list[str]:
    result = crm("customer", "find", text, "--format", "json", *options)
    assert result.exit_code == 0, result.output
    return [c["name"] for c in json.loads(result.stdout)]


def scanned(s, text: str) -> list[str]:
    """The names a LIKE over every searched column and live note finds (the old way)."""
    likes = ["%" + form.replace("%", "\\%").replace("_", "\\_") + "%" for form in search.forms(text)]
    columns = (Customer.name, Customer.company, Customer.phone, Customer.email,
               Customer.requirement, Customer.spelled)
    noted = select(Note.customer_id).where(Note.deleted_at.is_(None), or_(
        *(column.like(like, escape="\\") for column in (Note.body, Note.quote) for like in likes)))
    hit = or_(*(column.like(like, escape="\\") for column in columns for like in likes),
              Customer.id.in_(noted))
    rows = s.exec(select(Customer.name).where(Customer.deleted_at.is_(None), hit))
    return sorted(rows.all())


@pytest.fixture
def varied(crm, alice) -> None:
    """Customers whose short pieces sit at the start, middle and end of every searched
    field: written one by one (the triggers) and by an import (the deferred bulk fill)."""
    acme = add_customer(crm, "Acme", "--company", "Roadrunner Inc", "--email", "wile@acme.com",
                        "--requirement", "需要太极拳培训方案")
    add_customer(crm, "张三", "--phone", "13800138000")
    add_customer(crm, "X", "--company", "Q")
    crm("note", "add", acme, "asked for a quote", "--quote", "发票抬头要改")
    gone = crm("note", "add", acme, "a deleted remark zq").stdout.strip()
    assert crm("note", "delete", gone).exit_code == 0
    imported = ("name,company,phone\n張三豐,武当科技,010-6552 1234\n王伟明,\"a%b_c\",\n"
                "Müller,Κώστας GmbH,+8613900139000\n")
    assert crm("import", "customers", "-", "--input-format", "csv", input=imported).exit_code == 0


def test_every_short_piece_of_the_data_finds_what_a_scan_finds(varied, database):
    with database() as s:
        texts = s.exec(select(Customer.name, Customer.company, Customer.phone, Customer.email,
                              Customer.requirement, Customer.spelled)).all()
        texts += s.exec(select(Note.body, Note.quote)).all()
        pieces = {value[i:i + size] for row in texts for value in row if value
                  for size in (1, 2) for i in range(len(value) - size + 1)}
        pieces = {piece.strip() for piece in pieces} - {""}
        pieces |= {"zz", "伟x", "#", "ZS", "ACM"}  # absent ones, and case
        assert len(pieces) > 150
        for piece in sorted(pieces):
            hits = sorted(c.name for c in list_(s, CustomerQuery(search=piece)))
            assert hits == scanned(s, piece), piece


def test_initials_names_and_either_script_are_found(varied, crm):
    assert found(crm, "zs") == ["张三", "張三豐"]  # zs, zsf
    assert found(crm, "zsf") == ["張三豐"]
    assert found(crm, "张三") == ["张三", "張三豐"]
    assert found(crm, "張三") == ["張三豐", "张三"]  # 张三 through its simplified form
    assert found(crm, "三豐") == ["張三豐"]
    assert found(crm, "伟明") == ["王伟明"]  # the end of a name
    assert found(crm, "伟") == ["王伟明"]  # one character, in the middle
    assert found(crm, "明") == ["王伟明"]  # and the very last


def test_a_piece_of_a_phone_e_mail_company_requirement_or_note_is_found(varied, crm):
    assert found(crm, "65") == ["張三豐"]  # +861065521234
    assert found(crm, "39") == ["Müller"]
    assert found(crm, "@a") == ["Acme"]
    assert found(crm, "oa") == ["Acme"]  # Roadrunner Inc
    assert found(crm, "太极") == ["Acme"]
    assert found(crm, "抬头") == ["Acme"]
    assert found(crm, "zq") == []  # only in a deleted note
    assert found(crm, "%b") == ["王伟明"] and found(crm, "_") == ["王伟明"]  # literally
    assert found(crm, "Q") == ["X", "Acme"]  # a whole one-character company first


def test_case_is_folded_as_in_longer_queries(varied, crm):
    assert found(crm, "ACM") == ["Acme"] and found(crm, "AC") == ["Acme"]
    assert found(crm, "ÜL") == ["Müller"]  # beyond ASCII too, as a trigram query folds
    assert found(crm, "ας") == ["Müller"]  # SQLite folds the final sigma: Κώστας → κωστασ


def test_a_short_query_reads_the_index_not_the_table(varied, database):
    with database() as s:
        statement = select(Customer).where(*CustomerQuery(search="伟明").conditions())
        compiled = statement.compile(s.connection(), compile_kwargs={"literal_binds": True})
        steps = [row[3] for row in s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
    assert any("customer_fts_terms" in step for step in steps), steps
    assert "SCAN customer" not in steps and "SCAN note" not in steps, steps


def test_short_queries_follow_edits_deletes_restores_and_merges(crm, alice):
    wang = add_customer(crm, "王伟")
    li = add_customer(crm, "李娜")
    assert found(crm, "wW") == ["王伟"]
    assert crm("customer", "edit", wang, "--name", "王芳").exit_code == 0
    assert found(crm, "王伟") == [] and found(crm, "ww") == [] and found(crm, "wf") == ["王芳"]
    assert crm("customer", "delete", li).exit_code == 0
    assert found(crm, "李娜") == [] and found(crm, "ln") == []
    listed = crm("customer", "list", "--deleted", "--search", "ln", "--format", "json")
    assert [c["name"] for c in json.loads(listed.stdout)] == ["李娜"]
    assert crm("customer", "restore", li).exit_code == 0
    assert found(crm, "ln") == ["李娜"]
    note = crm("note", "add", li, "面谈").stdout.strip()
    assert found(crm, "面谈") == ["李娜"]
    assert crm("note", "edit", note, "--body", "电话").exit_code == 0
    assert found(crm, "面谈") == [] and found(crm, "电话") == ["李娜"]
    assert crm("customer", "merge", wang, li).exit_code == 0
    assert found(crm, "电话") == ["王芳"] and found(crm, "李娜") == ["王芳"]  # kept in a note


def test_another_programs_write_is_followed_too(crm, alice, crm_home):
    add_customer(crm, "王伟")
    with sqlite3.connect(crm_home / "crm.db") as db:
        db.execute("UPDATE customer SET name = '赵敏' WHERE name = '王伟'")
    assert found(crm, "王伟") == [] and found(crm, "赵敏") == ["赵敏"]
