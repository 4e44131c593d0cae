"""The Reports view (F4): the reports of `crm report` with their charts and filters, and
Enter from a row to the customers behind it, over a hand-built history, clock frozen.

The history (`wins`): alice (admin, sales), bob (member, service), carol (manager,
marketing).
- Gamma: added and won by alice 2026-02-20, no amount;
- Acme (exhibition, 100000): added by alice 2026-03-02, bob writes a note, alice wins it;
- EVIL (website, 50000, owned by bob: bob holds its owner role): added and won by alice.
The funnel: three leads entered, all three went on to won (Gamma in February, the others
in March). Workload: alice owns two customers, bob one, and has not acknowledged it.
Attribution, split 30/40/30: Acme gives alice 60000 (creator and closer), bob 40000 (a
note); EVIL alice 30000, bob 20000 (a role). alice ¥90,000.00, bob ¥60,000.00.
"""

from __future__ import annotations

import pytest
from textual.widgets import Tabs

from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.customers import CustomersScreen
from crmcli.tui.screens.reports import REPORTS, ReportsScreen
from crmcli.tui.widgets.customer_table import CustomerTable
from crmcli.tui.widgets.owner_filter import OwnerFilter
from crmcli.tui.widgets.trend_chart import SectionTrend
from helpers import add_customer

from .conftest import NEXT_DAY, SEEDED_AT
from .helpers import press, screen_text, settle, type_into
from .test_keys_and_palette import footer, palette
from .test_my_work import column

EVIL = "[bold]x[/] \x1b[31mred"
SHOWN_EVIL = "[bold]x[/] \\x1b[31mred"


def ok(result):
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def wins(crm, team, frozen) -> None:
    frozen("2026-02-20T09:00:00+00:00")
    gamma = add_customer(crm, "Gamma", "--source", "exhibition")
    ok(crm("customer", "edit", gamma, "--stage", "won"))
    frozen(SEEDED_AT)
    acme = add_customer(crm, "Acme", "--source", "exhibition", "--set", "contract_amount=100000")
    evil = add_customer(crm, EVIL, "--source", "website", "--owner", "bob",
                        "--set", "contract_amount=50000")
    ok(crm("--as", "bob", "note", "add", acme, "they want 200 seats"))
    ok(crm("customer", "edit", acme, "--stage", "won"))
    ok(crm("customer", "edit", evil, "--stage", "won"))


async def open_report(pilot, name: str) -> ReportsScreen:
    """F4, then n until the tab of report `name` is shown."""
    await press(pilot, "f4")
    screen = pilot.app.screen
    assert isinstance(screen, ReportsScreen)
    for _ in REPORTS:
        if screen.chosen == name:
            break
        await press(pilot, "n")
    assert screen.query_one(Tabs).active == name
    return screen


def table(screen: ReportsScreen, section: str):
    """The table of the section named `section` of the report on screen."""
    index = [s.name for s in screen.report.sections].index(section)
    return screen.query_one(f"#table-{index}")


async def test_f4_shows_the_report_with_its_figures_chart_and_notes(wins, app):
    dashboard = app()
    async with dashboard.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        screen = await open_report(pilot, "attribution")
        assert column(table(screen, "customers"), 0) == ["Gamma", "Acme", SHOWN_EVIL]
        members = table(screen, "members")
        assert column(members, 0) == ["alice", "bob"]
        assert column(members, 2) == ["3", "0"]  # created
        assert column(members, 5) == ["¥90,000.00", "¥60,000.00"]  # credit, as crm report
        shown = screen_text(dashboard)
        assert "Per member" in shown and "Credit split 30/40/30" in shown
        bars = [line.strip() for line in shown.splitlines() if "█" in line]
        alice = next(line for line in bars if line.startswith("alice "))
        bob = next(line for line in bars if line.startswith("bob "))
        assert alice.endswith("¥90,000.00") and bob.endswith("¥60,000.00")
        assert alice.count("█") > bob.count("█")
        assert {"Reports", "Inbox", "Next report", "Previous report", "By", "Filters"} <= (
            palette(dashboard))
        assert "n Next report" in footer(dashboard)
        await press(pilot, "N")
        assert screen.chosen == "workload" and "Per member" in screen_text(dashboard)


async def test_the_filters_change_the_figures_as_the_cli_options_do(wins, app):
    dashboard = app()
    async with dashboard.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        screen = await open_report(pilot, "attribution")
        await type_into(pilot, "#since", "2026-03-01")
        await press(pilot, "enter")
        assert column(table(screen, "customers"), 0) == ["Acme", SHOWN_EVIL]
        assert column(table(screen, "members"), 2) == ["2", "0"]
        assert dashboard.focused is table(screen, "customers")  # Enter: back to the report
        await press(pilot, "slash")
        assert dashboard.focused is screen.query_one("#since")
        await press(pilot, "escape")
        assert dashboard.focused is table(screen, "customers")

        screen.query_one(OwnerFilter).chosen = ["bob"]
        await settle(pilot)
        assert column(table(screen, "customers"), 0) == [SHOWN_EVIL]
        assert column(table(screen, "members"), 5) == ["¥30,000.00", "¥20,000.00"]
        assert "Only customers of owner bob" in screen_text(dashboard)

        await press(pilot, "b")
        assert "by week" in screen_text(dashboard) and screen.options.by == "week"
        await press(pilot, "b", "b")
        assert "in total" in screen_text(dashboard) and screen.options.by is None

        await type_into(pilot, "#until", "soon")
        await press(pilot, "tab")  # leaving the box applies it too
        assert "until: 'soon' is not a date" in screen_text(dashboard)  # in the status line
        assert column(table(screen, "customers"), 0) == [SHOWN_EVIL]  # the report stays


async def test_the_funnel_by_month_draws_its_trend_and_a_month_lists_its_customers(
    wins, app, frozen
):
    frozen(NEXT_DAY)
    dashboard = app()
    async with dashboard.run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        screen = await open_report(pilot, "funnel")
        funnel = table(screen, "funnel")
        assert column(funnel, 0) == ["lead", "qualified", "proposal", "negotiation", "won"]
        assert column(funnel, 1) == ["0", "0", "0", "0", "3"]  # now
        assert column(funnel, 2) == ["3", "0", "0", "0", "3"]  # entered
        assert column(funnel, 4)[0] == "100.0%"  # conversion, as crm report shows it

        await press(pilot, "b", "b")
        assert "by month" in screen_text(dashboard)
        trend = table(screen, "trend")
        assert column(trend, 0) == ["2026-02", "2026-03"]
        assert column(trend, 1) == ["1", "2"]  # leads entered
        assert len(screen.query(SectionTrend)) == 1
        assert "▞▞ Lead" in screen_text(dashboard)  # the line chart's legend
        trend.focus()
        trend.move_cursor(row=0)
        await press(pilot, "enter")
        assert column(dashboard.screen.query_one(CustomerTable), 0) == ["Gamma"]
        await press(pilot, "escape")

        await type_into(pilot, "#source", "website, 展会")
        await press(pilot, "enter")
        assert column(table(screen, "funnel"), 2) == ["1", "0", "0", "0", "1"]  # EVIL only


async def test_the_workload_per_member_and_a_members_customers(wins, app):
    dashboard = app()
    async with dashboard.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        screen = await open_report(pilot, "workload")
        members = table(screen, "members")
        assert column(members, 0) == ["alice", "bob", "carol"]
        assert column(members, 3) == ["2", "1", "0"]  # all customers
        assert column(members, 6) == ["0", "1", "0"]  # waiting ack
        await press(pilot, "enter")  # alice
        assert sorted(column(dashboard.screen.query_one(CustomerTable), 0)) == ["Acme", "Gamma"]


async def test_enter_on_a_row_lists_its_customers_and_opens_one(wins, app):
    dashboard = app()
    async with dashboard.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        screen = await open_report(pilot, "attribution")
        members = table(screen, "members")
        members.focus()
        members.move_cursor(row=1)  # bob
        await press(pilot, "enter")
        listing = dashboard.screen
        assert isinstance(listing, CustomersScreen)
        customers = listing.query_one(CustomerTable)
        assert sorted(column(customers, 0)) == ["Acme", SHOWN_EVIL]
        assert "Per member: bob" in screen_text(dashboard)
        assert "Add" not in palette(dashboard) and "Back" in palette(dashboard)
        await press(pilot, "enter")
        assert isinstance(dashboard.screen, CustomerScreen)
        await press(pilot, "escape")
        assert dashboard.screen is listing
        await press(pilot, "escape")
        assert dashboard.screen is screen


async def test_user_data_in_a_report_shows_literally(crm, wins, app):
    ok(crm("user", "edit", "bob", "--dept", EVIL))  # a department is typed by people too
    dashboard = app()
    async with dashboard.run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        screen = await open_report(pilot, "attribution")
        shown = screen_text(dashboard)
        assert "\x1b" not in shown
        assert f"{SHOWN_EVIL}  website" in shown  # its row: not bold, not red
        assert any(line.strip().startswith(SHOWN_EVIL) and "█" in line
                   for line in shown.splitlines())  # the department's bar
        customers = table(screen, "customers")
        customers.focus()
        customers.move_cursor(row=2)
        await press(pilot, "enter")
        assert column(dashboard.screen.query_one(CustomerTable), 0) == [SHOWN_EVIL]
        assert dashboard.screen.sub_title.endswith(f"Won customers: {SHOWN_EVIL}")
