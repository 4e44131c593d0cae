"""A push goes in batches, each its own shared transaction: one cut off in the middle keeps
the batches before it on both sides, and the next sync resumes where it stopped.

The failure is real and injected at the shared database: a trigger (the server owner's)
that refuses one note, or ends the pushing session, in a batch after the first."""

from __future__ import annotations

import json

import pytest

BATCH = {"CRM_SYNC_BATCH": "3"}  # events per batch: this push takes several

FAILURES = {
    "refused": "RAISE EXCEPTION 'the disk is full'",
    "connection dropped": "PERFORM pg_terminate_backend(pg_backend_pid())",
}


def fill(alice) -> list[str]:
    """Customers with notes and tasks, one edited again at the end (its batch runs on to
    that edit), and the note the failure waits for in the middle."""
    refs = []
    for number in range(6):
        ref = alice.ok("customer", "add", f"Customer {number}", "--city", "Shanghai")
        alice.ok("note", "add", ref, "poison" if number == 2 else f"called {number}")
        alice.ok("task", "add", ref, f"send offer {number}")
        refs.append(ref)
    alice.ok("customer", "edit", refs[4], "--city", "Hangzhou", "--level", "A")
    return refs


def fail_at_poison(postgres, failure: str) -> None:
    """The server owner's trigger that fails (`FAILURES`) the note with the body 'poison'."""
    postgres.run(f"""
        CREATE FUNCTION fail_at_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.body = 'poison' THEN {failure}; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER fail_at_poison BEFORE INSERT ON note
            FOR EACH ROW EXECUTE FUNCTION fail_at_poison();
    """)


def shared_state(postgres) -> dict:
    return {
        "customers": postgres.rows(
            "SELECT id, name, city, level, owner, version FROM customer ORDER BY id"),
        "notes": postgres.rows("SELECT id, customer_id, body FROM note ORDER BY id"),
        "tasks": postgres.rows("SELECT id, customer_id, title FROM task ORDER BY id"),
        "roles": postgres.rows(
            'SELECT id, customer_id, "user", role, until FROM assignment ORDER BY id'),
        "events": postgres.rows("SELECT id, action, entity_id FROM audit_event ORDER BY id"),
        "conflicts": postgres.value("SELECT count(*) FROM conflict"),
    }


def local_customers(member) -> list[tuple]:
    rows = json.loads(member.ok("customer", "list", "--format", "json"))
    return sorted((row["id"], row["name"], row["city"], row["level"]) for row in rows)


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_push_cut_off_between_batches_resumes_where_it_stopped(team, postgres, failure):
    alice, bob = team["alice"], team["bob"]
    fill(alice)
    events = alice.sync_state()["unpushed"]
    fail_at_poison(postgres, FAILURES[failure])

    result = alice("sync", env=BATCH)
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert "run `crm sync` again" in line

    # The batches before the failure stand on both sides, and only they: what the shared
    # database holds is exactly what the replica marked pushed.
    held = {row[0] for row in postgres.rows("SELECT id FROM audit_event WHERE id = ANY(%s)", events)}
    unpushed = set(alice.sync_state()["unpushed"])
    assert 0 < len(held) < len(events)
    assert held == set(events) - unpushed
    assert postgres.value("SELECT count(*) FROM note WHERE body = 'poison'") == 0
    assert postgres.value("SELECT count(*) FROM customer") == 2  # batches end between customers

    postgres.run("DROP TRIGGER fail_at_poison ON note; DROP FUNCTION fail_at_poison()")
    report = alice.sync(env=BATCH)
    assert report["pushed"] == len(unpushed)
    assert report["conflicts"] == 0
    assert alice.sync_state()["unpushed"] == []

    # As after one uninterrupted push: every change once, the records as alice holds them.
    after = shared_state(postgres)
    assert sorted(row[0] for row in after["events"] if row[0] in set(events)) == sorted(events)
    assert after["conflicts"] == 0
    assert len(after["customers"]) == 6 and len(after["notes"]) == 6 and len(after["tasks"]) == 6
    assert [row[3] for row in after["roles"] if row[3] == "owner"] == ["owner"] * 6
    assert sorted(row[:4] for row in after["customers"]) == local_customers(alice)
    bob.sync()
    assert local_customers(bob) == local_customers(alice)
    assert alice.sync(env=BATCH)["pushed"] == 0
    assert shared_state(postgres) == after


def test_a_record_changed_early_and_late_in_a_long_push_is_judged_once(team, acme, postgres):
    """alice changes Acme's city, adds other work, changes the city again; bob changed it
    first. Pushed in batches, Acme's changes still go together: one conflict entry, as
    one push makes (from the city alice had seen to the one she holds now)."""
    alice, bob = team["alice"], team["bob"]
    bob.sync()
    bob.ok("customer", "edit", acme, "--city", "Beijing")
    bob.sync()
    alice.ok("customer", "edit", acme, "--city", "Suzhou")
    fill(alice)
    alice.ok("customer", "edit", acme, "--city", "Hangzhou")

    report = alice.sync(env=BATCH)
    assert report["conflicts"] == 1
    [entry] = json.loads(alice.ok("conflicts", "list", "--format", "json"))
    assert (entry["field"], entry["base"], entry["mine"], entry["theirs"]) == (
        "city", "Shanghai", "Hangzhou", "Beijing")
    assert postgres.value("SELECT city FROM customer WHERE name = 'Acme Trading'") == "Beijing"
    assert postgres.value("SELECT count(*) FROM customer") == 7


def test_a_customer_created_early_and_edited_late_leaves_the_batches_bounded(team, postgres):
    """As an import that repeats a lead near its end: alice's first customer is edited
    after all the other work. Its edit comes forward into its batch (a new customer takes
    its values as they are now), so the batches before the refused note still commit, and
    the shared database ends as after one push."""
    alice, bob = team["alice"], team["bob"]
    refs = fill(alice)
    alice.ok("customer", "edit", refs[0], "--city", "Suzhou", "--level", "B")
    fail_at_poison(postgres, FAILURES["refused"])
    assert alice("sync", env=BATCH).exit_code == 1
    assert postgres.rows("SELECT name, city, level FROM customer ORDER BY name") == [
        ("Customer 0", "Suzhou", "B"), ("Customer 1", "Shanghai", None)]

    postgres.run("DROP TRIGGER fail_at_poison ON note; DROP FUNCTION fail_at_poison()")
    assert alice.sync(env=BATCH)["conflicts"] == 0
    assert alice.sync_state()["unpushed"] == []
    assert sorted(row[:4] for row in shared_state(postgres)["customers"]) == local_customers(alice)
    bob.sync()
    assert local_customers(bob) == local_customers(alice)
    events = postgres.value("SELECT count(*) FROM audit_event WHERE entity_id = ANY(%s)",
                            [row[0] for row in shared_state(postgres)["customers"]])
    assert events == 6 + 2  # each customer's creation, the two edits


@pytest.mark.parametrize(("variable", "given"), [
    ("CRM_SYNC_BATCH", "abc"), ("CRM_SYNC_BATCH", "²"), ("CRM_SYNC_PAGE", "0"),
    ("CRM_SYNC_PAGE", "-5"),
])
def test_a_bad_batch_or_page_size_stops_the_sync_before_it_starts(team, postgres, variable, given):
    alice = team["alice"]
    alice.ok("customer", "add", "Initech")
    before = alice.sync_state()
    result = alice("sync", env={variable: given})
    assert result.exit_code == 2
    assert f"{variable} must be a positive whole number, not {given!r}" in result.output
    assert alice.sync_state() == before
    assert postgres.value("SELECT count(*) FROM customer WHERE name = 'Initech'") == 0


def test_the_batch_read_while_one_is_pushed_passes_by_the_edits_it_brought_forward(team, postgres):
    """The next batch is read while the shared database takes one, before its events are
    marked synced. alice's first customer is edited amid the making of her second and
    again at the very end: both edits come forward into the first batch, so the second
    batch is the second customer's alone. Were the first edit read again with it, the
    second batch would run on to the last edit, past the refused note, and fail whole."""
    alice, bob = team["alice"], team["bob"]
    refs: list[str] = []
    for number in range(5):
        refs.append(alice.ok("customer", "add", f"Customer {number}", "--city", "Shanghai"))
        if number == 1:
            alice.ok("customer", "edit", refs[0], "--city", "Suzhou")
        alice.ok("note", "add", refs[-1], "poison" if number == 3 else f"called {number}")
    alice.ok("customer", "edit", refs[0], "--level", "B")
    events = alice.sync_state()["unpushed"]
    fail_at_poison(postgres, FAILURES["refused"])
    assert alice("sync", env=BATCH).exit_code == 1
    assert postgres.rows("SELECT name, city, level FROM customer ORDER BY name") == [
        ("Customer 0", "Suzhou", "B"), ("Customer 1", "Shanghai", None),
        ("Customer 2", "Shanghai", None)]
    unpushed = alice.sync_state()["unpushed"]
    held = {row[0] for row in postgres.rows("SELECT id FROM audit_event WHERE id = ANY(%s)", events)}
    assert held == set(events) - set(unpushed)

    postgres.run("DROP TRIGGER fail_at_poison ON note; DROP FUNCTION fail_at_poison()")
    report = alice.sync(env={"CRM_SYNC_BATCH": "1"})  # (a batch per customer from here)
    assert (report["pushed"], report["conflicts"]) == (len(unpushed), 0)
    assert alice.sync_state()["unpushed"] == []
    after = shared_state(postgres)
    assert sorted(row[0] for row in after["events"] if row[0] in set(events)) == sorted(events)
    assert len(after["customers"]) == 5 and len(after["notes"]) == 5
    assert sorted(row[:4] for row in after["customers"]) == local_customers(alice)
    bob.sync()
    assert local_customers(bob) == local_customers(alice)
    assert alice.sync(env=BATCH)["pushed"] == 0
    assert shared_state(postgres) == after
