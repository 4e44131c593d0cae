"""`crm report attribution` on a team (README "Attribution"): each replica reports from
the history it pulled, and the amounts stay where the reader is cleared: an uncleared
member reads `restricted` and asks the shared database nothing; a cleared one's replica
holds only masks, so the amounts are read from the shared database, which records each
read, and credited; when it cannot be reached they stay masked, out of the credits, and
the notes say why.

acme is alice's (sales); bob (member, service) writes a note on it, alice sets it won
with a contract amount of 100000; bob and carol (manager, marketing) pull it all.
"""

import json

import psycopg
import pytest
from test_hostile_clients import as_member


def attribution(member) -> dict:
    return json.loads(member.ok("report", "attribution", "--format", "json"))


def reveals(postgres, actor: str) -> list[tuple]:
    """The reads of sensitive values the shared database recorded for `actor`."""
    return postgres.rows("SELECT customer_id, detail->'fields' FROM audit_event "
                         "WHERE action = 'customer.reveal' AND actor = %s", actor)


def test_each_replica_credits_the_win_and_only_cleared_readers_see_its_amount(
        team, acme, postgres):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    bob.ok("note", "add", acme, "they signed")
    bob.sync()
    alice.sync()
    alice.ok("customer", "edit", acme, "--stage", "won", "--set", "contract_amount=100000")
    alice.sync()
    bob.sync()
    carol.sync()

    seen = attribution(bob)
    [won] = seen["customers"]
    assert (won["customer"], won["creator"], won["closer"], won["amount"]) == (
        "Acme Trading", "alice (sales)", "alice (sales)", "restricted")
    assert won["followers"] == ["bob (service)", "carol (marketing)"]  # a note, a role
    assert {row["member"]: (row["created"], row["followed"], row["closed"], row["credit"])
            for row in seen["members"]} == {
        "alice": (1, 0, 1, "restricted"), "bob": (0, 1, 0, "restricted"),
        "carol": (0, 1, 0, "restricted")}
    with bob.session() as s:  # nothing to leak: bob's replica holds no amount at all
        assert s.connection().exec_driver_sql(
            "SELECT contract_amount FROM customer").scalar() is None

    assert reveals(postgres, "bob") == []  # not cleared: nothing asked
    acme_id = postgres.value("SELECT id FROM customer")
    with as_member(postgres, "bob") as own_login:  # nor would the shared database answer him
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="bob may not read"):
            own_login.execute("SELECT crm_reveal(%s, %s)", (acme_id, ["contract_amount"]))

    cleared = attribution(carol)  # her replica holds a mask: the shared database answers
    assert cleared["customers"][0]["amount"] == "100000"
    assert {row["member"]: row["credit"] for row in cleared["members"]} == {
        "alice": "60000.00", "bob": "20000.00", "carol": "20000.00"}  # 30+30 / 40 shared by two
    assert {row["department"]: row["credit"] for row in cleared["departments"]} == {
        "sales": "60000.00", "service": "20000.00", "marketing": "20000.00"}
    assert reveals(postgres, "carol") == [(acme_id, ["contract_amount"])]
    out = carol.ok("report", "attribution")
    assert "1 amount(s) read from the team's database, which recorded each read" in out
    assert len(reveals(postgres, "carol")) == 2  # each report reads (and records) again


def test_a_cleared_reader_cut_off_from_the_team_gets_the_masks_and_why(team, acme, postgres):
    alice, carol = team["alice"], team["carol"]
    alice.ok("customer", "edit", acme, "--stage", "won", "--set", "contract_amount=100000")
    alice.sync()
    carol.sync()
    with carol.session(write=True) as s:  # the team's server is gone (a port nothing serves)
        s.connection().exec_driver_sql(
            "UPDATE meta SET value = 'postgresql://nobody@127.0.0.1:9/none' "
            "WHERE key = 'sync.remote'")

    cut_off = attribution(carol)
    assert cut_off["customers"][0]["amount"] == "≥100,000"  # the mask her replica holds
    assert {row["credit"] for row in cut_off["members"]} == {"0"}
    out = carol.ok("report", "attribution")
    assert "1 won customer(s) have an amount only the team's database holds" in out
    assert "left out of the credits (" in out  # and why it was not asked
    assert reveals(postgres, "carol") == []


def test_a_reader_the_team_no_longer_clears_is_refused_by_the_shared_database(
        team, acme, postgres):
    """carol's replica still says managers read contract_amount (she has not synced since
    the admin took that back), so it asks: the shared database refuses, and says why."""
    alice, carol = team["alice"], team["carol"]
    alice.ok("customer", "edit", acme, "--stage", "won", "--set", "contract_amount=100000")
    alice.sync()
    carol.sync()
    alice.ok("field", "access", "contract_amount", "--revoke", "role:manager")
    alice.sync()

    out = carol.ok("report", "attribution")
    assert "left out of the credits (the shared database refused: carol may not read" in out
    assert {row["credit"] for row in attribution(carol)["members"]} == {"0"}
    assert reveals(postgres, "carol") == []


async def test_the_dashboards_reports_view_credits_what_the_shared_database_reveals(
        team, acme, postgres):
    """F4 on carol's replica: the same amounts and credits as her `crm report attribution`,
    read (and recorded) by the shared database."""
    from crmcli import config
    from crmcli.tui.app import make_app
    from tui.helpers import press, screen_text, settle
    from tui.test_reports_tui import column, open_report, table

    alice, carol = team["alice"], team["carol"]
    alice.ok("customer", "edit", acme, "--stage", "won", "--set", "contract_amount=100000")
    alice.sync()
    carol.sync()
    dashboard = make_app(config.resolve(str(carol.path), carol.handle))
    async with dashboard.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        screen = await open_report(pilot, "attribution")
        assert column(table(screen, "members"), 0) == ["alice", "bob", "carol"]
        assert column(table(screen, "members"), 5) == ["¥60,000.00", "¥20,000.00", "¥20,000.00"]
        assert "1 amount(s) read from the team's database" in screen_text(dashboard)
        await press(pilot, "escape")
    assert len(reveals(postgres, "carol")) == 1
