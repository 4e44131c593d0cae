"""The repository layer directly: what both front ends rely on."""

import pytest
from sqlmodel import select, update

from crmcli import config
from crmcli.db import Database, session_scope
from crmcli.errors import Ambiguous, Conflict, Invalid, NotFound, PermissionDenied
from crmcli.models import AuditEvent, Customer
from crmcli.repo import (
    assignments,
    audit,
    custom_fields,
    customer_lists,
    customer_merges,
    customers,
    notes,
    offboarding,
    tasks,
    users,
)
from crmcli.repo.customer_lists import CustomerQuery


@pytest.fixture
def db(crm_home):
    database = Database.create(config.resolve())
    with session_scope(database) as s:
        users.create_first_admin(s, "alice", name="Alice", department="sales")
        admin = users.acting(s, "alice")
        users.add(s, "bob", name="Bob", department="service", by=admin)
    yield database
    database.dispose()


def me(s, handle="alice"):
    return users.acting(s, handle)


def test_create_parses_through_the_data_dictionary_and_audits(db):
    with session_scope(db) as s:
        customer = customers.create(s, {"客户名称": "张三", "手机": "138 0013 8000", "阶段": "商机"},
                                    by=me(s))
    with session_scope(db, write=False) as s:
        stored = customers.resolve(s, customer.id[-8:-2])
        assert (stored.name, stored.phone, stored.stage) == ("张三", "+8613800138000", "qualified")
        [event] = [e for e in audit.for_customer(s, stored) if e.action == "customer.create"]
        assert event.changes["phone"] == [None, "+8613800138000"]
        assert event.synced is False


def test_a_failed_write_leaves_nothing_behind(db):
    with pytest.raises(Invalid), session_scope(db) as s:
        customers.create(s, {"name": "Good"}, by=me(s))
        customers.create(s, {"name": "Bad", "email": "nope"}, by=me(s))
    with session_scope(db, write=False) as s:
        assert s.exec(select(Customer)).all() == []
        assert [e.action for e in s.exec(select(AuditEvent))] == ["user.create", "user.create"]


def open_editor(db, names):
    """A customer `Acme` (with a custom field) and the values an editor opened on it shows."""
    with session_scope(db) as s:
        custom_fields.add(s, "合同编号", "text", [], by=me(s))
        customer = customers.create(
            s, {"name": "Acme", "phone": "13800138000", "合同编号": "HT-1"}, by=me(s))
    return customers.field_values(customer, names)


def written_as_a_pull_would(db, **values):
    """Another replica's change arriving: the row rewritten by bob's values, version kept."""
    with session_scope(db) as s:
        row = customers.resolve(s, "Acme")
        s.exec(update(Customer).where(Customer.id == row.id)
               .values(**values, updated_by="bob", version=row.version))


def stored_acme(db):
    with session_scope(db, write=False) as s:
        customer = customers.resolve(s, "Acme")
        return customer, [e.action for e in audit.for_customer(s, customer)]


@pytest.mark.parametrize("changed", [
    {"city": "Paris"},  # the field being edited
    {"phone": "+8613900139000"},  # a field the editor showed and left alone
    {"extra": {"合同编号": "HT-2"}},  # a custom field the editor showed
])
def test_an_edit_is_refused_when_a_value_the_editor_showed_changed_meanwhile(db, changed):
    shown = open_editor(db, ["name", "phone", "city", "level", "合同编号"])
    written_as_a_pull_would(db, **changed)
    before, history = stored_acme(db)
    with pytest.raises(Conflict) as refused, session_scope(db) as s:
        customers.update(s, customers.resolve(s, "Acme"), {"city": "Rome", "level": "A"},
                         by=me(s), expected=shown)
    assert "was changed by bob since you opened it" in str(refused.value)
    assert refused.value.exit_code == 5
    after, history_after = stored_acme(db)
    assert after.model_dump() == before.model_dump()  # nothing written
    assert history_after == history


def test_an_edit_goes_through_when_only_fields_the_editor_did_not_show_changed(db):
    shown = open_editor(db, ["name", "city"])
    written_as_a_pull_would(db, industry="logistics", extra={"合同编号": "HT-2"})
    with session_scope(db) as s:
        changes = customers.update(s, customers.resolve(s, "Acme"), {"city": "Rome"}, by=me(s),
                                   expected=shown)
    assert changes == {"city": [None, "Rome"]}
    after, _ = stored_acme(db)
    assert (after.city, after.industry, after.extra) == ("Rome", "logistics", {"合同编号": "HT-2"})


def test_update_returns_before_and_after_and_bumps_the_version_once(db):
    with session_scope(db) as s:
        customer = customers.create(s, {"name": "Acme", "level": "B"}, by=me(s))
        changes = customers.update(s, customer, {"level": "A", "city": "Rome", "name": "Acme"},
                                   by=me(s))
        assert changes == {"level": ["B", "A"], "city": [None, "Rome"]}
        assert customer.version == 2
        assert customers.update(s, customer, {"level": "A"}, by=me(s)) == {}
        assert customer.version == 2


def test_resolve_reports_ambiguity_with_candidates(db):
    with session_scope(db) as s:
        for company in ("A", "B"):
            customers.create(s, {"name": "王伟", "company": company}, by=me(s))
        with pytest.raises(Ambiguous) as ambiguous:
            customers.resolve(s, "王伟")
        assert len(ambiguous.value.candidates) == 2
        with pytest.raises(NotFound):
            customers.resolve(s, "李娜")


def test_search_finds_short_and_long_chinese_text_and_notes(db):
    with session_scope(db) as s:
        wang = customers.create(s, {"name": "王伟"}, by=me(s))
        customers.create(s, {"name": "王伟明", "requirement": "要三台服务器"}, by=me(s))
        notes.add(s, wang, "约了下周二面谈", by=me(s))
    with session_scope(db, write=False) as s:
        def found(text: str) -> list[str]:
            return [c.name for c in customer_lists.list_(s, CustomerQuery(search=text))]

        assert found("王伟") == ["王伟", "王伟明"]
        assert found("三台服务") == ["王伟明"]
        assert found("面谈") == ["王伟"]


def test_the_search_index_kept_by_its_triggers_matches_one_built_from_scratch(db):
    from crmcli.migrations import INDEX_ALL

    with session_scope(db) as s:
        acme = customers.create(s, {"name": "Acme", "company": "Roadrunner Inc"}, by=me(s))
        notes.add(s, acme, "wants anvils", by=me(s))
        globex = customers.create(s, {"name": "張三"}, by=me(s))
        initech = customers.create(s, {"name": "Initech"}, by=me(s))
        notes.add(s, initech, "asked for a demo", quote="下周演示", by=me(s))
        customers.update(s, acme, {"company": "ACME Holdings", "requirement": "anvils"}, by=me(s))
        customer_merges.merge(s, acme, initech, by=me(s))
        customers.delete(s, globex, by=me(s))
    with session_scope(db) as s:
        query = "SELECT * FROM customer_fts ORDER BY rowid"
        before = s.connection().exec_driver_sql(query).all()
        s.connection().exec_driver_sql("DELETE FROM customer_fts")
        s.connection().exec_driver_sql(INDEX_ALL)
        after = s.connection().exec_driver_sql(query).all()
    assert before == after and len(after) == 3  # deleted ones too: list --deleted searches
    pad = "\x1f\x1f"  # ends every value: short queries begin a trigram (migration m008)
    acme = next(row for row in after if row[0] == "Acme" + pad)
    assert acme[1] == "ACME Holdings" + pad and "下周演示" in acme[5]


def test_assign_hands_over_and_acknowledge_records_acceptance(db):
    with session_scope(db) as s:
        customer = customers.create(s, {"name": "Acme"}, by=me(s))
        row, changed = assignments.assign(s, customer, "bob", "owner", by=me(s), reason="handover")
        assert changed and customer.owner == "bob" and row.acknowledged_at is None
        assert [a.user for a in assignments.awaiting(s, "bob")] == ["bob"]
        accepted = assignments.acknowledge(s, customer, by=me(s, "bob"))
        assert [a.role for a in accepted] == ["owner"]
        assert assignments.awaiting(s, "bob") == []
        owners = [(a.user, a.until is None) for a in assignments.for_customer(s, customer.id)]
        assert owners == [("alice", False), ("bob", True)]


def test_task_transitions_are_idempotent(db):
    with session_scope(db) as s:
        customer = customers.create(s, {"name": "Acme"}, by=me(s))
        task = tasks.add(s, customer, "call", by=me(s), due="+1d")
        assert tasks.complete(s, task, by=me(s)) is True
        assert tasks.complete(s, task, by=me(s)) is False
        assert tasks.reopen(s, task, by=me(s)) is True
        assert task.done_at is None


def test_only_admins_manage_users_and_a_deactivated_user_cannot_act(db):
    with session_scope(db) as s:
        with pytest.raises(PermissionDenied):
            users.add(s, "eve", name="Eve", department=None, by=me(s, "bob"))
        customer = customers.create(s, {"name": "Acme", "owner": "bob"}, by=me(s))
        moved = offboarding.deactivate(s, "bob", transfer_to="alice", by=me(s))
        assert moved == {"customers": 1, "tasks": 0, "assignments": 0}
        assert customer.owner == "alice"
        with pytest.raises(PermissionDenied):
            users.acting(s, "bob")
