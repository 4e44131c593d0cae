"""`crm server set`, `crm server member …` and `crm audit verify` as the server's owner uses
them: what each refuses, with which exit code and message, and that a refusal leaves the
shared database (and the cluster's roles) as they were."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from conftest import schema_of
from helpers import as_login, login_for

LARGEST = 2**30 - 1  # no value PostgreSQL stores is larger than 1 GB


def settings_of(postgres) -> tuple:
    return postgres.rows("SELECT settings, view_epoch FROM crm_server")[0]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("max_text", "abc", "max_text: 'abc' is not a whole number"),
    ("max_text", "1.5", "max_text: '1.5' is not a whole number"),
    ("max_text", " 5000", "max_text: ' 5000' is not a whole number"),
    ("max_text", "٥٠٠٠", "max_text: '٥٠٠٠' is not a whole number"),  # digits, not ASCII ones
    ("max_text", "0", f"max_text: must be from 1000 to {LARGEST}, not 0"),
    ("max_text", "999", f"max_text: must be from 1000 to {LARGEST}, not 999"),
    ("max_text", str(LARGEST + 1), f"must be from 1000 to {LARGEST}, not {LARGEST + 1}"),
    ("max_text", "99999999999999999999999", f"must be from 1000 to {LARGEST}, not 9999"),
    ("max_attachment_bytes", "0", f"max_attachment_bytes: must be from 1 to {LARGEST}, not 0"),
    ("max_attachment_bytes", "1e6", "max_attachment_bytes: '1e6' is not a whole number"),
    ("visibility", "everyone", "visibility: 'everyone': one of all, own"),
    ("nosuchkey", "1", "key: 'nosuchkey' is not a team setting (those are visibility, "
                       "max_text, max_attachment_bytes)"),
])
def test_a_setting_refused_is_named_and_nothing_is_stored(crm, shared, postgres, key, value,
                                                           message):
    before = settings_of(postgres)
    result = crm("server", "set", key, value, "--url", shared)
    assert result.exit_code == 4, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert settings_of(postgres) == before == ({}, 0)


@pytest.mark.parametrize(("key", "value"), [
    ("max_text", "1000"), ("max_text", str(LARGEST)), ("max_attachment_bytes", "1"),
    ("max_attachment_bytes", str(LARGEST)),
])
def test_the_limits_of_a_setting_are_accepted_and_the_team_still_writes(
        crm, shared, postgres, member, key, value):
    result = crm("server", "set", key, value, "--url", shared)
    assert result.exit_code == 0, result.output
    assert f"{key} = {value}" in result.stderr
    assert settings_of(postgres) == ({key: int(value)}, 0)
    # every write the shared database judges reads the limit: it must still be a number it takes
    member("bob", "Bob Li", "service", "member")
    assert postgres.value("SELECT name FROM users WHERE handle = 'bob'") == "Bob Li"


def test_the_owners_commands_refuse_a_members_login_naming_the_owners_url(
        crm, shared, postgres, replica):
    alice = replica("alice")  # an admin, but her login is a member's
    alice.sync()
    alices_url = as_login(shared, login_for(schema_of(shared), "alice"))
    before = settings_of(postgres)
    for command in (("audit", "verify"), ("server", "set", "visibility", "own"),
                    ("server", "member", "list"), ("server", "init")):
        for result in (alice(*command), crm(*command, "--url", alices_url)):
            assert result.exit_code == 6, (command, result.output)
            assert "needs the owner's URL (--url with a login of the team's owner role" in \
                result.stderr, command
            assert f"{login_for(schema_of(shared), 'alice')} is the member alice" in \
                result.stderr
            assert result.stdout == ""
    assert settings_of(postgres) == before
    verified = crm("audit", "verify", "--url", shared, "--format", "json")
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["events"] == postgres.value(
        "SELECT count(*) FROM audit_event")


def test_without_url_or_a_linked_replica_the_server_commands_ask_for_url(crm):
    for command in (("audit", "verify"), ("server", "status"), ("server", "member", "list")):
        result = crm(*command)  # no local database at all
        assert result.exit_code == 2, result.output
        assert "name the shared database with --url URL, or run this on a replica linked " \
            "to it (`crm remote set URL`)" in result.stderr
    assert crm("init", "--user", "zoe", "--name", "Zoe").exit_code == 0
    result = crm("audit", "verify")  # a local-only database
    assert result.exit_code == 2
    assert "name the shared database with --url URL" in result.stderr


def nothing_made(postgres, handle: str, login: str) -> None:
    """No login, no user record and no mapping for `handle` / `login`."""
    assert postgres.value("SELECT count(*) FROM pg_roles WHERE rolname = %s", login) == 0
    assert postgres.value("SELECT count(*) FROM users WHERE handle = %s", handle) == 0
    assert postgres.rows("SELECT * FROM crm_member") == []


def test_a_new_member_without_a_name_is_refused_naming_the_option(crm, shared, postgres):
    login = login_for(schema_of(shared), "dave")
    result = crm("server", "member", "add", "dave", "--login", login, "--url", shared)
    assert result.exit_code == 2, result.output
    assert "dave is not a member yet: --name is required for a new member" in result.stderr
    nothing_made(postgres, "dave", login)


def member_list(crm, shared) -> dict[str, dict]:
    result = crm("server", "member", "list", "--url", shared, "--format", "json")
    assert result.exit_code == 0, result.output
    return {row["handle"]: row for row in json.loads(result.stdout)}


def test_an_existing_user_gets_a_login_without_a_name_and_keeps_their_record(
        crm, shared, postgres, replica):
    alice = replica("alice")
    alice.ok("user", "add", "dave", "--name", "Dave Wu", "--dept", "service", "--role", "manager")
    alice.sync()
    login = login_for(schema_of(shared), "dave")
    result = crm("server", "member", "add", "dave", "--login", login, "--url", shared)
    assert result.exit_code == 0, result.output
    assert f"member dave (manager) logs in as {login}" in result.stderr
    assert postgres.rows("SELECT name, department, role FROM users WHERE handle = 'dave'") == [
        ("Dave Wu", "service", "manager")]
    assert member_list(crm, shared)["dave"]["can_login"] is True
    assert postgres.value(
        "SELECT pg_has_role(%s, member_role, 'MEMBER') FROM crm_server", login) is True


def test_a_login_given_to_a_deactivated_user_cannot_connect(crm, shared, postgres, replica):
    alice = replica("alice")
    alice.ok("user", "add", "dave", "--name", "Dave Wu")
    alice.ok("user", "deactivate", "dave", "--transfer-to", "alice")
    alice.sync()
    login = login_for(schema_of(shared), "dave")
    result = crm("server", "member", "add", "dave", "--login", login, "--url", shared)
    assert result.exit_code == 0, result.output
    assert postgres.value("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", login) is False
    assert member_list(crm, shared)["dave"]["can_login"] is False
    assert crm("server", "member", "reactivate", "dave", "--url", shared).exit_code == 0
    assert postgres.value("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", login) is True


@pytest.mark.parametrize(("login", "message"), [
    ("bad name", "login: 'bad name' is not a login name we create"),
    ("x;drop", "login: 'x;drop' is not a login name we create"),
    ("", "login: '' is not a login name we create"),
    ("Dave", "login: 'Dave' is not a login name we create"),
    ("1dave", "login: '1dave' is not a login name we create"),
    ("public", "login: 'public' is a name PostgreSQL reserves"),
    ("none", "login: 'none' is a name PostgreSQL reserves"),
    ("pg_crm_dave", "login: 'pg_crm_dave' is a name PostgreSQL reserves"),
])
def test_a_login_name_we_do_not_create_is_refused(crm, shared, postgres, login, message):
    result = crm("server", "member", "add", "dave", "--name", "Dave", "--login", login,
                 "--url", shared)
    assert result.exit_code == 4, result.output
    assert message in result.stderr
    nothing_made(postgres, "dave", login)


def test_a_login_name_is_at_most_postgresqls_63_bytes(crm, shared, postgres):
    prefix = schema_of(shared) + "_"  # torn down with the test's schema
    longest, too_long = prefix.ljust(63, "x"), prefix.ljust(64, "x")
    result = crm("server", "member", "add", "dave", "--name", "Dave", "--login", too_long,
                 "--url", shared)
    assert result.exit_code == 4, result.output
    assert "at most 63 characters" in result.stderr
    nothing_made(postgres, "dave", longest)  # PostgreSQL would have cut it to 63
    result = crm("server", "member", "add", "dave", "--name", "Dave", "--login", longest,
                 "--url", shared)
    assert result.exit_code == 0, result.output
    assert postgres.rows("SELECT login, handle FROM crm_member") == [(longest, "dave")]


def _existing(postgres, kind: str) -> str:
    """A role that exists before the owner names it as a member's login."""
    owner_role, member_role = postgres.rows("SELECT owner_role, member_role FROM crm_server")[0]
    if kind == "owner role":
        return owner_role
    if kind == "member role":
        return member_role
    name = login_for(postgres.schema, kind.replace(" ", "_"))  # torn down with the schema
    postgres.run(f'CREATE ROLE "{name}" ' + {
        "superuser": "LOGIN SUPERUSER",
        "bypassrls": "LOGIN BYPASSRLS",
        "owner login": f'LOGIN IN ROLE "{owner_role}"',
        "group": "NOLOGIN",
    }[kind])
    return name


@pytest.mark.parametrize(("kind", "message"), [
    ("superuser", "is a superuser: the team's rules would not bind it"),
    ("bypassrls", "is a login that bypasses row-level security: the team's rules would not bind"),
    ("owner login", "is the team's owner role or one of its logins"),
    ("owner role", "is the team's owner role or one of its logins"),
    ("member role", "is a group role that cannot log in, not a member's login"),
    ("group", "is a group role that cannot log in, not a member's login"),
])
def test_an_existing_role_the_teams_rules_cannot_bind_is_refused_untouched(
        crm, shared, postgres, kind, message):
    login = _existing(postgres, kind)

    def state() -> tuple:
        return postgres.rows(
            "SELECT r.rolcanlogin, pg_has_role(r.oid, s.member_role, 'MEMBER'), "
            "(SELECT count(*) FROM pg_db_role_setting d WHERE d.setrole = r.oid) "
            "FROM pg_roles r, crm_server s WHERE r.rolname = %s", login)

    before = state()
    result = crm("server", "member", "add", "dave", "--name", "Dave", "--login", login,
                 "--password-stdin", "--url", shared, input="s3cret\n")
    assert result.exit_code == 4, result.output
    assert f"login: {login} {message}" in result.stderr
    assert state() == before
    assert postgres.value("SELECT count(*) FROM users WHERE handle = 'dave'") == 0
    assert postgres.rows("SELECT * FROM crm_member") == []
    assert member_list(crm, shared) == {}  # the owner's URL still manages the team


def test_an_ordinary_existing_login_becomes_a_member(crm, shared, postgres):
    login = login_for(schema_of(shared), "dave")
    postgres.run(f'CREATE ROLE "{login}" LOGIN')
    result = crm("server", "member", "add", "dave", "--name", "Dave", "--login", login,
                 "--url", shared)
    assert result.exit_code == 0, result.output
    assert member_list(crm, shared)["dave"]["login"] == login


def test_a_login_and_a_handle_map_to_one_another_only(crm, shared, postgres, member):
    member("bob", "Bob Li", "service", "member")
    schema = schema_of(shared)
    bobs, other = login_for(schema, "bob"), login_for(schema, "bob2")
    result = crm("server", "member", "add", "bob", "--login", other, "--url", shared)
    assert result.exit_code == 4, result.output
    assert f"login: bob logs in as {bobs} already" in result.stderr
    result = crm("server", "member", "add", "dave", "--name", "Dave", "--login", bobs,
                 "--url", shared)
    assert result.exit_code == 4, result.output
    assert f"login: the login {bobs} is bob's already" in result.stderr
    assert postgres.rows("SELECT login, handle FROM crm_member") == [(bobs, "bob")]
    assert postgres.value("SELECT count(*) FROM pg_roles WHERE rolname = %s", other) == 0
    assert postgres.value("SELECT count(*) FROM users WHERE handle = 'dave'") == 0


# a real process: the in-process runner's stdin turns "\r\n" into "\n"
@pytest.mark.parametrize("stdin", ["", "\n", "\r\n"])
def test_an_empty_password_on_stdin_is_refused(crm_process, shared, postgres, stdin):
    login = login_for(schema_of(shared), "dave")
    result = crm_process("server", "member", "add", "dave", "--name", "Dave", "--login", login,
                         "--password-stdin", "--url", shared, input=stdin)
    assert result.returncode == 2, result.stderr
    assert "--password-stdin: stdin held no password (nothing was changed)" in result.stderr
    nothing_made(postgres, "dave", login)


def scram_holds(verifier: str, password: str) -> bool:
    """Whether a SCRAM-SHA-256 verifier (RFC 7677, as pg_authid stores it) is `password`'s."""
    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key = keys.split(":")[0]
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt),
                                 int(iterations))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return method == "SCRAM-SHA-256" and \
        base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key


def test_the_password_read_from_stdin_is_the_logins(crm_process, shared, postgres):
    login = login_for(schema_of(shared), "dave")
    result = crm_process("server", "member", "add", "dave", "--name", "Dave", "--login", login,
                         "--password-stdin", "--url", shared, input="s3cret pass\r\n")
    assert result.returncode == 0, result.stderr
    verifier = postgres.value("SELECT rolpassword FROM pg_authid WHERE rolname = %s", login)
    assert scram_holds(verifier, "s3cret pass")
    assert not scram_holds(verifier, "s3cret pass\r")


def test_member_role_and_deactivation_name_what_they_refuse(crm, shared, postgres, member):
    member("bob", "Bob Li", "service", "member")
    member("carol", "Carol Zhang", "marketing", "manager")
    result = crm("server", "member", "role", "BOB", "ADMIN", "--url", shared)
    assert result.exit_code == 0, result.output
    assert "bob is now admin" in result.stderr
    assert postgres.value("SELECT role FROM users WHERE handle = 'bob'") == "admin"
    refused = [
        (("role", "bob", "boss"), 4, "role: 'boss' is not one of member, manager, admin"),
        (("role", "nobody", "admin"), 3, "no member 'nobody' in the shared database"),
        (("deactivate", "bob", "--transfer-to", "bob"), 4,
         "transfer-to: bob cannot take over (not an active colleague)"),
        (("deactivate", "bob", "--transfer-to", "nobody"), 3, "no member 'nobody'"),
        (("reactivate", "bob"), 4, "user: bob is active already"),
    ]
    events = postgres.value("SELECT count(*) FROM audit_event")
    for args, code, message in refused:
        result = crm("server", "member", *args, "--url", shared)
        assert result.exit_code == code, (args, result.output)
        assert message in result.stderr, args
    assert postgres.value("SELECT count(*) FROM audit_event") == events
    assert postgres.rows("SELECT handle, role, active FROM users ORDER BY handle") == [
        ("bob", "admin", True), ("carol", "manager", True)]


def test_a_password_typed_at_a_terminal_is_asked_for_and_not_echoed(crm_home, shared, postgres):
    import os
    import pty
    import subprocess
    import sys
    import time

    login = login_for(schema_of(shared), "erin")
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "crmcli", "server", "member", "add", "erin", "--name", "Erin",
         "--login", login, "--password-stdin", "--url", shared],
        stdin=follower, stdout=follower, stderr=follower, env={**os.environ}, close_fds=True,
    )
    os.close(follower)
    shown, deadline = b"", time.monotonic() + 60
    while b"password for" not in shown and time.monotonic() < deadline:  # asked first
        shown += os.read(leader, 1024)
    assert b"password for " + login.encode() in shown
    os.write(leader, b"typed secret\n")
    while process.poll() is None and time.monotonic() < deadline:
        try:
            shown += os.read(leader, 1024)
        except OSError:
            break
    assert process.wait(timeout=60) == 0, shown
    os.close(leader)
    assert b"typed secret" not in shown  # not echoed
    verifier = postgres.value("SELECT rolpassword FROM pg_authid WHERE rolname = %s", login)
    assert scram_holds(verifier, "typed secret")
