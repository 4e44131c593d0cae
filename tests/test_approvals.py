"""Approvals (README "Approvals"): a request for a customer, decided once by whom it names,
withdrawn by its requester, in the customer's history; `won_requires_approval` makes
stage won wait for an approved one.

The team: alice (admin, sales), bob (member, service), carol (manager, marketing), and
here dan (manager, sales) and erin (member, sales).
"""

import json

import pytest

from helpers import add_customer


@pytest.fixture
def people(crm, team) -> None:
    for handle, name, role in (("dan", "Dan Wu", "manager"), ("erin", "Erin Xu", "member")):
        result = crm("user", "add", handle, "--name", name, "--dept", "sales", "--role", role)
        assert result.exit_code == 0, result.output


@pytest.fixture
def acme(crm, people) -> str:
    """A customer of sales (alice's)."""
    return add_customer(crm, "Acme Trading", "--city", "Shanghai")


def ask(crm, ref: str, *options: str, who: str = "erin") -> str:
    result = crm("--as", who, "approval", "request", ref, *options)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def shown(crm, approval: str) -> dict:
    result = crm("approval", "show", approval, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_request_keeps_its_amount_exact_and_waits_for_the_customers_managers(
        crm, acme, monkeypatch):
    monkeypatch.setenv("CRM_NOW", "2026-03-02T09:00:00Z")
    approval = ask(crm, acme, "--kind", "合同", "--amount", "50.5万", "--reason", "big deal")
    row = shown(crm, approval)
    assert (row["kind"], row["amount"], row["target"], row["status"], row["requested_by"]) == (
        "contract", "505000.0", "role:manager", "open", "erin")  # as a contract amount
    waiting = crm("--as", "dan", "approval", "list", "--waiting", "--format", "json")
    assert [r["id"] for r in json.loads(waiting.stdout)] == [row["id"]]
    for other in ("carol", "bob", "erin"):  # a manager of another department, members
        listed = crm("--as", other, "approval", "list", "--waiting", "--format", "json")
        assert json.loads(listed.stdout) == [], other
    mine = crm("--as", "erin", "approval", "list", "--mine", "--format", "json")
    assert [r["id"] for r in json.loads(mine.stdout)] == [row["id"]]


@pytest.mark.parametrize("amount", ["abc", "-5", "1e400", "0.1234567"])
def test_an_amount_that_is_not_money_is_refused_with_exit_4(crm, acme, amount):
    result = crm("--as", "erin", "approval", "request", acme, "--kind", "contract",
                 "--amount", amount)
    assert result.exit_code == 4, result.output
    assert "amount" in result.stderr


def test_an_unknown_kind_or_target_is_refused_with_exit_4(crm, acme):
    for options in (["--kind", "bribe"], ["--kind", "contract", "--to", "dept:legal"],
                    ["--kind", "contract", "--to", "role:boss"]):
        result = crm("--as", "erin", "approval", "request", acme, *options)
        assert result.exit_code == 4, (options, result.output)
    assert crm("--as", "erin", "approval", "request", acme, "--kind", "contract",
               "--to", "nobody").exit_code == 3


def test_only_whom_the_request_names_decides_it_others_get_exit_6(crm, acme):
    approval = ask(crm, acme, "--kind", "discount", "--to", "dept:marketing")
    for who in ("dan", "bob", "erin"):  # a manager of sales, a member, the requester
        result = crm("--as", who, "approval", "approve", approval)
        assert result.exit_code == 6, (who, result.output)
        assert "it is decided by managers of marketing or admins" in result.stderr
    assert shown(crm, approval)["status"] == "open"
    result = crm("--as", "carol", "approval", "reject", approval, "--reason", "too deep")
    assert result.exit_code == 0, result.output
    row = shown(crm, approval)
    assert (row["status"], row["decided_by"], row["decision_reason"]) == (
        "rejected", "carol", "too deep")


def test_a_user_target_and_an_admin_decide_nobody_decides_their_own(crm, acme):
    approval = ask(crm, acme, "--kind", "refund", "--to", "bob")
    assert crm("--as", "dan", "approval", "approve", approval).exit_code == 6
    assert crm("--as", "bob", "approval", "approve", approval).exit_code == 0
    own = ask(crm, acme, "--kind", "quote", who="alice")  # an admin's own request
    result = crm("approval", "approve", own)
    assert result.exit_code == 6 and "never by its requester" in result.stderr
    assert crm("--as", "dan", "approval", "approve", own).exit_code == 0


def test_a_decided_approval_is_not_decided_again_exit_5(crm, acme):
    approval = ask(crm, acme, "--kind", "contract")
    assert crm("--as", "dan", "approval", "approve", approval).exit_code == 0
    for command in ("approve", "reject"):
        result = crm("approval", command, approval)  # alice, an admin
        assert result.exit_code == 5, result.output
        assert "approved already by dan" in result.stderr
    result = crm("--as", "erin", "approval", "withdraw", approval)
    assert result.exit_code == 5
    assert shown(crm, approval)["status"] == "approved"


def test_only_the_requester_withdraws_an_open_request(crm, acme):
    approval = ask(crm, acme, "--kind", "contract")
    assert crm("--as", "bob", "approval", "withdraw", approval).exit_code == 6
    assert crm("--as", "erin", "approval", "withdraw", approval).exit_code == 0
    assert shown(crm, approval)["status"] == "withdrawn"
    assert crm("--as", "dan", "approval", "approve", approval).exit_code == 5


def test_the_history_says_who_asked_and_who_decided_in_words(crm, acme):
    approval = ask(crm, acme, "--kind", "contract", "--amount", "50万", "--reason", "big deal")
    assert crm("--as", "dan", "approval", "approve", approval, "--reason", "go").exit_code == 0
    result = crm("history", acme)
    assert result.exit_code == 0, result.output
    assert "asked role:manager for contract approval of ¥500,000: big deal" in result.stdout
    assert "approved contract approval of ¥500,000: go" in result.stdout


WON = "stage won needs an approved contract approval first"


def test_with_the_team_setting_won_waits_for_an_approved_contract_exit_4(crm, acme, database):
    assert crm("setting", "set", "won_requires_approval", "contract").exit_code == 0
    result = crm("customer", "edit", acme, "--stage", "won")
    assert result.exit_code == 4, result.output
    assert WON in result.stderr
    discount = ask(crm, acme, "--kind", "discount")
    assert crm("--as", "dan", "approval", "approve", discount).exit_code == 0
    assert crm("customer", "edit", acme, "--stage", "won").exit_code == 4  # another kind
    contract = ask(crm, acme, "--kind", "contract")
    assert crm("--as", "dan", "approval", "reject", contract).exit_code == 0
    assert crm("customer", "edit", acme, "--stage", "won").exit_code == 4  # rejected
    contract = ask(crm, acme, "--kind", "contract")
    assert crm("--as", "dan", "approval", "approve", contract).exit_code == 0
    assert crm("customer", "edit", acme, "--stage", "won").exit_code == 0


def test_an_import_that_makes_a_customer_won_is_held_to_the_same_rule(crm, acme, tmp_path):
    assert crm("setting", "set", "won_requires_approval", "contract").exit_code == 0
    exported = crm("export", "customers", "--format", "csv").stdout
    path = tmp_path / "won.csv"
    path.write_text(exported.replace(",lead,", ",won,"), encoding="utf-8")
    result = crm("import", "customers", str(path))
    assert result.exit_code == 4, result.output
    assert WON in result.stderr


def test_without_the_setting_won_needs_no_approval(crm, acme):
    assert crm("customer", "edit", acme, "--stage", "won").exit_code == 0


def inbox(crm, handle: str) -> list[dict]:
    result = crm("notify", "inbox", "--as", handle, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_request_is_told_to_whom_may_decide_it_and_the_decision_to_its_requester(
        crm, acme, utc, monkeypatch):
    monkeypatch.setenv("CRM_NOW", "2026-03-02T09:00:00Z")
    approval = ask(crm, acme, "--kind", "contract", "--amount", "50万", "--reason", "big deal")
    for approver in ("alice", "dan"):  # an admin, a manager of sales
        [told] = inbox(crm, approver)
        assert (told["kind"], told["title"]) == (
            "approval.waiting", "Approval waiting: contract 500000 for Acme Trading")
        assert f"crm approval approve|reject {approval}" in told["body"]
    assert inbox(crm, "carol") == [] and inbox(crm, "erin") == []
    assert crm("--as", "dan", "approval", "reject", approval, "--reason", "no").exit_code == 0
    [told] = inbox(crm, "erin")
    assert (told["kind"], told["title"], told["body"]) == (
        "approval.decided", "Approval rejected: contract 500000 for Acme Trading",
        "dan rejected it: no")
    assert len(inbox(crm, "erin")) == 1  # told once


def test_a_customer_won_already_or_made_won_is_not_held(crm, acme, people):
    assert crm("customer", "edit", acme, "--stage", "won").exit_code == 0
    assert crm("setting", "set", "won_requires_approval", "contract").exit_code == 0
    assert crm("customer", "edit", acme, "--city", "Hangzhou", "--stage", "won").exit_code == 0
    made = crm("customer", "add", "Globex", "--stage", "won")  # no approval before it exists
    assert made.exit_code == 0, made.output
