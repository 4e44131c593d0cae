"""Approvals on a team (README "Approvals"): the shared database judges them through each
member's own login (`sync/judge_approvals.py`), decisions sync like any change, and two
approvers deciding differently offline leave a conflict entry, never silently one.

acme is alice's (sales); dan is a manager of sales (decides role:manager requests on it),
carol a manager of marketing (does not), bob a member holding a role on acme.
"""

import json

import psycopg
import pytest
from test_hostile_clients import as_member, push_as, pushable, refused, shared_row

from crmcli.ids import new_id


@pytest.fixture
def dan(replica, team):
    dan = replica("dan", "Dan Wu", "sales", "manager")
    dan.sync()
    return dan


@pytest.fixture
def asked(team, acme, dan) -> str:
    """bob asked for a contract approval on acme (for the managers of sales); all synced."""
    short = team["bob"].ok("approval", "request", acme, "--kind", "contract",
                           "--amount", "50万", "--reason", "big deal")
    assert team["bob"].sync()["conflicts"] == 0
    for member in (team["alice"], team["carol"], dan):
        member.sync()
    return short


def approval_id(postgres) -> str:
    return postgres.value("SELECT id FROM approval")


def request_row(customer_id: str, requested_by: str, **changes) -> dict:
    return {
        "id": new_id(), "customer_id": customer_id, "kind": "contract", "amount": "500000",
        "target": "role:manager", "reason": None, "requested_by": requested_by,
        "status": "open", "decided_by": None, "decided_at": None, "decision_reason": None,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "version": 1, "deleted_at": None, **changes,
    }


def test_a_request_and_its_decision_reach_every_replica(team, asked, dan):
    assert dan.ok("approval", "approve", asked, "--reason", "go") == ""
    dan.sync()
    bob = team["bob"]
    bob.sync()
    [row] = json.loads(bob.ok("approval", "list", "--mine", "--format", "json"))
    assert (row["status"], row["decided_by"], row["decision_reason"], row["amount"]) == (
        "approved", "dan", "go", "500000")


def test_only_an_approver_the_request_names_decides_it_through_their_own_login(
        asked, postgres):
    row_id = None
    with as_member(postgres, "carol") as carol:  # a manager, but of marketing
        row = pushable(carol, "approval", approval_id(postgres))
        row_id = row["id"]
        refused(carol, "approval", {**row, "status": "approved", "decided_by": "carol"},
                "carol may not decide approval .*: it is decided by role:manager or admins")
    with as_member(postgres, "bob") as bob:  # the requester decides nothing of his own
        refused(bob, "approval", {**row, "status": "approved"}, "bob may not decide approval")
    own = request_row(row["customer_id"], "alice")  # an admin decides any request, but
    with as_member(postgres, "alice") as alice:  # never their own
        push_as(alice, writes={"approval": [own]})
        refused(alice, "approval", {**pushable(alice, "approval", own["id"]),
                                    "status": "approved"}, "alice may not decide approval")
    with as_member(postgres, "dan") as dan:
        push_as(dan, writes={"approval": [{**row, "status": "rejected",
                                          "decision_reason": "no"}]})
    assert postgres.value("SELECT status FROM approval WHERE id = %s", row_id) == "rejected"


def test_the_server_stamps_who_decided_and_when_not_the_client(asked, postgres):
    with as_member(postgres, "dan") as dan:
        row = pushable(dan, "approval", approval_id(postgres))
        push_as(dan, writes={"approval": [{**row, "status": "approved", "decided_by": "alice",
                                          "decided_at": "2001-01-01T00:00:00Z"}]})
        stored = shared_row(dan, "approval", row["id"])
        now = dan.execute("SELECT now()").fetchone()[0]
    assert stored["decided_by"] == "dan"
    assert abs((now - stored["decided_at"]).total_seconds()) < 60


def test_only_the_requester_withdraws_and_nothing_else_of_a_request_changes(
        asked, postgres):
    with as_member(postgres, "dan") as dan:  # an approver may not withdraw it
        row = pushable(dan, "approval", approval_id(postgres))
        refused(dan, "approval", {**row, "status": "withdrawn"},
                "dan may not withdraw approval .*: only its requester withdraws it")
    with as_member(postgres, "bob") as bob:
        for change in ({"amount": "5"}, {"kind": "discount"}, {"target": "user:bob"},
                       {"reason": "another"}, {"customer_id": new_id()}):
            refused(bob, "approval", {**row, **change},
                    "bob may not change approval .*: a request never changes once made")
        push_as(bob, writes={"approval": [{**row, "status": "withdrawn"}]})
        assert shared_row(bob, "approval", row["id"])["decided_by"] == "bob"


def test_a_request_takes_seeing_its_customer_and_is_made_in_the_pushers_name(
        crm, team, acme, dan, shared, postgres):
    team["alice"].ok("customer", "add", "Globex", "--city", "Beijing")  # alice's alone
    team["alice"].sync()
    globex = postgres.value("SELECT id FROM customer WHERE name = 'Globex'")
    acme_id = postgres.value("SELECT id FROM customer WHERE name = 'Acme Trading'")
    with as_member(postgres, "bob") as bob:
        made = request_row(acme_id, "alice")
        push_as(bob, writes={"approval": [made]})
        assert shared_row(bob, "approval", made["id"])["requested_by"] == "bob"
        refused(bob, "approval", request_row(acme_id, "alice", status="approved"),
                "bob may not decide approval")  # nor arrive decided by himself
    assert crm("server", "set", "visibility", "own", "--url", shared).exit_code == 0
    with as_member(postgres, "bob") as bob:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="visibility = own"):
            push_as(bob, writes={"approval": [request_row(globex, "bob")]})


def won_setting(postgres) -> None:
    """The team setting, as an admin's push of `crm setting set` leaves it."""
    postgres.run(
        "INSERT INTO setting (id, key, value, created_at, updated_at, version) "
        "VALUES (%s, 'won_requires_approval', '\"contract\"', now(), now(), 1)", new_id())


def test_with_the_setting_a_member_cannot_push_won_without_an_approved_contract(
        team, asked, postgres):
    won_setting(postgres)
    customer_id = postgres.value("SELECT id FROM customer WHERE name = 'Acme Trading'")
    with as_member(postgres, "bob") as bob:  # a role holder: may change acme's fields
        row = pushable(bob, "customer", customer_id)
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match="bob may not make customer .* won: the team requires an "
                                 "approved contract approval first"):
            push_as(bob, writes={"customer": [{**row, "stage": "won"}]})
        push_as(bob, writes={"customer": [{**row, "stage": "negotiation"}]})
    with as_member(postgres, "dan") as dan:  # approved in the same push: taken
        approval = pushable(dan, "approval", approval_id(postgres))
        customer = pushable(dan, "customer", customer_id)
        push_as(dan, writes={"customer": [{**customer, "stage": "won"}],
                             "approval": [{**approval, "status": "approved"}]})
    assert postgres.value("SELECT stage FROM customer WHERE id = %s", customer_id) == "won"


def test_two_approvers_deciding_differently_offline_leave_a_conflict_entry(
        team, asked, dan, postgres):
    alice = team["alice"]  # an admin decides any request
    assert alice("approval", "reject", asked, "--reason", "too big").exit_code == 0
    assert dan("approval", "approve", asked, "--reason", "go").exit_code == 0
    dan.sync()
    assert alice.sync()["conflicts"] >= 1
    entries = json.loads(alice.ok("conflicts", "list", "--format", "json"))
    status = [e for e in entries if e["field"] == "status"]
    assert [(e["entity"], e["mine"], e["theirs"]) for e in status] == [
        ("approval", "rejected", "approved")]
    for member in (alice, dan, team["bob"]):
        member.sync()
        [row] = json.loads(member.ok("approval", "list", "--format", "json"))
        assert (row["status"], row["decided_by"]) == ("approved", "dan")


def test_two_approvers_approving_offline_agree_on_the_state_and_keep_both_names(
        team, asked, dan):
    """Both approve: the state is the same, so when each decided is no conflict
    (`Synced.stamps`); who decided differs, kept in one entry."""
    alice = team["alice"]
    assert alice("approval", "approve", asked).exit_code == 0
    assert dan("approval", "approve", asked).exit_code == 0
    dan.sync()
    assert alice.sync()["conflicts"] == 1
    [entry] = json.loads(alice.ok("conflicts", "list", "--format", "json"))
    assert (entry["field"], entry["mine"], entry["theirs"]) == ("decided_by", "alice", "dan")
