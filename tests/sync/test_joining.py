"""Joining a team: `crm init`, `crm remote set URL`, `crm sync`; passwords stay out of our files."""

import json

from crmcli import config


def test_a_member_is_recognised_by_their_login_and_gets_the_shared_record(replica):
    alice = replica("alice", "Alice Wang", "sales", "admin")
    carol = replica("carol", "Carol Z.", "events", "manager")  # the owner entered her so
    with carol.session(write=True) as s:  # her own replica thinks otherwise (crm init)
        from crmcli.repo import users

        assert users.get(s, "carol").role == "admin"
    result = carol("sync", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "recognised as carol (manager)" in result.stderr
    assert json.loads(result.stdout)["conflicts"] == 0  # she gets the shared record
    with carol.session() as s:
        local = users.get(s, "carol")
        assert (local.name, local.department, local.role) == ("Carol Z.", "events", "manager")
    alice.sync()
    with alice.session() as s:
        assert users.get(s, "carol").id == local.id  # one record, the shared one


def test_a_login_the_team_does_not_know_is_refused_naming_who_adds_members(crm, tmp_path, shared):
    import psycopg

    from conftest import schema_of
    from helpers import as_login

    stranger = f"{schema_of(shared)}_mallory"
    with psycopg.connect(shared, autocommit=True) as owner:
        owner.execute(f'CREATE ROLE "{stranger}" LOGIN')
    assert crm("init", "--user", "mallory", "--name", "M").exit_code == 0
    assert crm("remote", "set", as_login(shared, stranger)).exit_code == 0
    result = crm("sync")
    assert result.exit_code == 6
    assert f"{stranger} is not a member of this team" in result.stderr
    assert "crm server member add" in result.stderr
    status = crm("server", "status", "--url", as_login(shared, stranger))
    assert status.exit_code == 2
    assert "no schema this login may use" in status.stderr
    assert "a member of the team (`crm server member add`)" in status.stderr


def test_a_login_that_sees_the_teams_tables_but_is_no_member_is_refused_the_same_way(
    crm, shared, postgres
):
    """As in a team kept in `public`, which every login may use: the stranger sees the
    tables, may read none of them, and is told who adds members, not a database error."""
    import psycopg

    from conftest import schema_of
    from helpers import as_login

    stranger = f"{schema_of(shared)}_mallory"  # dropped with the test's schema
    with psycopg.connect(shared, autocommit=True) as owner:
        owner.execute(f'CREATE ROLE "{stranger}" LOGIN')
        owner.execute(f'GRANT USAGE ON SCHEMA "{schema_of(shared)}" TO "{stranger}"')
    url = as_login(shared, stranger)
    before = postgres.value("SELECT count(*) FROM audit_event")
    assert crm("init", "--user", "mallory", "--name", "M").exit_code == 0
    assert crm("remote", "set", url).exit_code == 0
    for command in (("sync",), ("server", "status", "--url", url),
                    ("server", "init", "--url", url), ("audit", "verify", "--url", url)):
        result = crm(*command)
        assert result.exit_code == 6, (command, result.output)
        assert result.stdout == ""
        [line] = result.stderr.strip().splitlines()
        assert f"the login {stranger} is not a member of this team" in line, command
        assert "`crm server member add`" in line
        assert "permission denied" not in line and "crm_server" not in line
    assert postgres.value("SELECT count(*) FROM audit_event") == before
    assert postgres.value("SELECT count(*) FROM users WHERE handle = 'mallory'") == 0


def test_a_replica_syncs_as_its_own_member_only(replica):
    alice = replica("alice", "Alice Wang", "sales", "admin")
    bob = replica("bob", "Bob Li", "service")
    alice.sync()
    bob.sync()
    impostor = bob("--as", "alice", "sync")  # bob's login, claiming to be alice
    assert impostor.exit_code == 6
    assert "this login is bob's" in impostor.stderr


def test_a_linked_replica_acts_as_its_own_member_only_even_for_an_admin(replica):
    alice = replica("alice", "Alice Wang", "sales", "admin")
    before = alice("--as", "bob", "customer", "add", "Mallory Ltd")  # linked, not synced yet
    assert before.exit_code == 6
    assert "acts as its own member (alice) only" in before.stderr
    alice.sync()
    after = alice("--as", "bob", "task", "list")
    assert after.exit_code == 6 and "(alice)" in after.stderr
    assert "Mallory" not in alice.ok("customer", "list")


def first_sync_cut_off_after_the_shared_commit(member) -> str:
    """The stderr of a first sync retried after the one before it reached the shared
    commit but not the local one (as if the machine died in between)."""
    copy = member.path.read_bytes()
    member.sync()
    member.path.write_bytes(copy)
    for suffix in ("-wal", "-shm"):
        member.path.with_name(member.path.name + suffix).unlink(missing_ok=True)
    retried = member("sync")
    assert retried.exit_code == 0, retried.output
    return retried.stderr


def test_a_first_sync_completed_after_a_cut_off_still_says_the_member_was_recognised(replica):
    replica("alice", "Alice Wang", "sales", "admin")
    carol = replica("carol", "Carol Z.", "events", "manager")
    assert "recognised as carol (manager)" in first_sync_cut_off_after_the_shared_commit(carol)


def test_a_fresh_replica_first_sync_brings_the_whole_shared_data_set(team, replica):
    alice = team["alice"]
    first = alice.ok("customer", "add", "Acme Trading", "--city", "Shanghai")
    alice.ok("note", "add", first, "called, wants a quote")
    alice.ok("task", "add", first, "send the quote", "--assignee", "bob")
    alice.ok("field", "add", "budget", "--type", "int")
    alice.sync()

    fresh = replica("bob", "Bob Li", "service")  # bob on a second machine
    report = fresh.sync()
    assert report["pushed"] == 0  # the user record `crm init` made is the team's to keep
    assert report["pulled"] > 0
    assert "Acme Trading" in fresh.ok("customer", "list")
    assert "send the quote" in fresh.ok("task", "list", "--mine")
    assert "budget" in fresh.ok("field", "list")
    assert "wants a quote" in fresh.ok("note", "list", first)
    assert fresh.ok("customer", "find", "Acme") == alice.ok("customer", "find", "Acme")


def test_a_local_database_that_already_holds_records_pushes_them_on_first_sync(replica, crm, shared):
    alice = replica("alice", "Alice Wang", "sales")
    for name in ("Acme Trading", "北京星光科技", "Globex"):
        alice.ok("customer", "add", name)
    report = alice.sync()
    assert report["pushed"] == 1 + 3 * 2  # the user, then each customer and its owner assignment
    status = json.loads(crm("server", "status", "--url", shared, "--format", "json").stdout)
    assert status["customers"] == 3


def test_remote_set_refuses_a_url_with_a_password_and_never_stores_one(replica, shared):
    alice = replica("alice")
    linked = json.loads(alice.ok("remote", "show", "--format", "json"))["url"]
    with_password = shared.replace("postgres@", "postgres:s3cret@")
    result = alice("remote", "set", with_password)
    assert result.exit_code == 2
    assert "password" in result.stderr and "~/.pgpass" in result.stderr
    assert "s3cret" not in config.config_path().read_text()
    assert b"s3cret" not in alice.path.read_bytes()
    shown = json.loads(alice.ok("remote", "show", "--format", "json"))
    assert shown["url"] == linked


def test_a_libpq_service_file_names_the_shared_database(replica, shared, tmp_path, monkeypatch):
    from psycopg.conninfo import conninfo_to_dict

    alice = replica("alice")
    parts = conninfo_to_dict(json.loads(alice.ok("remote", "show", "--format", "json"))["url"])
    service_file = tmp_path / "pg_service.conf"
    service_file.write_text(
        "[crmteam]\n" + "".join(f"{key}={value}\n" for key, value in parts.items())
    )
    monkeypatch.setenv("PGSERVICEFILE", str(service_file))
    alice.ok("remote", "set", "service=crmteam")
    assert alice.sync()["pushed"] == 1


def test_sync_without_a_linked_shared_database_says_how_to_link_one(crm):
    assert crm("init", "--user", "alice", "--name", "Alice").exit_code == 0
    result = crm("sync")
    assert result.exit_code == 2
    assert "crm remote set URL" in result.stderr


def test_a_replica_refuses_to_merge_its_history_into_another_shared_database(crm, replica, pg_url):
    from helpers import scratch_schema

    alice = replica("alice")
    alice.sync()
    from helpers import as_login, login_for

    with scratch_schema(pg_url) as (other, name):
        assert crm("server", "init", "--url", other).exit_code == 0
        login = login_for(name, "alice")
        assert crm("server", "member", "add", "alice", "--name", "Alice", "--login", login,
                   "--url", other).exit_code == 0
        alice.ok("remote", "set", as_login(other, login))
        result = alice("sync")
        assert result.exit_code == 2
        assert "belongs to another shared database" in result.stderr


def test_a_members_own_crm_init_leaves_no_user_event_in_the_shared_history(team, postgres):
    actors = {row[0] for row in postgres.rows("SELECT actor FROM audit_event WHERE entity = 'user'")}
    assert actors and not actors & {"bob", "carol"}  # alice (an admin) and the owner only
