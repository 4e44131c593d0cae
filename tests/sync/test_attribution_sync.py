"""`crm report attribution` on a team (README "Attribution"): each replica reports from
the history it pulled, and the amounts stay where the reader is cleared: an uncleared
member reads `restricted`, and even a cleared one's replica holds only masks, which the
credits leave out (saying so) rather than sum.

acme is alice's (sales); bob (member, service) writes a note on it, alice sets it won
with a contract amount of 100000; bob and carol (manager, marketing) pull it all.
"""

import json


def attribution(member) -> dict:
    return json.loads(member.ok("report", "attribution", "--format", "json"))


def test_each_replica_credits_the_win_and_only_cleared_readers_see_its_amount(team, acme):
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

    cleared = attribution(carol)
    assert cleared["customers"][0]["amount"] == "≥100,000"  # the mask her replica holds
    assert {row["credit"] for row in cleared["members"]} == {"0"}
    out = carol.ok("report", "attribution")
    assert "1 won customer(s) have an amount only the team's database holds" in out
