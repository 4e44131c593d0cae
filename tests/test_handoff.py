"""`crm handoff`: a role passes on only once the record is complete, in one transaction
with the receiver's task and the customer's own latest words."""

import json
from datetime import UTC, datetime

from sqlmodel import func, select

from crmcli.models import Assignment, AuditEvent, Task
from helpers import add_customer


def counts(database) -> tuple[int, int, int]:
    """How many assignments, tasks and audit events the database holds."""
    with database() as s:
        return tuple(s.exec(select(func.count()).select_from(model)).one()
                     for model in (Assignment, Task, AuditEvent))


def show(crm, ref) -> dict:
    return json.loads(crm("customer", "show", ref, "--format", "json").stdout)


def handovers(crm, ref) -> list[dict]:
    return [e for e in json.loads(crm("history", ref, "--format", "json").stdout)
            if e["action"] == "customer.handoff"]


def test_an_incomplete_record_is_refused_with_exit_4_listing_exactly_the_empty_fields(
    crm, team, database
):
    ref = add_customer(crm, "Acme", "--sla", "4h")
    before = counts(database)
    result = crm("handoff", ref, "--to", "bob", "--role", "service",
                 "--require", "requirement,sla,phone")
    assert result.exit_code == 4
    assert result.stderr.strip() == (
        "error: cannot hand Acme over to bob as service: requirement, phone are empty")
    assert counts(database) == before  # nothing written: no assignment, task or event


def test_a_complete_record_is_handed_over_with_a_task_due_within_the_sla(
    crm, team, database, monkeypatch
):
    monkeypatch.setenv("CRM_NOW", "2026-03-02T09:00:00+00:00")
    ref = add_customer(crm, "Acme", "--sla", "4h", "--requirement", "发票", "--phone",
                       "13800138000")
    result = crm("handoff", ref, "--to", "bob", "--role", "客服",
                 "--require", "需求，sla,phone", "--note", "call before noon")
    assert result.exit_code == 0, result.output
    assert "waiting for bob to acknowledge" in result.stderr
    record = show(crm, ref)
    [service] = [a for a in record["assignments"] if a["role"] == "service"]
    assert (service["user"], service["assigned_by"], service["reason"],
            service["acknowledged_at"]) == ("bob", "alice", "call before noon", None)
    [task] = record["tasks"]
    assert (task["title"], task["assignee"], task["due"], task["created_by"]) == \
        ("contact within sla (4h)", "bob", "2026-03-02T13:00:00Z", "alice")
    with database() as s:
        stored = s.exec(select(Task)).one()
        assert stored.due == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    [event] = handovers(crm, ref)
    assert event["actor"] == "alice" and event["entity_id"] == service["id"]
    assert event["detail"]["checked"] == ["requirement", "sla", "phone"]
    assert event["detail"]["task"] == task["id"] and event["detail"]["to"] == "bob"


def test_a_customer_without_an_sla_gives_the_receiver_a_task_without_a_due_date(crm, team):
    ref = add_customer(crm, "Acme")
    result = crm("handoff", ref, "--to", "bob", "--role", "service")
    assert result.exit_code == 0, result.output
    assert "no due date" in result.stderr
    [task] = show(crm, ref)["tasks"]
    assert (task["title"], task["due"]) == ("contact within sla", None)


def test_the_hand_over_carries_the_newest_quote_and_the_note(crm, team, monkeypatch):
    ref = add_customer(crm, "Acme")
    for moment, quote in (("2026-03-01T09:00:00+00:00", "old words"),
                          ("2026-03-02T09:00:00+00:00", "我们下周就要"),
                          ("2026-03-03T09:00:00+00:00", None)):
        monkeypatch.setenv("CRM_NOW", moment)
        extra = ("--quote", quote) if quote else ()
        assert crm("note", "add", ref, "--kind", "call", "a call", *extra).exit_code == 0
    assert crm("handoff", ref, "--to", "bob", "--role", "service",
               "--note", "[bold]urgent[/bold]").exit_code == 0
    [event] = handovers(crm, ref)
    assert event["detail"]["quote"] == "我们下周就要"
    assert event["detail"]["quote_at"] == "2026-03-02T09:00:00Z"
    assert event["detail"]["note"] == "[bold]urgent[/bold]"
    [waiting] = show(crm, ref)["handovers"]
    assert (waiting["to"], waiting["quote"]) == ("bob", "我们下周就要")


def test_the_receiver_reads_the_note_and_the_customer_s_words_first(crm, team):
    ref = add_customer(crm, "Acme")
    crm("note", "add", ref, "--kind", "complaint", "invoice wrong", "--quote", "发票开错了")
    crm("handoff", ref, "--to", "bob", "--role", "service", "--note", "[red]be kind[/red]")
    card = crm("--as", "bob", "customer", "show", ref).stdout
    top = card.split("Contact")[0]
    assert "Hand-over: alice handed service to bob" in top
    assert "[red]be kind[/red]" in top and "“发票开错了”" in top
    ack = crm("--as", "bob", "ack", ref)
    assert ack.exit_code == 0
    assert ack.stdout.splitlines()[0].startswith("Hand-over: alice handed service to bob")
    assert "发票开错了" in ack.stdout and "acknowledged service" in ack.stderr
    assert show(crm, ref)["handovers"] == []  # acknowledged: no longer waiting
    assert "Hand-over:" not in crm("customer", "show", ref).stdout.split("Contact")[0]


def test_the_history_shows_one_hand_over_event_in_words(crm, team):
    ref = add_customer(crm, "Acme", "--sla", "1d", "--requirement", "x")
    crm("assign", ref, "--to", "carol", "--role", "service")
    crm("handoff", ref, "--to", "bob", "--role", "service", "--require", "requirement")
    assert len(handovers(crm, ref)) == 1
    lines = [line for line in crm("history", ref).stdout.splitlines() if "customer.handoff" in line]
    assert len(lines) == 1
    assert "handed over to bob as service (from carol); checked requirement" in lines[0]


def test_an_empty_require_checks_nothing(crm, team):
    ref = add_customer(crm, "Acme")
    assert crm("handoff", ref, "--to", "bob", "--role", "service", "--require", "").exit_code == 0
    assert handovers(crm, ref)[0]["detail"]["checked"] == []


def test_custom_fields_can_be_required_and_unknown_fields_are_refused(crm, team, database):
    assert crm("field", "add", "budget", "--type", "decimal").exit_code == 0
    ref = add_customer(crm, "Acme")
    before = counts(database)
    missing = crm("handoff", ref, "--to", "bob", "--role", "sales",
                  "--require", "Budget,city,标签")
    assert missing.exit_code == 4
    assert "budget, city, tags are empty" in missing.stderr  # no tags: an empty list
    unknown = crm("handoff", ref, "--to", "bob", "--role", "sales", "--require", "budjet")
    assert unknown.exit_code == 4 and "'budjet' is not a field" in unknown.stderr
    assert counts(database) == before
    crm("customer", "edit", ref, "--set", "budget=5万", "--city", "上海", "--tag", "vip")
    assert crm("handoff", ref, "--to", "bob", "--role", "sales",
               "--require", "budget,city,tags").exit_code == 0


def test_who_may_not_assign_the_role_may_not_hand_it_over(crm, team, database):
    ref = add_customer(crm, "Acme", "--requirement", "x")
    before = counts(database)
    result = crm("--as", "bob", "handoff", ref, "--to", "carol", "--role", "service")
    assert result.exit_code == 6
    assert "bob may not change customer Acme" in result.stderr
    assert counts(database) == before


def test_odd_receivers_roles_and_references_are_refused(crm, team, database):
    ref = add_customer(crm, "Acme")
    add_customer(crm, "Twin", "--company", "A")
    add_customer(crm, "Twin", "--company", "B")
    crm("user", "add", "dave", "--name", "Dave", "--dept", "sales")
    crm("user", "deactivate", "dave", "--transfer-to", "alice")
    crm("assign", ref, "--to", "bob", "--role", "service")
    before = counts(database)
    cases = {
        ("--to", "nobody", "--role", "service"): (3, "no user 'nobody'"),
        ("--to", "dave", "--role", "service"): (4, "deactivated"),
        ("--to", "bob", "--role", "service"): (4, "bob already is service of Acme"),
        ("--to", "carol", "--role", "janitor"): (4, "'janitor' is not one of"),
    }
    for options, (code, said) in cases.items():
        result = crm("handoff", ref, *options)
        assert (result.exit_code, said in result.stderr) == (code, True), (options, result.stderr)
    twin = crm("handoff", "Twin", "--to", "carol", "--role", "service")
    assert twin.exit_code == 3 and "(A)" in twin.stderr
    assert crm("handoff", ref, "--to", "carol").exit_code == 2  # --role is required
    assert counts(database) == before


def test_a_sensitive_field_is_checked_only_for_its_readers(crm, team, database):
    ref = add_customer(crm, "Acme", "--owner", "bob")
    before = counts(database)
    hidden = crm("--as", "bob", "handoff", ref, "--to", "carol", "--role", "finance",
                 "--require", "contract_amount")
    assert hidden.exit_code == 6
    assert "only its readers learn whether it is empty" in hidden.stderr
    assert counts(database) == before
    assert crm("customer", "edit", ref, "--set", "contract_amount=50万").exit_code == 0
    filled = crm("--as", "bob", "handoff", ref, "--to", "carol", "--role", "finance",
                 "--require", "contract_amount")
    assert filled.exit_code == 6  # the same answer whatever the value
    reader = crm("handoff", ref, "--to", "carol", "--role", "finance",
                 "--require", "contract_amount,id_number")
    assert reader.exit_code == 4 and "id_number is empty" in reader.stderr


def test_the_team_setting_is_the_default_checklist_of_a_role_and_require_replaces_it(
    crm, team, database
):
    set_ = crm("setting", "set", "handoff.require.service", "需求, phone")
    assert set_.exit_code == 0, set_.output
    assert "handoff.require.service = requirement, phone" in set_.stderr
    ref = add_customer(crm, "Acme", "--phone", "13800138000")
    before = counts(database)
    refused = crm("handoff", ref, "--to", "bob", "--role", "service")
    assert refused.exit_code == 4
    assert refused.stderr.strip() == (
        "error: cannot hand Acme over to bob as service: requirement is empty")
    assert counts(database) == before
    # other roles have no default; --require replaces the role's (the history says so)
    assert crm("handoff", ref, "--to", "bob", "--role", "sales").exit_code == 0
    assert crm("handoff", ref, "--to", "carol", "--role", "service",
               "--require", "phone").exit_code == 0
    checked = {e["detail"]["role"]: e["detail"]["checked"] for e in handovers(crm, ref)}
    assert checked == {"sales": [], "service": ["phone"]}


def test_a_default_checklist_naming_no_field_is_refused_when_used(crm, team):
    assert crm("setting", "set", "handoff.require.finance", "budjet").exit_code == 0
    ref = add_customer(crm, "Acme")
    result = crm("handoff", ref, "--to", "bob", "--role", "finance")
    assert result.exit_code == 4
    assert "team setting handoff.require.finance: 'budjet' is not a field" in result.stderr
    assert "handoff.require.NAME" in crm("setting", "keys").stdout


def test_a_default_checklist_is_set_for_a_role_there_is_by_its_canonical_name(crm, team):
    refused = crm("setting", "set", "handoff.require.janitor", "phone")
    assert refused.exit_code == 4 and "'janitor' is not one of" in refused.stderr
    assert "handoff.require" not in crm("setting", "list").stdout
    alias = crm("setting", "set", "handoff.require.客服", "phone")
    assert alias.exit_code == 0, alias.output
    assert "handoff.require.service = phone" in alias.stderr
    ref = add_customer(crm, "Acme")
    result = crm("handoff", ref, "--to", "bob", "--role", "service")
    assert result.exit_code == 4 and "phone is empty" in result.stderr
    assert "removed handoff.require.service" in crm(
        "setting", "unset", "handoff.require.客服").stderr
    assert crm("handoff", ref, "--to", "bob", "--role", "service").exit_code == 0


def test_the_receiver_is_told_the_customer_s_words_where_they_read(crm, team):
    ref = add_customer(crm, "Acme")
    crm("note", "add", ref, "--kind", "call", "a call", "--quote", "下周一前要报价")
    crm("handoff", ref, "--to", "bob", "--role", "service", "--note", "call first")
    inbox = crm("notify", "inbox", "--as", "bob", "--format", "json")
    assert inbox.exit_code == 0, inbox.output
    [told] = json.loads(inbox.stdout)
    assert told["kind"] == "ack.waiting"
    assert "(call first). Customer said: “下周一前要报价”. Acknowledge with" in told["body"]


def test_with_working_hours_the_task_is_due_in_working_minutes(crm, team, utc, monkeypatch):
    assert crm("setting", "set", "work_hours", "09:00-18:00").exit_code == 0
    monkeypatch.setenv("CRM_NOW", "2026-03-06T17:00:00+00:00")  # a Friday, one hour left
    ref = add_customer(crm, "Acme", "--sla", "4h")
    assert crm("handoff", ref, "--to", "bob", "--role", "service").exit_code == 0
    [task] = show(crm, ref)["tasks"]
    assert task["due"] == "2026-03-09T12:00:00Z"  # 1h on Friday, 3h on Monday
