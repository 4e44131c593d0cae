"""What `crm user` and `crm field add` refuse a member, no other path writes: neither a
conflict's resolution on the member's replica nor a push of a modified client's change."""

import json

from sqlmodel import select

from crmcli import clock
from crmcli.models import Conflict, FieldDef, User
from crmcli.repo import audit, entities


def write_directly(member, model, where, values: dict) -> None:
    """Change a record on the member's replica as a modified client would: no role check,
    but an audit event, so the next sync pushes it."""
    with member.session(write=True) as s:
        record = s.exec(select(model).where(where)).one()
        entity = entities.entity_of(record)
        audit.record(
            s, by=member.handle, action=f"{entity}.update", entity=entity, entity_id=record.id,
            changes=audit.apply(record, values, member.handle),
        )


def add_conflict(member, model, where, field: str, mine, theirs) -> str:
    """An open conflict entry about one field of a record, as a push would have made it."""
    with member.session(write=True) as s:
        record = s.exec(select(model).where(where)).one()
        entry = Conflict(
            kind="edit", entity=entities.entity_of(record), entity_id=record.id, field=field,
            base=theirs, mine=mine, theirs=theirs, actor="carol", made_at=clock.now(),
            event_id="e", created_at=clock.now(), updated_at=clock.now(),
        )
        s.add(entry)
        s.flush()
        return entry.id[-8:]


def test_a_member_cannot_take_mine_on_a_conflict_about_a_user_or_a_field(team):
    alice, bob = team["alice"], team["bob"]
    alice.ok("field", "add", "budget", "--type", "int")
    alice.sync()
    bob.sync()
    cases = (
        (User, User.handle == "alice", "name", "Mallory"),
        (FieldDef, FieldDef.name == "budget", "type", "text"),
    )
    for model, where, field, mine in cases:
        entry = add_conflict(bob, model, where, field, mine, "as it was")
        refused = bob("conflicts", "resolve", entry, "--restore-other")
        assert refused.exit_code == 6, refused.output
        assert "only an admin" in refused.stderr
        bob.ok("conflicts", "resolve", entry, "--keep-current")
    assert json.loads(bob.ok("user", "show", "alice", "--format", "json"))["name"] == "Alice Wang"

    entry = add_conflict(alice, User, User.handle == "bob", "name", "Robert Li", "Bob Li")
    alice.ok("conflicts", "resolve", entry, "--restore-other")  # an admin may
    assert json.loads(alice.ok("user", "show", "bob", "--format", "json"))["name"] == "Robert Li"


def test_a_members_pushed_change_to_a_user_or_a_field_is_a_conflict_not_a_change(team):
    alice, bob = team["alice"], team["bob"]
    alice.ok("field", "add", "budget", "--type", "int")
    alice.sync()
    bob.sync()
    write_directly(bob, User, User.handle == "alice", {"name": "Mallory", "role": "member"})
    write_directly(bob, FieldDef, FieldDef.name == "budget", {"type": "text"})
    with bob.session(write=True) as s:  # a field declared by a member, past `crm field add`
        row = FieldDef(name="secret", type="text", choices=[])
        s.add(row)
        audit.record(s, by="bob", action="field.create", entity="field_def", entity_id=row.id,
                     changes=audit.snapshot(row))
    assert bob.sync()["conflicts"] == 4  # alice's name and role, budget's type, the new field
    alice.sync()
    for member in (alice, bob):
        shown = json.loads(member.ok("user", "show", "alice", "--format", "json"))
        assert (shown["name"], shown["role"]) == ("Alice Wang", "admin")
        fields = member.ok("field", "list", "--format", "json")
        assert [(f["name"], f["type"]) for f in json.loads(fields)] == [("budget", "int")]
    entries = {entry["field"]: entry for entry in json.loads(
        alice.ok("conflicts", "list", "--format", "json"))}
    assert entries["type"]["mine"] == "text" and entries["name"]["mine"] == "Mallory"
    assert entries["name, type"]["kind"] == "deleted"  # the field bob declared
    alice.ok("conflicts", "resolve", entries["name, type"]["id"][-8:], "--restore-other")
    alice.sync()
    assert "secret" in alice.ok("field", "list")
