"""`crm report attribution`: who brought, followed and closed each won deal, and their
share of its amount, over a hand-built history with a frozen clock (China's time).

The history (`history`), users alice (admin, sales), bob (member, service), carol
(manager, marketing), dave (member, sales), erin (member, service):
- Gamma: created by carol 2026-02-20, won by carol 2026-02-25 (before the period asked);
- Acme (exhibition, 100000): created by carol 2026-03-02; bob writes a note 03-03; erin
  does a task 03-04; carol hands the sales role to dave 03-04; dave sets it won 03-06;
- Beta (website, 50000.01): created by alice 03-02, won by alice 03-07; bob writes a
  note 03-08, after the win (not a follower).

With the default split 30/40/30 from 2026-03-01: Acme gives carol 30000.00 (creator), bob
and erin 20000.00 each (the followers' 40% halved), dave 30000.00 (closer); Beta has no
follower, so alice, creator and closer, gets all 50000.01. Per department: sales (alice,
dave) 80000.01, service (bob, erin) 40000.00, marketing (carol) 30000.00.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcli.repo.reports import credit
from helpers import add_customer, ok

SINCE = ("--since", "2026-03-01")


@pytest.fixture
def history(crm, team, beijing, at) -> dict[str, str]:
    for handle, dept in (("dave", "sales"), ("erin", "service")):
        ok(crm("user", "add", handle, "--name", handle.title(), "--dept", dept))
    at("2026-02-20 09:00")
    gamma = add_customer(crm, "Gamma", "--as", "carol", "--source", "exhibition")
    at("2026-02-25 09:00")
    ok(crm("--as", "carol", "customer", "edit", gamma, "--stage", "won"))
    at("2026-03-02 09:00")
    acme = add_customer(crm, "Acme", "--as", "carol", "--source", "exhibition",
                        "--set", "contract_amount=100000")
    beta = add_customer(crm, "Beta", "--source", "website", "--set", "contract_amount=50000.01")
    at("2026-03-03 10:00")
    ok(crm("--as", "bob", "note", "add", acme, "they want 200 seats"))
    task = ok(crm("--as", "carol", "task", "add", acme, "send the price list",
                  "--assignee", "erin")).stdout.strip()
    at("2026-03-04 10:00")
    ok(crm("--as", "erin", "task", "done", task))
    ok(crm("--as", "carol", "handoff", acme, "--to", "dave", "--role", "sales", "--require", ""))
    at("2026-03-06 10:00")
    ok(crm("--as", "dave", "customer", "edit", acme, "--stage", "won"))
    at("2026-03-07 10:00")
    ok(crm("customer", "edit", beta, "--stage", "won"))
    at("2026-03-08 10:00")
    ok(crm("--as", "bob", "note", "add", beta, "after the win"))
    return {"acme": acme, "beta": beta, "gamma": gamma}


def report(crm, *args: str, who: str = "alice") -> dict:
    return json.loads(ok(crm("--as", who, "report", "attribution", *args, "-f", "json")).stdout)


def by(rows: list[dict], key: str, *values: str) -> dict:
    return {row[key]: tuple(row[v] for v in values) for row in rows}


def test_a_cleared_admin_sees_each_won_deal_shared_30_40_30_to_the_cent(crm, history):
    data = report(crm, *SINCE)
    acme, beta = data["customers"]
    assert {k: acme[k] for k in ("customer", "source", "creator", "followers", "closer",
                                 "won_at", "amount")} == {
        "customer": "Acme", "source": "exhibition", "creator": "carol (marketing)",
        "followers": ["bob (service)", "erin (service)"], "closer": "dave (sales)",
        "won_at": "2026-03-06T02:00:00Z", "amount": "100000"}
    assert acme["id"].endswith(history["acme"])
    assert (beta["customer"], beta["followers"], beta["amount"]) == ("Beta", [], "50000.01")
    members = data["members"]
    assert [row["member"] for row in members] == ["alice", "dave", "carol", "bob", "erin"]
    assert by(members, "member", "department", "created", "followed", "closed", "credit") == {
        "alice": ("sales", 1, 0, 1, "50000.01"), "dave": ("sales", 0, 0, 1, "30000.00"),
        "carol": ("marketing", 1, 0, 0, "30000.00"), "bob": ("service", 0, 1, 0, "20000.00"),
        "erin": ("service", 0, 1, 0, "20000.00")}
    assert by(data["departments"], "department", "members", "created", "followed", "closed",
              "credit") == {"sales": (2, 1, 0, 2, "80000.01"),
                            "service": (2, 0, 1, 0, "40000.00"),
                            "marketing": (1, 1, 0, 0, "30000.00")}
    total = sum(Decimal(row["credit"]) for row in members)
    assert total == Decimal("150000.01")  # every amount shared out exactly


def test_the_table_shows_the_credits_their_bars_and_the_rule(crm, history):
    out = ok(crm("report", "attribution", *SINCE)).stdout
    assert "¥50,000.01" in out and "¥80,000.01" in out and "bob (service)" in out
    assert "Credit split 30/40/30" in out and "2026-03-01 00:00 to now" in out
    assert "Gamma" not in out  # won before the period
    assert len([line for line in out.splitlines() if line.startswith("alice ") and "█" in line]) == 1


def test_an_uncleared_member_sees_restricted_amounts_but_still_the_counts(crm, history):
    data = report(crm, *SINCE, who="bob")
    assert [row["amount"] for row in data["customers"]] == ["restricted", "restricted"]
    assert {row["credit"] for row in (*data["members"], *data["departments"])} == {"restricted"}
    assert by(data["members"], "member", "created", "followed", "closed") == {
        "alice": (1, 0, 1), "dave": (0, 0, 1), "carol": (1, 0, 0), "bob": (0, 1, 0),
        "erin": (0, 1, 0)}
    out = ok(crm("--as", "bob", "report", "attribution", *SINCE)).stdout
    assert "restricted" in out and "¥" not in out and "50,000" not in out
    assert "contract_amount is read by role:admin, role:manager, dept:finance" in out
    assert "█" in out  # the counts are charted instead


def test_a_manager_is_cleared_like_the_admin(crm, history):
    assert report(crm, *SINCE, who="carol")["members"][0]["credit"] == "50000.01"


def test_the_team_split_setting_changes_every_share(crm, history):
    result = ok(crm("setting", "set", "attribution.split", "20/50/30"))
    assert "attribution.split = 20/50/30" in result.output
    members = report(crm, *SINCE)["members"]
    assert by(members, "member", "credit") == {
        "alice": ("50000.01",), "dave": ("30000.00",), "bob": ("25000.00",),
        "erin": ("25000.00",), "carol": ("20000.00",)}
    out = ok(crm("report", "attribution", *SINCE)).stdout
    assert "Credit split 20/50/30" in out


@pytest.mark.parametrize("typed", ["30/40/40", "30/70", "a/b/c", "110/-5/-5", "33.5/33.5/33"])
def test_a_split_that_is_not_three_whole_percentages_summing_to_100_is_refused(
        crm, alice, database, typed):
    result = crm("setting", "set", "attribution.split", typed)
    assert result.exit_code == 4
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    from crmcli.repo import settings

    with database() as s:
        assert settings.get(s, credit.SETTING) is None


def test_a_member_may_not_change_the_split(crm, team):
    assert crm("--as", "bob", "setting", "set", "attribution.split", "0/0/100").exit_code == 6


def test_a_split_stored_malformed_counts_as_the_default(crm, history, database):
    from crmcli.repo import settings, users

    with database(write=True) as s:
        settings.put(s, credit.SETTING, "half/half", by=users.acting(s, "alice"))
    assert report(crm, *SINCE)["members"][1]["credit"] == "30000.00"  # dave, 30%


def test_the_period_and_the_filters_choose_the_won_customers(crm, history):
    def names(*args: str) -> list[str]:
        return [row["customer"] for row in report(crm, *args)["customers"]]

    assert names() == ["Gamma", "Acme", "Beta"]
    assert names(*SINCE, "--until", "2026-03-06") == ["Acme"]  # a day counts in whole
    assert names("--source", "WEBSITE") == ["Beta"]
    assert names("--owner", "carol") == ["Gamma", "Acme"]
    assert names("--dept", "Sales") == ["Beta"]  # Acme and Gamma are marketing's (carol's)


def test_a_customer_taken_back_from_won_is_not_counted_and_a_second_win_counts(
        crm, history, at):
    at("2026-03-09 10:00")
    ok(crm("customer", "edit", history["acme"], "--stage", "negotiation"))
    assert [row["customer"] for row in report(crm, *SINCE)["customers"]] == ["Beta"]
    at("2026-03-10 10:00")
    ok(crm("--as", "carol", "customer", "edit", history["acme"], "--stage", "won"))
    acme = report(crm, *SINCE)["customers"][1]
    # carol created and closed it now; bob's note, erin's task and dave's role follow
    assert (acme["customer"], acme["closer"], acme["followers"]) == (
        "Acme", "carol (marketing)", ["bob (service)", "dave (sales)", "erin (service)"])
    before = report(crm, *SINCE, "--until", "2026-03-08")["customers"][0]
    assert (before["customer"], before["closer"]) == ("Acme", "dave (sales)")  # its win then
    assert report(crm, "--since", "2026-03-08", "--until", "2026-03-09")["customers"] == []


def test_a_churned_customer_still_counts_as_won(crm, history, at):
    at("2026-03-09 10:00")
    ok(crm("customer", "edit", history["beta"], "--stage", "churned"))
    assert [row["customer"] for row in report(crm, *SINCE)["customers"]] == ["Acme", "Beta"]


def test_csv_and_ndjson_carry_one_section_or_all(crm, history):
    lines = ok(crm("report", "attribution", *SINCE, "-f", "csv", "--section", "departments")
               ).stdout.splitlines()
    assert lines == ["department,members,created,followed,closed,credit",
                     "sales,2,1,0,2,80000.01", "service,2,0,1,0,40000.00",
                     "marketing,1,1,0,0,30000.00"]
    rows = ok(crm("report", "attribution", *SINCE, "-f", "ndjson")).stdout.splitlines()
    assert [json.loads(line)["section"] for line in rows].count("members") == 5


def test_o_writes_a_workbook_with_the_credits_as_numbers_and_native_charts(crm, history, tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "report.xlsx"
    ok(crm("report", "attribution", *SINCE, "-o", path))
    book = load_workbook(path)
    assert book.sheetnames == ["Won customers", "Per member", "Per department", "Notes"]
    members = book["Per member"]
    assert [c.value for c in members[1]] == [
        "Member", "Department", "Created", "Followed", "Closed", "Credit"]
    assert [c.value for c in members[2]] == ["alice", "sales", 1, 0, 1, 50000.01]
    assert members["F2"].number_format == "#,##0.00"
    assert [type(chart).__name__ for name in book.sheetnames for chart in book[name]._charts
            ] == ["BarChart", "BarChart"]  # per member, per department


def test_the_customers_behind_a_row_are_the_won_customers_it_counts(history, database):
    from crmcli.repo import users
    from crmcli.repo.reports import attribution
    from crmcli.repo.reports.table import Options, Period

    asked = Options(Period.parse("2026-03-01", None))
    with database() as s:
        alice = users.acting(s, "alice")
        built = attribution.build(s, alice, asked)
        ids = {row["customer"]: row["id"] for row in built.sections[0].rows}

        def behind(section: str, **row: str) -> set[str]:
            return set(attribution.customers_behind(s, alice, asked, section, row))

        assert behind("members", member="bob") == {ids["Acme"]}
        assert behind("members", member="alice") == {ids["Beta"]}
        assert behind("departments", department="sales") == {ids["Acme"], ids["Beta"]}
        assert behind("customers", id=ids["Beta"]) == {ids["Beta"]}


@given(amount=st.decimals(min_value=0, max_value=10**9, places=2),
       creator=st.integers(0, 100), closer=st.integers(0, 100),
       followers=st.lists(st.sampled_from("bcdefg"), unique=True, max_size=6),
       same=st.booleans())
def test_the_credits_of_a_deal_add_up_to_its_amount_exactly(amount, creator, closer,
                                                            followers, same):
    if creator + closer > 100:
        creator, closer = creator // 2, closer // 2
    rule = credit.Split(creator, 100 - creator - closer, closer)
    shares = credit.shares(amount, rule, "z" if same else "a", followers, "z")
    assert sum(shares.values()) == amount
    assert all(share >= 0 and share.as_tuple().exponent >= -2 for share in shares.values())
    fair = [shares[f] for f in followers]
    assert not fair or max(fair) - min(fair) <= Decimal("0.01")  # equal, but for a cent
