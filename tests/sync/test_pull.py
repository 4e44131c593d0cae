"""Pulling: local unpushed changes are kept, records that leave the view leave the replica,
and a no-op sync costs the same whatever the size of the shared data."""

import json

import psycopg
import pytest

from crmcli.repo import customers, notes, users


def changed_on_both(team, added: tuple, bob_edit: tuple, alice_edit: tuple) -> str:
    """A customer alice adds (`added`: the options of `customer add`) and bob serves, edited
    by bob (`bob_edit`, not pushed) and by alice (`alice_edit`, synced), then pulled alone by
    bob, as if his edit was made during a sync; returns its reference."""
    alice, bob = team["alice"], team["bob"]
    ref = alice.ok("customer", "add", *added)
    alice.ok("assign", ref, "--to", "bob", "--role", "service")  # so bob may change it
    alice.sync()
    bob.sync()
    bob.ok("customer", "edit", ref, *bob_edit)
    alice.ok("customer", "edit", ref, *alice_edit)
    alice.sync()
    bob.pull_only()
    return ref


def test_a_pull_never_overwrites_a_field_changed_here_and_not_pushed_yet(team):
    bob = team["bob"]
    acme = changed_on_both(team, ("Acme Trading", "--city", "Shanghai", "--level", "C"),
                           ("--city", "Hangzhou"), ("--city", "Beijing", "--level", "A"))
    record = json.loads(bob.ok("customer", "show", acme, "--format", "json"))
    assert (record["city"], record["level"]) == ("Hangzhou", "A")

    assert bob.sync()["conflicts"] == 1  # and the next push judges it: alice was first
    [entry] = json.loads(bob.ok("conflicts", "list", "--format", "json"))
    assert (entry["theirs"], entry["mine"]) == ("Beijing", "Hangzhou")


def test_a_name_kept_by_a_pull_is_found_by_its_own_spellings_not_the_shared_ones(team):
    """A pull derives a customer's search spellings while it reads the pages; a name this
    replica changed and has not pushed stays, and so must the spellings made from it."""
    bob = team["bob"]
    wang = changed_on_both(team, ("王伟", "--city", "Shanghai"), ("--name", "张三"),
                           ("--name", "李四", "--city", "Beijing"))
    record = json.loads(bob.ok("customer", "show", wang, "--format", "json"))
    assert (record["name"], record["city"]) == ("张三", "Beijing")

    def found(text: str) -> list[str]:
        return [c["name"] for c in json.loads(bob.ok("customer", "find", text, "--format", "json"))]

    assert found("zs") == ["张三"] and found("zhangsan") == ["张三"]
    assert found("ls") == [] and found("lisi") == []


def test_a_record_removed_from_the_shared_database_leaves_every_replica(team, postgres):
    alice, bob = team["alice"], team["bob"]
    acme = alice.ok("customer", "add", "Acme Trading")
    alice.ok("customer", "add", "Globex")
    alice.ok("note", "add", acme, "first call")
    alice.sync()
    bob.sync()
    bob.ok("note", "add", acme, "bob's unpushed note")
    acme_id = postgres.value("SELECT id FROM customer WHERE name = 'Acme Trading'")
    # The server's owner removes the customer outright, audit trail included: only
    # possible for the owner, by switching the append-only trigger off (and it shows in
    # `crm audit verify`).
    postgres.run("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    postgres.run("DELETE FROM audit_event WHERE customer_id = %s", acme_id)
    postgres.run("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    postgres.run("DELETE FROM customer WHERE id = %s", acme_id)

    report = bob.sync()
    assert report["conflicts"] == 1  # bob's note had nowhere to go: kept as a conflict
    [entry] = json.loads(bob.ok("conflicts", "list", "--format", "json"))
    assert (entry["kind"], entry["mine"]["body"]) == ("gone", "bob's unpushed note")
    alice.sync()
    # What remains about it is bob's attempt and the conflict entry keeping his note.
    remaining = sorted(row[0] for row in postgres.rows(
        "SELECT action FROM audit_event WHERE customer_id = %s", acme_id))
    assert remaining == ["conflict.create", "note.create"]
    for member in (alice, bob):
        assert member("customer", "show", acme).exit_code == 3
        assert member.ok("customer", "find", "Acme") == ""
        assert "Globex" in member.ok("customer", "list")
        with member.session() as s:
            rows = s.connection().exec_driver_sql(
                "SELECT (SELECT count(*) FROM note), (SELECT count(*) FROM assignment), "
                "(SELECT count(*) FROM audit_event WHERE customer_id = ?)", (acme_id,)
            ).one()
        assert tuple(rows) == (0, 1, len(remaining))


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """`counted(action)`: how many round trips to the shared database `action` makes.

    libpq traces every message of every connection opened meanwhile; each round trip ends
    with the server's ReadyForQuery, whether the statement was a query or a BEGIN/COMMIT.
    """
    from psycopg import pq

    real = psycopg.connect
    traces: list = []

    def traced(*args, **kwargs):
        conn = real(*args, **kwargs)
        trace = open(tmp_path / f"trace-{len(traces)}.txt", "w")  # closed by round_trips
        traces.append(trace)
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        return conn

    monkeypatch.setattr(psycopg, "connect", traced)

    def round_trips(action) -> int:
        traces.clear()
        action()
        for trace in traces:
            trace.close()
        messages = [line.split("\t") for trace in traces for line in open(trace.name)]
        return sum(message[0] == "B" and message[2] == "ReadyForQuery" for message in messages)

    return round_trips


def test_a_no_op_sync_makes_the_same_few_round_trips_whatever_the_size_of_the_data(team, counted):
    alice, bob = team["alice"], team["bob"]
    bob.sync()  # catch up with the team's joining
    small = counted(bob.sync)
    with alice.session(write=True) as s:
        me = users.acting(s, "alice")
        for number in range(500):
            notes.add(s, customers.create(s, {"name": f"Customer {number}"}, by=me), "hello", by=me)
    alice.sync()
    bob.sync()
    large = counted(bob.sync)
    # The schema check, then the pull's snapshot: BEGIN, the newest stamp, COMMIT.
    assert large == small == 4
    assert counted(alice.sync) == small


def narrow_members_to_their_own_customers(postgres) -> None:
    """Row-level security that shows a member only the customers they own (an admin all of
    them): the shape a
    `visibility = own` team setting takes (the policies `crm server init` makes show
    every customer)."""
    member_role = postgres.value("SELECT member_role FROM crm_server")
    for table, condition in (
        ("customer", "owner = (crm_actor()).handle OR (crm_actor()).role = 'admin'"),
        ("note", "customer_id IN (SELECT id FROM customer)"),
        ("assignment", "customer_id IN (SELECT id FROM customer)"),
        ("audit_event", "customer_id IS NULL OR customer_id IN (SELECT id FROM customer)"),
    ):
        postgres.run(f"DROP POLICY crm_member_reads ON {table}")
        postgres.run(
            f'CREATE POLICY crm_member_reads ON {table} FOR SELECT TO "{member_role}" '
            f"USING ({condition})"
        )


def test_the_pull_brings_only_what_the_members_role_sees_and_what_leaves_the_view_leaves(
    replica, postgres
):
    alice = replica("alice", "Alice Wang", "sales")
    bob = replica("bob", "Bob Li", "service")
    narrow_members_to_their_own_customers(postgres)
    alice.sync()
    mine = alice.ok("customer", "add", "Bob's customer", "--owner", "bob")
    alice.ok("note", "add", mine, "for bob")
    theirs = alice.ok("customer", "add", "Alice's customer")
    alice.ok("note", "add", theirs, "not for bob")
    alice.sync()

    bob.sync()
    assert [c["name"] for c in json.loads(bob.ok("customer", "list", "--format", "json"))] == [
        "Bob's customer"
    ]
    bob.ok("customer", "edit", mine, "--level", "A")
    assert bob.sync()["pushed"] == 1

    alice.sync()
    alice.ok("assign", mine, "--to", "alice")  # the customer leaves bob's view
    alice.sync()
    postgres.run("UPDATE crm_server SET view_epoch = view_epoch + 1")  # as the permission triggers will
    bob.sync()
    assert bob.ok("customer", "list") == ""
    with bob.session() as s:
        held = s.connection().exec_driver_sql(
            "SELECT (SELECT count(*) FROM customer), (SELECT count(*) FROM note), "
            "(SELECT count(*) FROM audit_event WHERE customer_id IS NOT NULL)"
        ).one()
    assert tuple(held) == (0, 0, 0)


def test_a_phone_with_its_extension_travels_to_the_other_members(team):
    alice, bob = team["alice"], team["bob"]
    alice.ok("customer", "add", "王经理", "--company", "华为", "--phone", "010-6552 1234 转8001")
    alice.sync()
    bob.sync()
    found = json.loads(bob.ok("customer", "find", "010 6552 1234", "--format", "json"))
    assert [(c["name"], c["phone"]) for c in found] == [("王经理", "+861065521234;ext=8001")]


def test_short_queries_find_what_a_pull_brings_and_forget_what_it_replaced(team):
    alice, bob = team["alice"], team["bob"]

    def found(text: str) -> list[str]:
        return [c["name"] for c in json.loads(bob.ok("customer", "find", text, "--format", "json"))]

    wang = alice.ok("customer", "add", "王伟")
    alice.ok("note", "add", wang, "面谈")
    alice.sync()
    bob.sync()
    assert found("ww") == ["王伟"] and found("王伟") == ["王伟"] and found("面谈") == ["王伟"]
    alice.ok("customer", "edit", wang, "--name", "王芳")
    alice.sync()
    bob.sync()  # the pull defers the index and fills it at its end
    assert found("ww") == [] and found("王伟") == [] and found("wf") == ["王芳"]
