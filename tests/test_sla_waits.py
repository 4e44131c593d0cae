"""The kept SLA waits (`repo/sla_waits.py`): the workload report counts late customers from
when each began to wait, kept and caught up with the audit trail; whatever changed a wait,
the kept ones count what working every wait out from the notes counts."""

from __future__ import annotations

from datetime import datetime

import pytest

from helpers import add_customer, ok

MOMENTS = ("2026-03-02 10:30", "2026-03-02 13:30", "2026-03-03 12:00", "2026-03-06 12:00")


def both_ways(database) -> list[tuple[dict, dict]]:
    """Caught up (a write), then at each of MOMENTS: (counted from the kept waits,
    counted from the notes)."""
    from crmcli.repo import sla, sla_waits

    with database(write=True) as s:
        sla_waits.catch_up(s)
    found = []
    with database() as s:
        assert sla_waits.current(s)
        for moment in MOMENTS:
            now = datetime.fromisoformat(moment + ":00+08:00")
            found.append((sla.late_counts(s, now), sla.late_counts(s, now, kept=False)))
            bob = (sla.late_counts(s, now, ("bob",)), sla.late_counts(s, now, ("bob",),
                                                                       kept=False))
            assert bob[0] == bob[1] == {k: v for k, v in found[-1][0].items() if k == "bob"}
    return found


def agree(database) -> list[dict]:
    counted = both_ways(database)
    for kept, worked_out in counted:
        assert kept == worked_out
    return [kept for kept, _ in counted]


@pytest.fixture
def two(crm, team, beijing, at) -> dict[str, str]:
    at("2026-03-02 09:00")
    return {"acme": add_customer(crm, "Acme", "--sla", "1h"),
            "globex": add_customer(crm, "Globex", "--sla", "4h", "--owner", "bob")}


def test_the_kept_waits_count_as_the_notes_do_through_every_change(crm, two, database, at):
    acme, globex = two["acme"], two["globex"]
    assert agree(database)[0] == {"alice": 1}  # Acme's hour is up at 10:30
    at("2026-03-02 10:00")
    ok(crm("note", "add", acme, "answered", "--kind", "call", "--out"))
    at("2026-03-02 10:05")
    ok(crm("note", "add", acme, "they called", "--kind", "call", "--in"))
    assert agree(database)[1] == {"alice": 1, "bob": 1}  # 13:30: both past due
    ok(crm("--as", "carol", "note", "add", globex, "carol answers", "--kind", "call", "--out"))
    assert agree(database)[1] == {"alice": 1, "bob": 1}  # carol is nobody to Globex
    ok(crm("assign", globex, "--to", "carol", "--role", "service"))
    assert agree(database)[1] == {"alice": 1}  # now she is: her answer counts
    ok(crm("assign", acme, "--to", "bob", "--role", "owner"))
    assert agree(database)[1] == {"bob": 1}  # Acme's answer was alice's, no more the owner's
    notes = [row["id"] for row in __import__("json").loads(
        ok(crm("note", "list", acme, "-f", "json")).stdout)]
    for note in notes:
        ok(crm("note", "edit", note, "--no-direction"))
    assert agree(database)[1] == {"bob": 1}  # waiting since its creation
    ok(crm("customer", "edit", acme, "--sla", "2d"))
    assert agree(database)[1:] == [{}, {}, {"bob": 1}]
    ok(crm("customer", "delete", acme))
    assert agree(database)[3] == {}
    ok(crm("customer", "restore", acme))
    assert agree(database)[3] == {"bob": 1}


def test_a_merge_moves_the_notes_and_their_wait_to_the_customer_kept(crm, two, database, at):
    at("2026-03-02 09:30")
    ok(crm("note", "add", two["acme"], "answered", "--kind", "call", "--out"))
    other = add_customer(crm, "Acme Ltd", "--owner", "alice")
    at("2026-03-02 09:40")
    ok(crm("note", "add", other, "they called", "--kind", "call", "--in"))
    assert agree(database)[1] == {"bob": 1}  # 13:30: Globex; Acme answered, Acme Ltd no sla
    ok(crm("customer", "merge", two["acme"], other))
    assert agree(database)[1] == {"alice": 1, "bob": 1}  # Acme: the call of 09:40


def test_events_gone_above_the_mark_take_it_back_so_a_reused_seq_is_seen(
        crm, two, database, at):
    from crmcli.models import AuditEvent
    from crmcli.repo import sla_waits

    agree(database)
    with database(write=True) as s:  # as a pull whose view moved deletes events
        newest = s.get(AuditEvent, s.exec(__import__("sqlmodel").select(
            __import__("sqlalchemy").func.max(AuditEvent.seq))).one())
        s.delete(newest)
    with database() as s:
        assert sla_waits.current(s)  # the mark came back with it
    at("2026-03-02 10:00")
    ok(crm("note", "add", two["acme"], "answered", "--kind", "call", "--out"))
    with database() as s:
        assert not sla_waits.current(s)  # the new event (its seq again) is past the mark
    assert agree(database)[0] == {}


def test_the_first_report_says_it_works_out_the_waits_once(crm, two, at):
    at("2026-03-02 12:00")
    first = ok(crm("report", "workload"))
    assert "began to wait (once: kept from now on)" in first.stderr
    second = ok(crm("report", "workload"))
    assert "began to wait" not in second.stderr


def test_notes_imported_in_bulk_move_the_kept_waits_too(crm, two, database, at, tmp_path):
    agree(database)
    path = tmp_path / "notes.csv"
    at("2026-03-02 09:30")
    path.write_text("customer,body,kind,direction\nAcme,answered,call,out\n", encoding="utf-8")
    ok(crm("import", "notes", path))
    assert agree(database)[1] == {"bob": 1}  # 13:30: Acme answered
    at("2026-03-02 09:45")
    path.write_text("customer,body,kind,direction\nAcme,they called,call,in\n",
                    encoding="utf-8")
    ok(crm("import", "notes", path))
    assert agree(database)[1] == {"alice": 1, "bob": 1}


def test_a_customer_deleted_from_the_replica_takes_its_kept_wait_with_it(
        crm, two, database, at):
    from sqlmodel import select

    from crmcli.models import Customer

    assert agree(database)[1] == {"alice": 1, "bob": 1}
    with database(write=True) as s:  # as a pull whose view moved: rows gone, no event
        acme = s.exec(select(Customer).where(Customer.name == "Acme")).one()
        run = s.connection().exec_driver_sql
        for table in ("note", "task", "assignment", "approval"):
            run(f"DELETE FROM {table} WHERE customer_id = ?", (acme.id,))
        run("DELETE FROM customer WHERE id = ?", (acme.id,))
    assert agree(database)[1] == {"bob": 1}
