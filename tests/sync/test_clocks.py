"""Clocks do not decide: merging compares what each side had seen, never wall-clock times."""

import json
from datetime import UTC, datetime, timedelta

from crmcli import clock


def shifted(hours: int) -> dict:
    """An environment whose clock is `hours` off (CRM_NOW freezes a process's clock)."""
    return {"CRM_NOW": (datetime.now(UTC) + timedelta(hours=hours)).isoformat()}


def stage_and_level(member, ref: str) -> tuple[str, str]:
    record = json.loads(member.ok("customer", "show", ref, "--format", "json"))
    return record["stage"], record["level"]


def test_a_replica_whose_clock_is_hours_off_neither_wins_nor_loses_because_of_it(team):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    behind, ahead = shifted(-5), shifted(+5)
    acme = alice.ok("customer", "add", "Acme Trading", "--stage", "lead", "--level", "C")
    alice.ok("assign", acme, "--to", "bob", "--role", "service")  # so bob and carol may
    alice.ok("assign", acme, "--to", "carol", "--role", "sales")  # change it
    alice.sync()
    bob.sync(env=behind)
    carol.sync(env=ahead)

    # A later change stamped five hours *earlier* still applies: bob had seen alice's value.
    alice.ok("customer", "edit", acme, "--stage", "qualified")
    alice.sync()
    bob.sync(env=behind)
    bob.ok("customer", "edit", acme, "--stage", "won", env=behind)
    assert bob.sync(env=behind)["conflicts"] == 0
    history = json.loads(alice.ok("history", acme, "--format", "json"))
    alice.sync()
    won_at = [e["at"] for e in json.loads(alice.ok("history", acme, "--format", "json"))
              if e["changes"].get("stage", [None, None])[1] == "won"]
    qualified_at = [e["at"] for e in history if e["changes"].get("stage", [None, None])[1] == "qualified"]
    assert won_at[0] < qualified_at[0]  # bob's clock says he changed it before alice did

    # A concurrent change stamped five hours *later* does not win: alice's arrived first.
    carol.sync(env=ahead)
    carol.ok("customer", "edit", acme, "--level", "A", env=ahead)
    alice.ok("customer", "edit", acme, "--level", "B")
    alice.sync()
    assert carol.sync(env=ahead)["conflicts"] == 1
    for member in (alice, bob, carol):
        member.sync()
        assert stage_and_level(member, acme) == ("won", "B")
    [entry] = json.loads(carol.ok("conflicts", "list", "--format", "json"))
    assert (entry["mine"], entry["theirs"], entry["actor"]) == ("A", "B", "carol")
    assert entry["made_at"] > clock.iso(datetime.now(UTC) + timedelta(hours=4))
