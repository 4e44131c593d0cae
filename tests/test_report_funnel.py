"""`crm report funnel` over a history made by hand under a frozen clock (China's time).

The history (`history` below), 2026, local time; Fox is deleted and counts nowhere:
    Acme   03-02 09:00 lead · 03-04 09:00 qualified · 03-09 09:00 proposal · 03-16 09:00 won
    Beta   03-02 10:00 lead · 03-05 10:00 qualified · 03-12 10:00 lost
    Cola   03-03 09:00 qualified (source web) · 03-10 09:00 proposal
    Delta  03-03 12:00 lead
    Echo   03-09 09:00 lead (owner bob, service) · 03-10 qualified · 03-11 lead · 03-12 qualified
    Fox    03-02 09:00 lead, deleted 03-13
Now is 03-20 12:00. Over all the history:
    now        lead 1 (Delta), qualified 1 (Echo), proposal 1 (Cola), won 1, lost 1
    entered    lead 4 (Echo twice, once), qualified 4, proposal 2, negotiation 0, won 1, lost 1
    went on    lead 3 of 4 (Delta stayed): 75 %; qualified 2 of 4 (Acme, Cola; Beta was lost,
               Echo went back): 50 %; proposal 1 of 2 (Acme went on to won, skipping
               negotiation): 50 %
    stays      lead 1d, 1d (Echo), 2d (Acme), 3d (Beta): median 1d, 90th percentile 3d;
               qualified 1d (Echo), 5d (Acme), 7d (Beta), 7d (Cola): median 5d, 90th 7d;
               proposal 7d (Acme): both 7d
From 03-09 to 03-15 (a whole day: up to 03-16 00:00):
    entered    lead 1 (Echo), qualified 1 (Echo), proposal 2 (Acme, Cola), lost 1 (Beta);
               Acme's won (03-16 09:00) falls after
    went on    lead 1 of 1; qualified 0 of 1; proposal 1 of 2 (Acme, won after the period)
    stays      ended in it: lead Echo's two (1d, 1d); qualified the four above; proposal none
Per week: W10 lead 3, qualified 3; W11 lead 1, qualified 1, proposal 2, lost 1; W12 won 1.
"""

from __future__ import annotations

import json

import pytest

from helpers import add_customer

DAY = 86400


@pytest.fixture
def history(crm, team, beijing, at) -> dict[str, str]:
    """The history the module's docstring tells, made through the command line."""
    made = {}

    def add(moment: str, name: str, *options: str) -> None:
        at(f"2026-{moment}")
        made[name] = add_customer(crm, name, *options)

    def move(moment: str, name: str, stage: str) -> None:
        at(f"2026-{moment}")
        result = crm("customer", "edit", made[name], "--stage", stage)
        assert result.exit_code == 0, result.output

    add("03-02 09:00", "Acme", "--source", "expo")
    add("03-02 09:00", "Fox")
    add("03-02 10:00", "Beta", "--source", "expo")
    add("03-03 09:00", "Cola", "--stage", "qualified", "--source", "web")
    add("03-03 12:00", "Delta")
    move("03-04 09:00", "Acme", "qualified")
    move("03-05 10:00", "Beta", "qualified")
    move("03-09 09:00", "Acme", "proposal")
    add("03-09 09:00", "Echo", "--owner", "bob")
    move("03-10 09:00", "Cola", "proposal")
    move("03-10 09:00", "Echo", "qualified")
    move("03-11 09:00", "Echo", "lead")
    move("03-12 09:00", "Echo", "qualified")
    move("03-12 10:00", "Beta", "lost")
    at("2026-03-13 09:00")
    assert crm("customer", "delete", made["Fox"]).exit_code == 0
    move("03-16 09:00", "Acme", "won")
    at("2026-03-20 12:00")
    return made


def report(crm, *options: str) -> dict[str, dict[str, dict]]:
    """The report as json: each section's rows by their first column's value."""
    result = crm("report", "funnel", "--format", "json", *options)
    assert result.exit_code == 0, result.output
    return {name: {next(iter(row.values())): row for row in rows}
            for name, rows in json.loads(result.stdout).items()}


def figures(section: dict, *keys: str) -> dict[str, tuple]:
    return {name: tuple(row.get(key) for key in keys) for name, row in section.items()}


def test_over_all_the_history_each_stage_counts_who_is_in_it_entered_went_on_and_stayed(
        crm, history):
    found = report(crm)
    assert figures(found["funnel"], "now", "entered", "went_on", "conversion") == {
        "lead": (1, 4, 3, 0.75), "qualified": (1, 4, 2, 0.5), "proposal": (1, 2, 1, 0.5),
        "negotiation": (0, 0, 0, None), "won": (1, 1, None, None)}
    assert figures(found["funnel"], "stays", "median", "p90") == {
        "lead": (4, DAY, 3 * DAY), "qualified": (4, 5 * DAY, 7 * DAY),
        "proposal": (1, 7 * DAY, 7 * DAY), "negotiation": (0, None, None),
        "won": (0, None, None)}
    assert figures(found["closed"], "now", "entered", "came_back", "stays") == {
        "lost": (1, 1, 0, 0), "churned": (0, 0, 0, 0)}
    assert "went_on" not in found["funnel"]["won"]  # nothing lies beyond won


def test_a_period_counts_entries_and_ended_stays_within_it_and_conversion_after_it(
        crm, history):
    found = report(crm, "--since", "2026-03-09", "--until", "2026-03-15")
    assert figures(found["funnel"], "now", "entered", "went_on") == {
        "lead": (1, 1, 1), "qualified": (1, 1, 0), "proposal": (1, 2, 1),
        "negotiation": (0, 0, 0), "won": (1, 0, None)}
    assert figures(found["funnel"], "stays", "median", "p90") == {
        "lead": (2, DAY, DAY), "qualified": (4, 5 * DAY, 7 * DAY), "proposal": (0, None, None),
        "negotiation": (0, None, None), "won": (0, None, None)}
    assert found["closed"]["lost"]["entered"] == 1


def test_the_filters_look_at_the_customers_owner_department_and_source_now(crm, history):
    bobs = report(crm, "--owner", "BOB")["funnel"]
    assert figures(bobs, "now", "entered") == {
        "lead": (0, 1), "qualified": (1, 1), "proposal": (0, 0), "negotiation": (0, 0),
        "won": (0, 0)}
    assert report(crm, "--dept", "Service")["funnel"] == bobs
    web = report(crm, "--source", "web", "--source", "nowhere")["funnel"]
    assert figures(web, "entered", "went_on") == {
        "lead": (0, 0), "qualified": (1, 1), "proposal": (1, 0), "negotiation": (0, 0),
        "won": (0, None)}
    # a customer handed over counts for its new owner from then on, its history with it
    assert crm("assign", history["Cola"], "--to", "bob").exit_code == 0
    assert report(crm, "--owner", "bob")["funnel"]["proposal"]["entered"] == 1


def test_by_week_the_trend_counts_who_entered_each_stage_each_week(crm, history):
    trend = report(crm, "--by", "week")["trend"]
    assert list(trend) == ["2026-W10", "2026-W11", "2026-W12"]
    assert figures(trend, "lead", "qualified", "proposal", "negotiation", "won", "lost") == {
        "2026-W10": (3, 3, 0, 0, 0, 0), "2026-W11": (1, 1, 2, 0, 0, 1),
        "2026-W12": (0, 0, 0, 0, 1, 0)}
    months = report(crm, "--by", "month", "--since", "2026-03-09")["trend"]
    assert figures(months, "lead", "qualified", "proposal", "won") == {"2026-03": (1, 1, 2, 1)}


def test_the_customers_behind_a_row_are_those_it_counts(history, database):
    from crmcli.repo.reports import funnel, stage_history
    from crmcli.repo.reports.table import Options, Period

    week = Options(Period.parse("2026-03-09", "2026-03-15"), by="week")
    with database(write=True) as s:  # as a front end does before it reads the report
        stage_history.catch_up(s)
    with database() as s:
        def names(section: str, row: dict) -> set[str]:
            ids = funnel.customers_behind(s, None, week, section, row)
            return {name for name, ref in history.items() if any(i.endswith(ref) for i in ids)}

        assert names("funnel", {"stage": "proposal"}) == {"Acme", "Cola"}
        assert names("closed", {"stage": "lost"}) == {"Beta"}
        assert names("trend", {"period": "2026-W11"}) == {"Acme", "Beta", "Cola", "Echo"}


def test_csv_writes_the_funnel_and_a_workbook_gets_every_section(crm, history, tmp_path):
    result = crm("report", "funnel", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "stage,now,entered,went_on,conversion,stays,median,p90"
    assert lines[1] == f"lead,1,4,3,0.75,4,{DAY},{3 * DAY}"
    closed = crm("report", "funnel", "--format", "csv", "--section", "closed").stdout
    assert closed.splitlines()[1] == "lost,1,1,0,0,,"
    book = tmp_path / "funnel.xlsx"
    result = crm("report", "funnel", "--by", "month", "-o", book)
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    sheets = {sheet.title: sheet for sheet in load_workbook(book).worksheets}
    assert sheets["Funnel"]["C2"].value == 4  # lead, entered
    assert sheets["Funnel"]._charts and sheets["Entered per month"]._charts


def test_the_table_shows_the_funnel_its_bars_and_how_it_was_counted(crm, history):
    result = crm("report", "funnel")
    assert result.exit_code == 0, result.output
    assert "75.0%" in result.stdout and "5d" in result.stdout and "█" in result.stdout
    assert "Entered: customers whose stage became" in result.stdout


@pytest.mark.parametrize("option", [("--since", "someday"), ("--by", "year"),
                                    ("--since", "2026-03-10", "--until", "2026-03-01")])
def test_a_bad_period_or_trend_is_refused_with_exit_4(crm, alice, option):
    result = crm("report", "funnel", *option)
    assert result.exit_code == 4, result.output
    assert len(result.stderr.strip().splitlines()) == 1
