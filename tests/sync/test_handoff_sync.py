"""A hand-over travels like any record: the team's default checklist reaches the member
who hands over, and the receiver's assignment, task and the words it carried reach the
receiver's replica (nothing new for the shared database to judge)."""

from __future__ import annotations

import json


def test_a_hand_over_made_on_one_replica_reaches_its_receiver_with_its_words(team, postgres):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    alice.ok("setting", "set", "handoff.require.service", "requirement")
    ref = alice.ok("customer", "add", "Acme", "--owner", "bob", "--sla", "4h")
    alice.ok("note", "add", ref, "--kind", "complaint", "invoice wrong", "--quote", "发票开错了")
    alice.sync()
    bob.sync()
    refused = bob("handoff", ref, "--to", "carol", "--role", "service")
    assert refused.exit_code == 4  # alice's default checklist, pulled
    assert "requirement is empty" in refused.stderr
    bob.ok("customer", "edit", ref, "--requirement", "reissue the invoice")
    bob.ok("handoff", ref, "--to", "carol", "--role", "service", "--note", "call first",
           env={"CRM_NOW": "2026-03-02T09:00:00+00:00"})
    bob.sync()
    assert postgres.value(
        "SELECT detail ->> 'quote' FROM audit_event WHERE action = 'customer.handoff'") == "发票开错了"
    carol.sync()
    [task] = json.loads(carol.ok("task", "list", "--mine", "--format", "json"))
    assert (task["title"], task["due"], task["created_by"]) == (
        "contact within sla (4h)", "2026-03-02T13:00:00Z", "bob")
    ack = carol("ack", ref)
    assert ack.exit_code == 0, ack.output
    assert ack.stdout.startswith("Hand-over: bob handed service to carol")
    assert "call first" in ack.stdout and "“发票开错了”" in ack.stdout
    carol.sync()
    bob.sync()
    record = json.loads(bob.ok("customer", "show", ref, "--format", "json"))
    [service] = [a for a in record["assignments"] if a["role"] == "service"]
    assert service["user"] == "carol" and service["acknowledged_at"] is not None


def test_on_a_team_a_reader_s_replica_checks_a_sensitive_field_by_its_mask(team):
    alice, bob = team["alice"], team["bob"]
    ref = alice.ok("customer", "add", "Acme", "--owner", "bob")
    alice.ok("customer", "edit", ref, "--set", "contract_amount=50万")
    alice.sync()
    bob.sync()
    with alice.session() as s:  # the replica holds no value, only the mask of one
        from crmcli.repo import customers

        assert customers.resolve(s, ref).contract_amount is None
    hidden = bob("handoff", ref, "--to", "carol", "--role", "finance",
                 "--require", "contract_amount")
    assert hidden.exit_code == 6 and "only its readers" in hidden.stderr
    alice.ok("handoff", ref, "--to", "carol", "--role", "finance", "--require", "contract_amount")
