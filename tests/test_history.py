"""`crm history`: every write is an audit event with actor, time and before/after."""

import json

from helpers import add_customer


def history(crm, *args):
    result = crm("history", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_customers_history_has_every_write_with_actor_and_before_after(crm, team):
    ref = add_customer(crm, "Acme", "--stage", "lead", "--owner", "bob")
    crm("--as", "bob", "customer", "edit", ref, "--stage", "proposal", "--city", "杭州")
    crm("note", "add", ref, "called")
    crm("assign", ref, "--to", "carol", "--role", "marketing")
    crm("--as", "carol", "ack", ref)
    events = history(crm, ref)
    assert [e["action"] for e in events] == [
        "customer.create", "assignment.create", "customer.update", "note.create",
        "assignment.create", "assignment.ack"]
    edit = events[2]
    assert edit["actor"] == "bob"
    assert edit["changes"] == {"stage": ["lead", "proposal"], "city": [None, "杭州"]}
    assert all(e["at"].endswith("Z") for e in events)
    assert events[5]["actor"] == "carol"


def test_a_users_history_shows_what_they_did(crm, team):
    ref = add_customer(crm, "Acme")
    crm("--as", "bob", "note", "add", ref, "bob was here")
    events = history(crm, "--user", "bob")
    assert [e["action"] for e in events] == ["user.create", "note.create"]


def test_history_needs_exactly_one_of_ref_and_user(crm, alice):
    ref = add_customer(crm, "Acme")
    assert crm("history").exit_code == 2
    assert crm("history", ref, "--user", "alice").exit_code == 2
    assert crm("history", "--user", "nobody").exit_code == 3


def test_history_of_a_merged_customer_includes_the_absorbed_ones(crm, alice):
    keep = add_customer(crm, "Acme")
    other = add_customer(crm, "Acme dup", "--city", "Paris")
    crm("customer", "merge", keep, other)
    events = history(crm, keep)
    created = [e for e in events if e["action"] == "customer.create"]
    assert len(created) == 2


def test_history_table_is_for_people(crm, alice):
    ref = add_customer(crm, "Acme", "--stage", "lead")
    crm("customer", "edit", ref, "--stage", "won")
    table = crm("history", ref).stdout
    assert "stage: lead → won" in table and "customer.update" in table


def test_a_deleted_customers_history_stays_readable_by_name_or_id(crm, alice):
    ref = add_customer(crm, "Gone Ltd", "--city", "Paris")
    assert crm("customer", "delete", "Gone Ltd").exit_code == 0
    for reference in ("Gone Ltd", ref):
        actions = [e["action"] for e in history(crm, reference)]
        assert actions == ["customer.create", "assignment.create", "customer.delete"]
    shown = crm("customer", "show", "Gone Ltd")
    assert shown.exit_code == 3
    assert "customer 'Gone Ltd' was deleted; `crm history Gone Ltd` still shows it" in shown.stderr


def test_a_live_customer_is_preferred_over_a_deleted_one_of_the_same_name(crm, alice):
    add_customer(crm, "Acme")
    crm("customer", "delete", "Acme")
    live = add_customer(crm, "Acme", "--allow-duplicate")
    assert {e["customer_id"][-8:] for e in history(crm, "Acme")} == {live}
