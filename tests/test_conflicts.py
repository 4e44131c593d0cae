"""`crm conflicts` on one replica: the choices are named by what they do, and `show` says
who wrote the current value and who the other one, and when. (Entries made by a real
sync, and two resolutions of one entry, are in tests/sync.)"""

import json
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from crmcli.models import Conflict, Customer
from helpers import add_customer, customers_by_name

MADE = datetime(2026, 12, 3, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def entry(crm, team, database, utc) -> str:
    """Acme's city: alice changed it to Beijing (the current value); bob's Hangzhou did
    not make it (the other one)."""
    acme = add_customer(crm, "Acme Trading", "--city", "Shanghai")
    assert crm("customer", "edit", acme, "--city", "Beijing").exit_code == 0
    with database(write=True) as s:
        customer = s.exec(select(Customer).where(Customer.name == "Acme Trading")).one()
        made = Conflict(kind="edit", entity="customer", entity_id=customer.id,
                        customer_id=customer.id, field="city", base="Shanghai",
                        mine="Hangzhou", theirs="Beijing", actor="bob", made_at=MADE,
                        event_id="e1")
        s.add(made)
        s.flush()
        return made.id[-8:]


def test_show_names_the_current_and_the_other_value_with_who_wrote_each_and_when(crm, entry):
    shown = crm("conflicts", "show", entry)
    assert shown.exit_code == 0, shown.output
    lines = {line.split()[0]: line for line in shown.stdout.splitlines() if line.strip()}
    assert "Beijing" in lines["current"] and "by alice" in lines["current"]
    assert "Hangzhou" in lines["other"] and "by bob, 2026-12-03 09:30" in lines["other"]
    row = json.loads(crm("conflicts", "show", entry, "--format", "json").stdout)
    assert (row["current_by"], row["other_by"], row["other_at"]) == (
        "alice", "bob", "2026-12-03T09:30:00Z")
    assert row["current_at"] is not None
    listed = crm("conflicts", "list").stdout
    assert "Current" in listed and "Other" in listed


def test_the_old_take_option_is_gone_and_one_choice_is_needed(crm, entry, database):
    for args in (("--take", "mine"), ("--take", "theirs"), (),
                 ("--keep-current", "--restore-other"), ("--keep-current", "--value", "X")):
        result = crm("conflicts", "resolve", entry, *args)
        assert result.exit_code == 2, (args, result.output)
    assert customers_by_name(database)["Acme Trading"].city == "Beijing"
    assert crm("conflicts", "list", "--format", "json").stdout.count('"id"') == 1


def test_restore_other_writes_the_value_that_did_not_make_it(crm, entry, database):
    result = crm("conflicts", "resolve", entry, "--restore-other")
    assert result.exit_code == 0, result.output
    assert "(restore other)" in result.stderr
    assert customers_by_name(database)["Acme Trading"].city == "Hangzhou"
    [closed] = json.loads(crm("conflicts", "list", "--all", "--format", "json").stdout)
    assert (closed["resolution"], closed["resolved_by"]) == ("mine", "alice")
    assert "restore other" in crm("conflicts", "list", "--all").stdout
    assert "resolved" in crm("conflicts", "show", entry).stdout


def test_keep_current_leaves_the_record_as_it_is(crm, entry, database):
    result = crm("conflicts", "resolve", entry, "--keep-current")
    assert result.exit_code == 0, result.output
    assert "(keep current)" in result.stderr
    assert customers_by_name(database)["Acme Trading"].city == "Beijing"
    with database() as s:
        assert s.exec(select(Conflict)).one().resolution == "theirs"


def between(database, original: Conflict, other: dict) -> str:
    """An entry between two resolutions of `original` (as a sync makes it): alice's stands,
    `other` came second. Returns its short id."""
    with database(write=True) as s:
        s.add(original)
        made = Conflict(kind="resolution", entity="conflict", entity_id=original.id,
                        customer_id=original.customer_id, field="resolution",
                        theirs={"resolution": original.resolution, "by": "alice",
                                "at": "2026-12-03T09:00:00Z"},
                        mine={"by": "bob", "at": "2026-12-03T09:10:00Z", **other},
                        actor="bob", made_at=MADE, event_id="e2")
        s.add(made)
        s.flush()
        return made.id[-8:]


def resolved(customer_id: str, kind: str = "edit", **fields) -> Conflict:
    return Conflict(kind=kind, entity="customer", entity_id=customer_id,
                    customer_id=customer_id, actor="bob", made_at=MADE, event_id="e1",
                    resolved_by="alice", resolved_at=MADE, **fields)


@pytest.fixture
def acme_id(crm, team, database) -> str:
    add_customer(crm, "Acme Trading", "--city", "Shanghai")
    return customers_by_name(database)["Acme Trading"].id


def test_restoring_the_other_resolution_undoes_a_kept_value(crm, acme_id, database):
    original = resolved(acme_id, field="city", base="Beijing", mine="Shanghai",
                        theirs="Hangzhou", resolution="mine")  # alice wrote Shanghai back
    ref = between(database, original, {"resolution": "theirs"})  # bob kept Hangzhou
    shown = crm("conflicts", "show", ref).stdout
    assert "keep current" in shown and "by alice" in shown
    assert "restore other" in shown and "by bob" in shown
    result = crm("conflicts", "resolve", ref, "--restore-other")
    assert result.exit_code == 0, result.output
    assert customers_by_name(database)["Acme Trading"].city == "Hangzhou"


def test_an_other_resolution_that_cannot_be_redone_here_says_what_to_do(crm, acme_id, database):
    original = resolved(acme_id, "deleted", field="city", mine={"city": "Hangzhou"},
                        resolution="mine")  # alice restored the customer
    ref = between(database, original, {"resolution": "theirs"})  # bob left it deleted
    result = crm("conflicts", "resolve", ref, "--restore-other")
    assert result.exit_code == 4
    assert "bob kept customer" in result.stderr and "then use --keep-current" in result.stderr
    assert crm("conflicts", "resolve", ref, "--value", "X").exit_code == 2  # not a field
    # keeping alice's: what writing into Acme takes (carol may not), or giving up one's own
    assert crm("--as", "carol", "conflicts", "resolve", ref, "--keep-current").exit_code == 6
    assert crm("--as", "bob", "conflicts", "resolve", ref, "--keep-current").exit_code == 0


def test_a_restricted_other_value_is_asked_for(crm, acme_id, database):
    original = resolved(acme_id, field="city", mine="Hangzhou", theirs="Beijing",
                        resolution="value")
    ref = between(database, original, {"resolution": "value", "value": "restricted"})
    result = crm("conflicts", "resolve", ref, "--restore-other")
    assert result.exit_code == 4 and "give it with --value" in result.stderr
    assert crm("conflicts", "resolve", ref, "--value", "Ningbo").exit_code == 0
    assert customers_by_name(database)["Acme Trading"].city == "Ningbo"
