"""Team settings on one database: only admins change them, every change is audited, a
removed one can be set again, and `crm setting` refuses what it does not know."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from crmcli.errors import Invalid, NotFound, PermissionDenied
from crmcli.models import AuditEvent
from crmcli.repo import settings
from crmcli.repo.users import Actor

ADMIN = Actor("alice", "admin", "sales")


@pytest.fixture
def colour(monkeypatch):
    """A setting people may type, as a topic registers one."""
    def parse(text: str) -> str:
        if text not in ("red", "blue"):
            raise Invalid(f"{text!r}: red or blue", "colour")
        return text

    entry = settings.Known("test.colour", "the team's colour", parse, str.upper)
    monkeypatch.setitem(settings.KNOWN, entry.key, entry)
    return entry


def test_an_admin_sets_lists_and_unsets_a_setting(crm, alice, colour):
    assert crm("setting", "set", "test.colour", "red").exit_code == 0
    listed = json.loads(crm("setting", "list", "--format", "json").stdout)
    assert listed == [{"key": "test.colour", "value": "red", "shown": "RED"}]
    assert "test.colour" in crm("setting", "keys").stdout
    assert crm("setting", "unset", "test.colour").exit_code == 0
    assert json.loads(crm("setting", "list", "--format", "json").stdout) == []


def test_an_unknown_setting_or_a_bad_value_is_refused_with_exit_4(crm, alice, colour):
    unknown = crm("setting", "set", "colour", "red")
    assert unknown.exit_code == 4
    assert "not a team setting" in unknown.stderr and "test.colour" in unknown.stderr
    bad = crm("setting", "set", "test.colour", "green")
    assert bad.exit_code == 4 and "red or blue" in bad.stderr
    assert json.loads(crm("setting", "list", "--format", "json").stdout) == []


def test_unsetting_what_is_not_set_exits_3(crm, alice, colour):
    assert crm("setting", "unset", "test.colour").exit_code == 3


def test_a_member_may_not_change_a_setting(crm, team, colour):
    result = crm("--as", "bob", "setting", "set", "test.colour", "red")
    assert result.exit_code == 6
    assert "only an admin may change the team settings" in result.stderr


def test_every_change_is_audited_and_a_removed_setting_comes_back(alice, database):
    with database(write=True) as s:
        assert settings.put(s, "rule.expo", {"to": "dept:sales"}, by=ADMIN)
        assert not settings.put(s, "rule.expo", {"to": "dept:sales"}, by=ADMIN)  # unchanged
        settings.remove(s, "rule.expo", by=ADMIN)
        assert settings.get(s, "rule.expo", "default") == "default"
        with pytest.raises(NotFound):
            settings.remove(s, "rule.expo", by=ADMIN)
        settings.put(s, "rule.expo", {"to": "dept:service"}, by=ADMIN)
        settings.put(s, "ruler", 1, by=ADMIN)
        assert settings.values(s, "rule.") == {"rule.expo": {"to": "dept:service"}}
    with database() as s:
        actions = s.exec(select(AuditEvent.action).where(AuditEvent.entity == "setting")
                         .order_by(AuditEvent.seq)).all()
        assert actions == ["setting.create", "setting.delete", "setting.update", "setting.create"]


def test_a_members_write_is_refused_in_the_repository_too(alice, database):
    with database(write=True) as s, pytest.raises(PermissionDenied):
        settings.put(s, "rule.expo", {}, by=Actor("bob", "member", "service"))
