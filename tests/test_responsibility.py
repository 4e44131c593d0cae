"""`crm assign` and `crm ack`: responsibility, hand-overs and acknowledgement."""

import json

from helpers import add_customer


def assignments(crm, ref):
    return json.loads(crm("customer", "show", ref, "--format", "json").stdout)["assignments"]


def test_a_new_customer_has_an_acknowledged_owner_assignment_for_its_creator(crm, alice):
    ref = add_customer(crm, "Acme")
    [owner] = assignments(crm, ref)
    assert (owner["role"], owner["user"], owner["assigned_by"], owner["until"]) == \
        ("owner", "alice", "alice", None)
    assert owner["acknowledged_at"] is not None


def test_assigning_a_role_records_who_when_why_and_waits_for_acknowledgement(crm, team):
    ref = add_customer(crm, "Acme")
    result = crm("assign", ref, "--to", "bob", "--role", "service", "--reason", "complaint 投诉")
    assert result.exit_code == 0, result.output
    assert "waiting for bob" in result.stderr
    service = [a for a in assignments(crm, ref) if a["role"] == "service"][0]
    assert (service["user"], service["assigned_by"], service["reason"]) == \
        ("bob", "alice", "complaint 投诉")
    assert service["since"] and service["acknowledged_at"] is None
    assert crm("--as", "bob", "ack", ref).exit_code == 0
    service = [a for a in assignments(crm, ref) if a["role"] == "service"][0]
    assert service["acknowledged_at"] is not None


def test_a_new_holder_of_a_role_ends_the_previous_one_so_hand_offs_show(crm, team):
    ref = add_customer(crm, "Lead from fair", "--owner", "carol")
    crm("assign", ref, "--to", "alice", "--role", "owner", "--reason", "qualified, to sales")
    record = json.loads(crm("customer", "show", ref, "--format", "json").stdout)
    assert record["owner"] == "alice"
    owners = [(a["user"], a["until"] is None, a["reason"]) for a in record["assignments"]
              if a["role"] == "owner"]
    assert owners == [("carol", False, "created"), ("alice", True, "qualified, to sales")]
    shown = crm("customer", "show", ref).stdout
    assert "qualified, to sales" in shown and "current" in shown


def test_a_customer_has_one_owner_and_several_other_roles(crm, team):
    ref = add_customer(crm, "Acme")
    crm("assign", ref, "--to", "bob", "--role", "service")
    crm("assign", ref, "--to", "carol", "--role", "marketing")
    crm("assign", ref, "--to", "bob", "--role", "销售")
    current = {(a["role"], a["user"]) for a in assignments(crm, ref) if a["until"] is None}
    assert current == {("owner", "alice"), ("service", "bob"), ("marketing", "carol"),
                       ("sales", "bob")}


def test_assigning_the_current_holder_again_changes_nothing(crm, team):
    ref = add_customer(crm, "Acme")
    crm("assign", ref, "--to", "bob", "--role", "service")
    again = crm("assign", ref, "--to", "bob", "--role", "service")
    assert again.exit_code == 0 and "already" in again.stderr
    assert len(assignments(crm, ref)) == 2


def test_bad_assignments_are_refused(crm, team):
    ref = add_customer(crm, "Acme")
    assert crm("assign", ref, "--to", "bob", "--role", "janitor").exit_code == 4
    assert crm("assign", ref, "--to", "nobody", "--role", "sales").exit_code == 3
    assert crm("assign", "nothing", "--to", "bob").exit_code == 3
    assert crm("assign", ref).exit_code == 2


def test_ack_with_nothing_waiting_says_so_and_changes_nothing(crm, team):
    ref = add_customer(crm, "Acme")
    result = crm("--as", "bob", "ack", ref)
    assert result.exit_code == 0 and "nothing to acknowledge" in result.stderr
    history = json.loads(crm("history", ref, "--format", "json").stdout)
    assert "assignment.ack" not in [e["action"] for e in history]
