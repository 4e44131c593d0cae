"""`crm report workload`: who carries what now, per member and per department, over a
hand-built team with a frozen clock (China's time).

The team (`work`), made on Monday 2026-03-02 at 09:00, looked at at 14:00: alice (admin,
sales), bob (member, service), carol (manager, marketing), dave (member, sales).
- Acme: alice's, sla 4h (due 13:00: late at 14:00); bob given its service role (waiting
  for his acknowledgement), so it is late for him too;
- Hooli: alice's, no sla; dave given its service role (waiting);
- Umbrella: given to bob by alice (waiting for his acknowledgement);
- Globex: dave's, won; dave asks for a contract approval on it (alice, admin, decides);
- Initech: dave's, qualified, sla 24h (not late);
- Lead1: from the website, routed to dave by the rule web (waiting, routed);
- Gone: alice's, deleted, with an overdue task of alice's (counted nowhere).
Tasks: alice's "call" due 12:00 (overdue) and "quote" due Thursday, a done one; dave's
"visit" due Sunday (overdue).

So per member (open customers, customers, open tasks, overdue, waiting ack, routed, SLA
late, approvals): alice 2 2 2 1 0 0 1 1; bob 1 1 0 0 2 0 1 0; carol all 0; dave 2 3 1 1 2
1 0 0. Per department: marketing 0…; sales (2 members) 4 5 3 2 2 1 1 1; service 1 1 0 0 2
0 1 0.
"""

from __future__ import annotations

import json

import pytest

from helpers import add_customer, customers_by_name, ok

COUNTS = ("open_customers", "customers", "open_tasks", "overdue_tasks", "awaiting_ack",
          "routed_waiting", "sla_late", "approvals")
ALICE = (2, 2, 2, 1, 0, 0, 1, 1)
BOB = (1, 1, 0, 0, 2, 0, 1, 0)
CAROL = (0,) * 8
DAVE = (2, 3, 1, 1, 2, 1, 0, 0)


@pytest.fixture
def work(crm, team, beijing, at) -> dict[str, str]:
    ok(crm("user", "add", "dave", "--name", "Dave", "--dept", "sales"))
    ok(crm("rule", "add", "web", "--when", "source=website", "--how", "dave"))
    at("2026-03-02 09:00")
    acme = add_customer(crm, "Acme", "--sla", "4h")
    hooli = add_customer(crm, "Hooli")
    add_customer(crm, "Umbrella", "--owner", "bob")
    globex = add_customer(crm, "Globex", "--as", "dave", "--stage", "won")
    add_customer(crm, "Initech", "--as", "dave", "--stage", "qualified", "--sla", "24h")
    add_customer(crm, "Lead1", "--source", "website")
    gone = add_customer(crm, "Gone")
    ok(crm("assign", acme, "--to", "bob", "--role", "service"))
    ok(crm("assign", hooli, "--to", "dave", "--role", "service"))
    ok(crm("task", "add", acme, "call", "--due", "12:00"))
    ok(crm("task", "add", acme, "quote", "--due", "2026-03-05"))
    done = ok(crm("task", "add", hooli, "intro")).stdout.strip()
    ok(crm("task", "done", done))
    ok(crm("task", "add", gone, "old", "--due", "2026-03-01"))
    ok(crm("customer", "delete", gone))
    ok(crm("--as", "dave", "task", "add", globex, "visit", "--due", "2026-03-01"))
    ok(crm("--as", "dave", "approval", "request", globex, "--kind", "contract",
           "--amount", "1000"))
    at("2026-03-02 14:00")
    return {"acme": acme, "hooli": hooli, "globex": globex}


def report(crm, *args: str) -> dict:
    return json.loads(ok(crm("report", "workload", *args, "-f", "json")).stdout)


def counts(rows: list[dict], key: str) -> dict[str, tuple]:
    return {row[key]: tuple(row[c] for c in COUNTS) for row in rows}


def test_each_member_and_department_carries_the_counts_the_team_was_given(crm, work):
    found = report(crm)
    assert counts(found["members"], "member") == {
        "alice": ALICE, "bob": BOB, "carol": CAROL, "dave": DAVE}
    assert [row["department"] for row in found["members"]] == [
        "sales", "service", "marketing", "sales"]
    assert counts(found["departments"], "department") == {
        "marketing": CAROL, "sales": (4, 5, 3, 2, 2, 1, 1, 1), "service": BOB}
    assert {row["department"]: row["members"] for row in found["departments"]} == {
        "marketing": 1, "sales": 2, "service": 1}
    assert "trend" not in found


def test_sla_late_agrees_with_the_sla_list_and_moves_with_the_clock(crm, work, at):
    breached = json.loads(ok(crm("sla", "list", "--breached", "-f", "json")).stdout)
    assert [row["name"] for row in breached] == ["Acme"]
    at("2026-03-02 12:59")  # due 13:00: not late yet
    assert {row["member"]: row["sla_late"] for row in report(crm)["members"]} == {
        "alice": 0, "bob": 0, "carol": 0, "dave": 0}
    at("2026-03-03 09:00")  # Initech's 24h are up too
    assert {row["member"]: row["sla_late"] for row in report(crm)["members"]} == {
        "alice": 1, "bob": 1, "carol": 0, "dave": 1}


def test_an_answer_from_someone_responsible_stops_the_clock_for_everyone(crm, work):
    ok(crm("--as", "bob", "note", "add", work["acme"], "called back", "--kind", "call", "--out"))
    assert {row["member"]: row["sla_late"] for row in report(crm)["members"]} == {
        "alice": 0, "bob": 0, "carol": 0, "dave": 0}


def test_working_hours_count_the_sla_in_working_minutes(crm, team, beijing, at):
    ok(crm("setting", "set", "work_hours", "09:00-18:00"))
    at("2026-03-06 17:00")  # a Friday: 2h of work are due on Monday at 10:00
    add_customer(crm, "Late Friday", "--sla", "2h")
    at("2026-03-09 09:59")
    assert report(crm)["members"][0]["sla_late"] == 0
    at("2026-03-09 10:00")
    assert report(crm)["members"][0]["sla_late"] == 1


def test_acknowledging_takes_the_roles_off_the_waiting_count(crm, work):
    ok(crm("--as", "bob", "ack", work["acme"]))
    bob = next(row for row in report(crm)["members"] if row["member"] == "bob")
    assert (bob["awaiting_ack"], bob["sla_late"]) == (1, 1)


def test_dept_and_owner_choose_the_members(crm, work):
    for number in range(16):  # 20 members: bob alone is a twentieth, whose customers'
        # SLA waits are the only ones read (`workload.FEW`)
        ok(crm("user", "add", f"extra{number}", "--name", f"Extra {number}"))
    found = report(crm, "--dept", "Sales")
    assert counts(found["members"], "member") == {"alice": ALICE, "dave": DAVE}
    assert counts(found["departments"], "department") == {"sales": (4, 5, 3, 2, 2, 1, 1, 1)}
    assert counts(report(crm, "--owner", "bob")["members"], "member") == {"bob": BOB}
    found = report(crm, "--owner", "bob", "--owner", "carol")
    assert counts(found["members"], "member") == {"bob": BOB, "carol": CAROL}
    assert report(crm, "--dept", "nowhere") == {"members": [], "departments": []}


def test_a_member_without_a_department_is_counted_under_no_department(crm, work):
    ok(crm("user", "add", "erin", "--name", "Erin"))
    found = report(crm)
    assert [row["department"] for row in found["members"]][-1] == "(no department)"
    assert {row["department"]: row["members"] for row in found["departments"]} == {
        "(no department)": 1, "marketing": 1, "sales": 2, "service": 1}


def test_a_deactivated_member_is_left_out_and_their_work_moves_to_the_heir(crm, work):
    ok(crm("user", "deactivate", "dave", "--transfer-to", "alice"))
    found = counts(report(crm)["members"], "member")
    assert set(found) == {"alice", "bob", "carol"}
    assert found["alice"][:4] == (4, 5, 3, 2)  # dave's customers and his open task


def test_the_table_shows_members_departments_bars_and_how_it_was_counted(crm, work):
    out = ok(crm("report", "workload")).stdout
    assert "Per member" in out and "Per department" in out and "SLA late" in out
    assert "█" in out and "As of 2026-03-02 14:00" in out
    assert "(breached or escalated)" in out and "sum of its members" in out


def test_csv_writes_the_members_and_ndjson_every_section(crm, work):
    lines = ok(crm("report", "workload", "-f", "csv")).stdout.splitlines()
    assert lines[0] == "member,department," + ",".join(COUNTS)
    assert lines[1] == "alice,sales,2,2,2,1,0,0,1,1"
    lines = ok(crm("report", "workload", "-f", "csv", "--section", "departments")
               ).stdout.splitlines()
    assert lines[2] == "sales,2,4,5,3,2,2,1,1,1"
    rows = [json.loads(line) for line in ok(crm("report", "workload", "-f", "ndjson")
                                            ).stdout.splitlines()]
    assert [row["section"] for row in rows] == ["members"] * 4 + ["departments"] * 3


def test_o_writes_a_workbook_with_the_counts_as_numbers_and_bar_charts(crm, work, tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "workload.xlsx"
    ok(crm("report", "workload", "--by", "week", "-o", path))
    book = load_workbook(path)
    assert book.sheetnames == ["Per member", "Per department", "Per week", "Notes"]
    assert [c.value for c in book["Per member"][2]] == ["alice", "sales", *ALICE]
    assert [type(chart).__name__ for name in book.sheetnames for chart in book[name]._charts
            ] == ["BarChart", "BarChart", "LineChart"]


def test_user_show_tells_the_same_counts(crm, work):
    record = json.loads(ok(crm("user", "show", "dave", "-f", "json")).stdout)
    assert (record["customers"], record["open_tasks"], record["overdue_tasks"],
            record["awaiting_ack"]) == (3, 1, 1, 2)


@pytest.mark.parametrize(("args", "code", "said"), [
    (("--by", "day"), 4, "--by 'day' is not one of week, month"),
    (("--owner", "nobody"), 3, "no user 'nobody'"),
    (("--section", "tasks"), 4, "no section 'tasks'"),
    (("-o", "report.csv"), 4, "does not end in .xlsx"),
    (("--since", "someday"), 4, "since"),
    (("--since", "2026-03-02", "--until", "2026-03-01"), 4, "is not after"),
    (("--source", "expo"), 2, "--source"),
])
def test_a_bad_option_is_refused_with_its_exit_code(crm, work, args, code, said):
    result = crm("report", "workload", *args)
    assert result.exit_code == code, result.output
    assert said in result.stderr and "Traceback" not in result.output


# --- the trend ----------------------------------------------------------------------------

@pytest.fixture
def weeks(crm, team, beijing, at) -> None:
    """W08 (02-16..22): Acme, alice's (given to her), her tasks T1 and "dropped" due 02-18.
    W09: T1 done on 02-24, "dropped" cancelled (counted nowhere), T2 due 02-25 (never
    done), Globex given to bob. Looked at on 03-02 14:00."""
    at("2026-02-17 10:00")
    acme = add_customer(crm, "Acme")
    first = ok(crm("task", "add", acme, "T1", "--due", "2026-02-18")).stdout.strip()
    dropped = ok(crm("task", "add", acme, "dropped", "--due", "2026-02-18")).stdout.strip()
    at("2026-02-24 10:00")
    ok(crm("task", "done", first))
    ok(crm("task", "cancel", dropped))
    ok(crm("task", "add", acme, "T2", "--due", "2026-02-25"))
    add_customer(crm, "Globex", "--owner", "bob")
    at("2026-03-02 14:00")


TREND = ("period", "start", "tasks_created", "tasks_done", "overdue_at_end", "new_customers")


def trend(crm, *args: str) -> list[tuple]:
    rows = report(crm, "--by", "week", "--since", "2026-02-16", *args)["trend"]
    return [tuple(row[key] for key in TREND) for row in rows]


def test_the_trend_counts_tasks_created_done_overdue_at_each_end_and_customers_given(
        crm, weeks):
    assert trend(crm) == [
        ("2026-W08", "2026-02-16", 1, 0, 1, 1),  # T1 overdue on 02-23 at 00:00
        ("2026-W09", "2026-02-23", 1, 1, 1, 1),  # T1 done, T2 overdue
        ("2026-W10", "2026-03-02", 0, 0, 1, 0),  # under way: T2 still overdue now
    ]
    assert trend(crm, "--owner", "bob") == [
        ("2026-W08", "2026-02-16", 0, 0, 0, 0), ("2026-W09", "2026-02-23", 0, 0, 0, 1),
        ("2026-W10", "2026-03-02", 0, 0, 0, 0)]
    assert trend(crm, "--until", "2026-02-22") == [("2026-W08", "2026-02-16", 1, 0, 1, 1)]


def test_the_trend_by_month_defaults_to_the_last_twelve(crm, weeks):
    rows = report(crm, "--by", "month")["trend"]
    assert [row["period"] for row in rows][:2] == ["2025-04", "2025-05"]
    assert [(row["period"], row["tasks_created"], row["tasks_done"], row["overdue_at_end"],
             row["new_customers"]) for row in rows[-2:]] == [
        ("2026-02", 2, 1, 1, 2), ("2026-03", 0, 0, 1, 0)]
    assert len(rows) == 12


def behind(database, options, section: str, **row: str) -> set[str]:
    """The names of the customers behind a row (what the dashboard lists for it)."""
    from crmcli.repo import users
    from crmcli.repo.reports import workload

    names = {c.id: name for name, c in customers_by_name(database).items()}
    with database() as s:
        found = workload.customers_behind(s, users.acting(s, "alice"), options, section, row)
    return {names[found_id] for found_id in found}


def test_the_customers_behind_a_member_or_department_are_the_ones_they_own(work, database):
    from crmcli.repo.reports.table import Options

    assert behind(database, Options(), "members", member="alice") == {"Acme", "Hooli"}
    assert behind(database, Options(), "departments", department="sales") == {
        "Acme", "Hooli", "Globex", "Initech", "Lead1"}
    assert behind(database, Options(dept=("service",)), "departments",
                  department="sales") == set()


def test_the_customers_behind_a_trend_row_are_those_given_in_its_week(weeks, database):
    from crmcli.repo.reports.table import Options, Period

    asked = Options(Period.parse("2026-02-16", None), by="week")
    assert behind(database, asked, "trend", period="2026-W08") == {"Acme"}
    assert behind(database, asked, "trend", period="2026-W09") == {"Globex"}
    assert behind(database, Options(Period.parse("2026-02-16", None), owner=("alice",),
                                    by="week"), "trend", period="2026-W09") == set()
