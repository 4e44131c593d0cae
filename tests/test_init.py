"""`crm init`, the acting user, settings and the database file."""

import sqlite3

from helpers import add_customer


def test_init_creates_the_database_in_crm_home_with_an_admin(crm, crm_home):
    result = crm("init", "--user", "alice", "--name", "Alice Wang", "--dept", "sales")
    assert result.exit_code == 0, result.output
    assert (crm_home / "crm.db").exists()
    users = crm("user", "list", "--format", "json")
    assert '"handle": "alice"' in users.stdout and '"role": "admin"' in users.stdout


def test_init_remembers_the_acting_user_in_the_settings_file(crm, crm_home, alice):
    assert 'users' in (crm_home / "config.toml").read_text()
    add_customer(crm, "Acme")
    shown = crm("customer", "show", "Acme", "--format", "json")
    assert '"owner": "alice"' in shown.stdout


def test_every_command_before_init_says_to_run_init_with_exit_2(crm):
    for command in (["customer", "list"], ["customer", "add", "X"], ["task", "list"],
                    ["user", "list"], ["history", "--user", "x"]):
        result = crm(*command)
        assert result.exit_code == 2, command
        assert "crm init" in result.stderr
        assert "Traceback" not in result.output


def test_db_option_and_crm_db_choose_another_file(crm, tmp_path):
    other = tmp_path / "team" / "other.db"
    assert crm("init", "--db", other, "--user", "zed", "--name", "Zed").exit_code == 0
    assert other.exists()
    assert crm("--db", other, "customer", "add", "Only here").exit_code == 0
    assert "Only here" in crm("customer", "list", "--db", other).stdout
    assert "Only here" in crm("customer", "list", env={"CRM_DB": str(other)}).stdout
    assert crm("customer", "list").exit_code == 2  # the default database was never made


def test_as_and_crm_user_act_as_another_user(crm, team):
    add_customer(crm, "Acme", "--owner", "bob")  # who may change what: owners and role holders
    add_customer(crm, "Globex", "--owner", "carol")
    crm("assign", "Globex", "--to", "bob", "--role", "sales")
    crm("--as", "bob", "customer", "edit", "Acme", "--city", "Shanghai")
    crm("customer", "edit", "Globex", "--city", "Beijing", env={"CRM_USER": "carol"})
    crm("customer", "edit", "Globex", "--level", "A", "--as", "bob")
    history = crm("history", "--user", "bob", "--format", "csv").stdout
    assert "customer.update" in history and "Shanghai" in history and "level" in history
    assert "Beijing" in crm("history", "--user", "carol", "--format", "csv").stdout


def test_acting_as_an_unknown_user_is_not_found(crm, alice):
    result = crm("--as", "mallory", "customer", "add", "X")
    assert result.exit_code == 3
    assert "mallory" in result.stderr


def test_init_again_on_an_existing_database_only_switches_the_acting_user(crm, team):
    result = crm("init", "--user", "bob")
    assert result.exit_code == 0
    assert "bob" in result.stderr
    add_customer(crm, "Made by bob")
    assert '"owner": "bob"' in crm("customer", "show", "Made by bob", "--format", "json").stdout


def test_init_with_a_stranger_on_an_existing_database_explains_how_to_join(crm, alice):
    result = crm("init", "--user", "dave", "--name", "Dave")
    assert result.exit_code == 2
    assert "crm user add dave" in result.stderr


def test_init_as_a_deactivated_user_is_refused_and_not_remembered(crm, team):
    crm("user", "deactivate", "bob", "--transfer-to", "carol")
    result = crm("init", "--user", "bob")
    assert result.exit_code == 6
    assert "user 'bob' is deactivated and cannot act" in result.stderr
    assert crm("customer", "list").exit_code == 0  # still acting as alice


def test_a_database_from_an_older_version_is_migrated_when_opened(crm, crm_home, alice):
    from crmcli import migrations

    path = crm_home / "crm.db"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST
    original = list(migrations.MIGRATIONS)
    added = []

    def m_test_step(conn):
        conn.exec_driver_sql("CREATE TABLE added_later (x INTEGER)")
        added.append(True)

    migrations.MIGRATIONS.append(m_test_step)
    migrations.LATEST = len(migrations.MIGRATIONS)
    try:
        assert crm("customer", "list").exit_code == 0
        assert added == [True]
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == len(original) + 1
            conn.execute("SELECT x FROM added_later")
        assert crm("customer", "list").exit_code == 0
        assert added == [True]  # applied once
    finally:
        migrations.MIGRATIONS[:] = original
        migrations.LATEST = len(original)


def test_a_database_newer_than_this_crmcli_is_refused_with_exit_2(crm, crm_home, alice):
    with sqlite3.connect(crm_home / "crm.db") as conn:
        conn.execute("PRAGMA user_version = 999")
    result = crm("customer", "list")
    assert result.exit_code == 2
    assert "upgrade crmcli" in result.stderr


def test_the_migrated_schema_matches_the_models(alice, crm_home):
    from sqlmodel import SQLModel

    import crmcli.models  # noqa: F401 - registers the tables

    with sqlite3.connect(crm_home / "crm.db") as conn:
        for table in SQLModel.metadata.sorted_tables:
            migrated = {row[1]: (row[2], bool(row[3])) for row in
                        conn.execute(f"PRAGMA table_info({table.name})")}
            declared = {c.name: bool(not c.nullable) for c in table.columns}
            assert set(migrated) == set(declared), table.name
            for name, required in declared.items():
                assert migrated[name][1] == required, f"{table.name}.{name} NOT NULL differs"


def test_a_file_that_is_not_a_database_is_one_line_and_exit_2_not_a_traceback(
    crm_process, crm_home, tmp_path
):
    (crm_home / "crm.db").write_bytes(b"this is not sqlite" * 100)
    result = crm_process("customer", "list")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "is not a database crmcli can open" in result.stderr
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database")
    assert crm_process("--db", notes, "customer", "list").returncode == 2


def test_a_broken_settings_file_is_named_in_one_line_with_exit_2(crm, crm_home, alice):
    settings = crm_home / "config.toml"
    settings.write_text("users = [oops")
    result = crm("customer", "list")
    assert result.exit_code == 2 and str(settings) in result.stderr
    settings.write_text("region = 5\n")
    result = crm("customer", "list")
    assert result.exit_code == 2 and "region must be a string" in result.stderr


def test_the_filesystem_holding_the_database_is_matched_by_whole_path_components(monkeypatch):
    from crmcli import db

    mounts = "/dev/vda / ext4 rw 0 0\nserver:/srv /srv nfs4 rw 0 0\n/dev/vdb /srv/data ext4 rw 0 0\n"
    real_read_text = db.Path.read_text
    monkeypatch.setattr(
        db.Path, "read_text",
        lambda self, *a, **k: mounts if str(self) == "/proc/mounts" else real_read_text(self, *a, **k),
    )
    monkeypatch.setattr(db.Path, "resolve", lambda self: self)
    assert db._filesystem_type(db.Path("/srv/database")) == "nfs4"
    assert db._filesystem_type(db.Path("/srv/data/crm")) == "ext4"
    assert db._filesystem_type(db.Path("/home/me")) == "ext4"
