"""The search index follows every write, whoever makes it: triggers on customer and note.

Each test writes searchable text by a path that once had to refresh the index itself (or
forgot to), then searches for the new text and for the old.
"""

import json
import sqlite3

from sqlmodel import select

from crmcli import clock
from crmcli.models import Conflict, Note
from helpers import add_customer


def found(crm, text: str) -> list[str]:
    result = crm("customer", "find", text, "--format", "json")
    assert result.exit_code == 0, result.output
    return [c["name"] for c in json.loads(result.stdout)]


def test_resolving_a_conflict_on_a_notes_quote_makes_the_new_text_searchable_and_not_the_old(
    crm, alice, database
):
    acme = add_customer(crm, "Acme Trading")
    assert crm("note", "add", acme, "called about the invoice", "--quote", "发票抬头要改").exit_code == 0
    with database(write=True) as s:
        note = s.exec(select(Note)).one()
        entry = Conflict(kind="edit", entity="note", entity_id=note.id, customer_id=note.customer_id,
                         field="quote", base="发票抬头要改", mine="抬头不用改了",
                         theirs="发票抬头要改", actor="bob", made_at=clock.now(), event_id="e1")
        s.add(entry)
        s.flush()
        ref = entry.id[-8:]
    result = crm("conflicts", "resolve", ref, "--restore-other")
    assert result.exit_code == 0, result.output
    assert found(crm, "抬头不用改") == ["Acme Trading"]
    assert found(crm, "发票抬头要改") == []


def test_a_write_by_another_program_is_followed_too(crm, alice, crm_home):
    acme = add_customer(crm, "Acme Trading", "--requirement", "anvils")
    assert crm("note", "add", acme, "wants a demo").exit_code == 0
    with sqlite3.connect(crm_home / "crm.db") as db:
        db.execute("UPDATE customer SET requirement = 'rockets' WHERE name = 'Acme Trading'")
        db.execute("UPDATE note SET body = 'wants a discount'")
    assert found(crm, "rockets") == ["Acme Trading"] and found(crm, "anvils") == []
    assert found(crm, "discount") == ["Acme Trading"] and found(crm, "demo") == []
    with sqlite3.connect(crm_home / "crm.db") as db:
        db.execute("DELETE FROM note")
    assert found(crm, "discount") == []


def test_merging_moves_the_notes_text_to_the_customer_that_stays(crm, alice):
    keep = add_customer(crm, "Acme Trading")
    other = add_customer(crm, "Acme Trade Co")
    assert crm("note", "add", other, "signed the framework contract").exit_code == 0
    assert crm("customer", "merge", keep, other).exit_code == 0
    assert found(crm, "framework contract") == ["Acme Trading"]
    assert found(crm, "Acme Trade Co") == ["Acme Trading"]  # its name, kept in a note


def test_a_bulk_import_defers_the_index_and_leaves_it_complete_and_following(
    crm, alice, crm_home
):
    acme = add_customer(crm, "Acme Trading")
    customers = "name,requirement\n" + "".join(f"客户{i},需要第{i}批货\n" for i in range(300))
    customers += "Acme Trading,rockets\n"
    assert crm("import", "customers", "-", "--input-format", "csv", input=customers).exit_code == 0
    notes = f"customer,body\n{acme},asked for samples\n客户7,回访满意\n"
    assert crm("import", "notes", "-", "--input-format", "csv", input=notes).exit_code == 0
    assert found(crm, "需要第123批货") == ["客户123"]
    assert found(crm, "rockets") == ["Acme Trading"]
    assert found(crm, "asked for samples") == ["Acme Trading"]
    assert found(crm, "回访满意") == ["客户7"]
    with sqlite3.connect(crm_home / "crm.db") as db:
        assert db.execute("SELECT count(*) FROM meta WHERE key = 'search_deferred'").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM search_dirty").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM customer_fts").fetchone() == (301,)
    assert crm("customer", "edit", "客户7", "--requirement", "换供应商").exit_code == 0
    assert found(crm, "换供应商") == ["客户7"]


def test_a_refused_import_leaves_the_index_following(crm, alice, crm_home):
    refused = crm("import", "customers", "-", "--input-format", "csv",
                  input="name,phone\nAcme,13800138000\nBad,not a phone\n")
    assert refused.exit_code == 4
    with sqlite3.connect(crm_home / "crm.db") as db:
        assert db.execute("SELECT count(*) FROM meta WHERE key = 'search_deferred'").fetchone() == (0,)
    add_customer(crm, "Globex")
    assert found(crm, "Globex") == ["Globex"] and found(crm, "Acme") == []


def test_customers_added_after_a_bulk_import_are_found(crm, alice):
    """The import makes the insert trigger stand aside; it must be back afterwards."""
    customers = "name\n" + "".join(f"客户{i}\n" for i in range(50))
    assert crm("import", "customers", "-", "--input-format", "csv", input=customers).exit_code == 0
    add_customer(crm, "Globex Holdings")
    assert found(crm, "Globex") == ["Globex Holdings"]


def test_a_bulk_load_that_fails_but_is_committed_still_leaves_the_index_following(
    crm, alice, database
):
    """Whoever catches a failed load and commits what it wrote keeps a following index."""
    from crmcli.models import Customer
    from crmcli.repo import search

    with database(write=True) as s:
        try:
            with search.deferred(s):
                s.add(Customer(name="Initech", sort_key="initech", spelled="initech"))
                s.flush()
                raise RuntimeError("the load stops half-way")
        except RuntimeError:
            pass
    assert found(crm, "Initech") == ["Initech"]
    add_customer(crm, "Globex Holdings")
    assert found(crm, "Globex") == ["Globex Holdings"]
