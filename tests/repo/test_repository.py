"""The repository layer directly: what both front ends rely on."""

import pytest
from sqlmodel import select

from crmcli import config
from crmcli.db import Database, session_scope
from crmcli.errors import Ambiguous, Conflict, Invalid, NotFound, PermissionDenied
from crmcli.models import AuditEvent, Customer
from crmcli.repo import assignments, audit, customers, notes, offboarding, search, tasks, users


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


def test_a_stale_edit_is_refused_as_a_conflict(db):
    with session_scope(db) as s:
        customer = customers.create(s, {"name": "Acme"}, by=me(s))
    opened_at = customer.version
    with session_scope(db) as s:
        customers.update(s, customers.resolve(s, "Acme"), {"city": "Paris"}, by=me(s, "bob"))
    with pytest.raises(Conflict) as refused, session_scope(db) as s:
        customers.update(s, customers.resolve(s, "Acme"), {"city": "Rome"}, by=me(s),
                         expected_version=opened_at)
    assert "bob" in str(refused.value)
    with session_scope(db, write=False) as s:
        assert customers.resolve(s, "Acme").city == "Paris"


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
        assert [c.name for c in search.find(s, "王伟")] == ["王伟", "王伟明"]
        assert [c.name for c in search.find(s, "三台服务")] == ["王伟明"]
        assert [c.name for c in search.find(s, "面谈")] == ["王伟"]


def test_search_index_rebuilt_in_bulk_matches_the_incremental_one(db):
    with session_scope(db) as s:
        acme = customers.create(s, {"name": "Acme", "company": "Roadrunner Inc"}, by=me(s))
        notes.add(s, acme, "wants anvils", by=me(s))
        customers.create(s, {"name": "Globex"}, by=me(s))
    with session_scope(db) as s:
        before = s.connection().exec_driver_sql("SELECT * FROM customer_fts ORDER BY rowid").all()
        search.refresh_all(s)
        after = s.connection().exec_driver_sql("SELECT * FROM customer_fts ORDER BY rowid").all()
    assert before == after and len(after) == 2


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
