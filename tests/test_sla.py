"""The SLA clock (`crm sla list`, repo/sla.py): a customer waits from the oldest contact
--in not answered --out by someone responsible; due sla later, in working time when the
team set work_hours; escalated to the owner's managers after twice the sla."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import add_customer


def clocks(crm, *options: str, env: dict | None = None) -> dict[str, dict]:
    result = crm("sla", "list", "--format", "json", *options, env=env)
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_the_clock_waits_from_the_oldest_contact_not_yet_answered(crm, alice, beijing, at):
    at("2026-03-02 09:00")
    acme = add_customer(crm, "Acme", "--sla", "4h")
    add_customer(crm, "No limit")
    at("2026-03-02 10:00")
    crm("note", "add", acme, "they called", "--kind", "call", "--in")
    assert clocks(crm)["Acme"]["since"] == "2026-03-02T01:00:00Z"  # never answered: created
    assert set(clocks(crm)) == {"Acme"}
    at("2026-03-02 11:00")
    crm("note", "add", acme, "called back", "--kind", "call", "--out")
    assert clocks(crm) == {}
    at("2026-03-02 12:00")
    crm("note", "add", acme, "they wrote", "--kind", "email", "--in")
    at("2026-03-02 13:00")
    crm("note", "add", acme, "they called again", "--kind", "call", "--in")
    crm("note", "add", acme, "thinking about it", "--kind", "internal")
    crm("note", "add", acme, "visited, no direction", "--kind", "visit")
    row = clocks(crm)["Acme"]
    assert (row["since"], row["due"], row["left"], row["state"]) == (
        "2026-03-02T04:00:00Z", "2026-03-02T08:00:00Z", 180, "running")


def test_the_states_run_from_running_to_escalated(crm, alice, beijing, at):
    at("2026-03-02 09:00")
    add_customer(crm, "Acme", "--sla", "4h")
    for now, state, left in (("10:00", "running", 180), ("12:00", "due soon", 60),
                             ("13:00", "breached", 0), ("16:59", "breached", -239),
                             ("17:00", "escalated", -240)):
        at(f"2026-03-02 {now}")
        row = clocks(crm)["Acme"]
        assert (row["state"], row["left"]) == (state, left), now
    assert set(clocks(crm, "--breached")) == {"Acme"}
    at("2026-03-02 12:59")
    assert clocks(crm, "--breached") == {}
    table = crm("sla", "list")
    assert "Acme" in table.stdout and "due soon" in table.stdout and "1m left" in table.stdout


def test_only_an_answer_from_someone_responsible_stops_the_clock(crm, team, beijing, at):
    at("2026-03-02 09:00")
    acme = add_customer(crm, "Acme", "--sla", "4h")
    crm("note", "add", acme, "they called", "--kind", "call", "--in")
    assert crm("--as", "bob", "note", "add", acme, "I answered", "--kind", "call",
               "--out").exit_code == 0
    assert set(clocks(crm)) == {"Acme"}  # bob holds no role on Acme
    assert crm("assign", acme, "--to", "bob", "--role", "service").exit_code == 0
    assert clocks(crm) == {}  # now he does: his answer counts


def test_mine_is_owned_or_held_and_a_manager_sees_only_escalated_ones(crm, team, beijing, at):
    assert crm("user", "add", "dave", "--name", "Dave", "--dept", "sales",
               "--role", "manager").exit_code == 0
    at("2026-03-02 09:00")
    acme = add_customer(crm, "Acme", "--sla", "4h")
    add_customer(crm, "Globex", "--sla", "1h", "--owner", "bob")
    crm("assign", acme, "--to", "bob", "--role", "service")
    at("2026-03-02 12:00")
    assert set(clocks(crm, "--mine")) == {"Acme"}
    assert set(clocks(crm, "--mine", env={"CRM_USER": "bob"})) == {"Acme", "Globex"}
    assert clocks(crm, "--mine", env={"CRM_USER": "dave"}) == {}  # not escalated yet
    assert clocks(crm, "--mine", env={"CRM_USER": "carol"}) == {}
    at("2026-03-02 17:00")
    assert set(clocks(crm, "--mine", env={"CRM_USER": "dave"})) == {"Acme"}  # alice's: sales
    assert clocks(crm, "--mine", env={"CRM_USER": "carol"}) == {}  # manages marketing
    assert set(clocks(crm, "--dept", "service")) == {"Globex"}


HOURS = "09:00-18:00"


@pytest.mark.parametrize(("contact", "due"), [
    ("2026-03-06 17:00", "2026-03-09 10:00"),  # Friday evening: over the weekend
    ("2026-03-07 11:00", "2026-03-09 11:00"),  # on a Saturday: from Monday's opening
    ("2026-09-30 17:00", "2026-10-08 10:00"),  # before 国庆: over the holiday
    ("2026-10-09 17:00", "2026-10-10 10:00"),  # Saturday 10-10 is a make-up working day
    ("2026-03-02 08:00", "2026-03-02 11:00"),  # before opening: from 09:00
])
def test_with_working_hours_the_clock_counts_working_minutes(crm, alice, beijing, at,
                                                             contact, due):
    assert crm("setting", "set", "work_hours", HOURS).exit_code == 0
    at(contact)
    add_customer(crm, "Acme", "--sla", "2h")
    assert clocks(crm)["Acme"]["due"] == _utc(due)


def _utc(local: str) -> str:
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(local) - timedelta(hours=8)
    return moment.strftime("%Y-%m-%dT%H:%M:00Z")


def test_a_users_holiday_file_adds_days_off(crm, alice, beijing, at, crm_home):
    (crm_home / "holidays_cn.json").write_text(json.dumps(
        {"2026": {"off": ["2026-03-09..2026-03-10"], "work": []}}), encoding="utf-8")
    crm("setting", "set", "work_hours", HOURS)
    at("2026-03-06 17:00")
    add_customer(crm, "Acme", "--sla", "2h")
    assert clocks(crm)["Acme"]["due"] == _utc("2026-03-11 10:00")


def test_working_hours_that_make_no_sense_are_refused_with_exit_4(crm, alice):
    for text in ("9-18", "18:00-09:00", "25:00-26:00"):
        result = crm("setting", "set", "work_hours", text)
        assert result.exit_code == 4, text
    assert crm("setting", "set", "work_hours", "9:00~18:00").exit_code == 0
    assert "09:00-18:00" in crm("setting", "list").stdout


@pytest.mark.parametrize("stored", ["9-18", "18:00-09:00", 930, ["09:00", "18:00"]])
def test_working_hours_stored_malformed_count_as_unset(crm, alice, beijing, at, database,
                                                        stored):
    """A value no `crm setting set` makes (by hand, or from a client that checked less)
    leaves the clock running around the clock instead of breaking every list."""
    from sqlmodel import select

    from crmcli.models import Setting

    crm("setting", "set", "work_hours", HOURS)
    with database(write=True) as s:
        s.exec(select(Setting).where(Setting.key == "work_hours")).one().value = stored
    at("2026-03-06 17:00")  # a Friday evening: with the hours, due on Monday
    add_customer(crm, "Acme", "--sla", "2h")
    assert clocks(crm)["Acme"]["due"] == _utc("2026-03-06 19:00")


def test_no_customer_waiting_says_so_on_stderr(crm, alice):
    result = crm("sla", "list")
    assert result.exit_code == 0 and result.stdout == ""
    assert "no customer is waiting for an answer" in result.stderr


def test_each_customers_clock_reads_its_own_notes_only(crm, alice, beijing, at):
    at("2026-03-02 09:00")
    acme = add_customer(crm, "Acme", "--sla", "4h")
    beta = add_customer(crm, "Beta", "--sla", "4h")
    at("2026-03-02 10:00")
    crm("note", "add", beta, "they called", "--kind", "call", "--in")
    crm("note", "add", acme, "we wrote first", "--kind", "email", "--out")
    at("2026-03-02 11:00")
    crm("note", "add", acme, "they wrote back", "--kind", "email", "--in")
    crm("note", "add", beta, "called back", "--kind", "call", "--out")
    assert {name: row["since"] for name, row in clocks(crm).items()} == {
        "Acme": "2026-03-02T03:00:00Z"}


def inbox(crm, handle: str) -> list[tuple[str, str]]:
    result = crm("notify", "inbox", "--format", "json", env={"CRM_USER": handle})
    assert result.exit_code == 0, result.output
    return sorted((row["kind"], row["title"]) for row in json.loads(result.stdout)
                  if row["kind"].startswith("sla."))


def test_due_soon_and_breached_reach_those_responsible_and_escalated_the_managers(
    crm, team, beijing, at
):
    assert crm("user", "add", "dave", "--name", "Dave", "--dept", "sales",
               "--role", "manager").exit_code == 0
    at("2026-03-02 09:00")
    acme = add_customer(crm, "Acme", "--sla", "1h")
    crm("assign", acme, "--to", "bob", "--role", "service")
    at("2026-03-02 09:50")
    assert inbox(crm, "bob") == [("sla.due_soon", "Answer due soon: Acme")]
    at("2026-03-02 10:01")
    for handle in ("alice", "bob"):
        assert ("sla.breached", "Answer overdue: Acme") in inbox(crm, handle)
    assert inbox(crm, "dave") == []
    at("2026-03-02 11:00")
    assert inbox(crm, "dave") == [("sla.escalated", "Escalated: answer overdue: Acme")]
    assert inbox(crm, "carol") == []  # manages marketing
    assert len(inbox(crm, "alice")) == 2  # told once per state, however often collected


@given(since=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
       minutes=st.integers(1, 5 * 24 * 60),
       waited=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)))
def test_the_latest_late_start_of_an_sla_splits_late_from_not_late_exactly(since, minutes,
                                                                           waited):
    """What the workload report counts with: a wait is late at `now` exactly when it began
    no later than `latest_late_start` (working hours, holidays and make-up days too)."""
    from crmcli import workhours
    from crmcli.repo.sla import latest_late_start

    hours = workhours.WorkHours(9 * 60, 18 * 60)
    start = since.replace(tzinfo=UTC)
    now = start + waited
    latest = latest_late_start(minutes, now, hours)
    assert (start <= latest) == (workhours.add(start, minutes, hours) <= now)
    assert workhours.add(latest, minutes, hours) <= now
    assert workhours.add(latest + timedelta(microseconds=1), minutes, hours) > now


def test_customer_show_gives_the_clock_first_and_json_holds_it(crm, alice, beijing, at):
    at("2026-03-02 09:00")
    acme = add_customer(crm, "Acme", "--sla", "4h")
    calm = add_customer(crm, "Calm", "--sla", "4h")
    crm("note", "add", calm, "answered", "--kind", "call", "--out")
    at("2026-03-02 12:30")
    card = crm("customer", "show", acme)
    assert card.exit_code == 0, card.output
    assert card.stdout.splitlines()[1] == (
        "SLA 4h · waiting since 09:00 · reply due 2026-03-02 13:00 · 30m left · due soon")
    shown = json.loads(crm("customer", "show", acme, "-f", "json").stdout)["sla_clock"]
    assert (shown["since"], shown["due"], shown["left"], shown["state"]) == (
        "2026-03-02T01:00:00Z", "2026-03-02T05:00:00Z", 30, "due soon")
    assert "SLA" not in crm("customer", "show", calm).stdout  # answered: not waiting
    assert json.loads(crm("customer", "show", calm, "-f", "json").stdout)["sla_clock"] is None
