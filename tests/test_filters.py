"""Filters of `customer list`, `find` and `export` combine one way: a repeated option means
any of its values, a repeated --tag all of its tags; a limit that cuts says so on stderr."""

import csv
import io
import json

import pytest

from helpers import add_customer


@pytest.fixture
def mixed(crm, team) -> None:
    """Four Acme customers of different stages, owners, cities and tags."""
    add_customer(crm, "Acme Lead", "--stage", "lead", "--owner", "bob", "--city", "上海",
                 "--tag", "vip", "--tag", "重点")
    add_customer(crm, "Acme Qualified", "--stage", "qualified", "--owner", "carol",
                 "--city", "北京", "--tag", "vip")
    add_customer(crm, "Acme Won", "--stage", "won", "--owner", "alice", "--city", "深圳",
                 "--tag", "重点")
    add_customer(crm, "Acme Lost", "--stage", "lost", "--owner", "bob", "--level", "B",
                 "--tag", "vip", "--tag", "重点", "--tag", "旧")


def names(crm, *command: str) -> list[str]:
    result = crm(*command, "--format", "json")
    assert result.exit_code == 0, result.output
    return sorted(row["name"] for row in json.loads(result.stdout))


SELECTIONS = [
    (("--stage", "lead", "--stage", "qualified"), ["Acme Lead", "Acme Qualified"]),
    (("--stage", "线索", "--stage", "成交"), ["Acme Lead", "Acme Won"]),
    (("--owner", "bob", "--owner", "carol"), ["Acme Lead", "Acme Lost", "Acme Qualified"]),
    (("--city", "上海", "--city", "深圳"), ["Acme Lead", "Acme Won"]),
    (("--level", "b", "--level", "c"), ["Acme Lost"]),
    (("--tag", "vip", "--tag", "重点"), ["Acme Lead", "Acme Lost"]),
    (("--tag", "vip, 重点"), ["Acme Lead", "Acme Lost"]),
    (("--tag", "vip", "--tag", "重点", "--tag", "旧"), ["Acme Lost"]),
    (("--owner", "bob", "--owner", "carol", "--tag", "重点"), ["Acme Lead", "Acme Lost"]),
    (("--stage", "lead", "--stage", "won", "--owner", "alice"), ["Acme Won"]),
]


@pytest.mark.parametrize(("options", "expected"), SELECTIONS)
def test_repeated_options_mean_any_value_and_repeated_tags_all_tags_in_list_find_and_export(
    crm, mixed, options, expected
):
    assert names(crm, "customer", "list", *options) == expected
    assert names(crm, "customer", "find", "acme", *options) == expected
    assert names(crm, "export", "customers", *options) == expected


def test_export_of_notes_and_tasks_follows_the_same_filters(crm, mixed):
    for name in ("Acme Lead", "Acme Qualified", "Acme Won"):
        assert crm("note", "add", name, f"note on {name}").exit_code == 0
    result = crm("export", "notes", "-f", "json", "--stage", "lead", "--stage", "won")
    assert sorted(row["body"] for row in json.loads(result.stdout)) == [
        "note on Acme Lead", "note on Acme Won"]


def test_the_export_event_records_every_value_of_a_repeated_filter(crm, mixed, database):
    from sqlmodel import select

    from crmcli.models import AuditEvent

    assert crm("export", "customers", "--stage", "lead", "--stage", "won").exit_code == 0
    with database() as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "customer.export")).one()
    assert event.detail["options"]["stage"] == ["lead", "won"]
    assert "owner" not in event.detail["options"]


def test_a_bad_value_among_repeated_ones_is_refused_naming_the_field(crm, mixed):
    result = crm("customer", "list", "--stage", "lead", "--stage", "qualifed")
    assert result.exit_code == 4
    assert "stage" in result.stderr and "qualifed" in result.stderr


def test_find_takes_the_filters_of_list(crm, mixed):
    assert names(crm, "customer", "find", "acme", "--stage", "won") == ["Acme Won"]
    assert names(crm, "customer", "find", "acme", "--tag", "旧") == ["Acme Lost"]


@pytest.fixture
def many(crm, alice, tmp_path) -> None:
    """205 customers named Client 000 … Client 204, imported in one go."""
    rows = tmp_path / "clients.csv"
    rows.write_text("name,city\n" + "".join(f"Client {n:03d},{'上海' if n % 2 else '北京'}\n"
                                            for n in range(205)), encoding="utf-8")
    assert crm("import", "customers", str(rows)).exit_code == 0


def parsed(text: str, fmt: str) -> list:
    if fmt == "json":
        return json.loads(text)
    if fmt == "ndjson":
        return [json.loads(line) for line in text.splitlines()]
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text)))
    return [line for line in text.splitlines() if "Client" in line]


@pytest.mark.parametrize("fmt", ["table", "json", "ndjson", "csv"])
def test_a_cut_list_says_how_many_it_left_out_in_every_format(crm, many, fmt):
    result = crm("customer", "list", "--limit", "50", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert len(parsed(result.stdout, fmt)) == 50
    assert "showing 50 of 205 (--limit)" in result.stderr
    assert "showing" not in result.stdout


@pytest.mark.parametrize("fmt", ["table", "json", "ndjson", "csv"])
def test_find_cuts_at_50_by_default_and_says_so_in_every_format(crm, many, fmt):
    result = crm("customer", "find", "client", "--format", fmt)
    assert len(parsed(result.stdout, fmt)) == 50
    assert result.stderr.strip() == "showing 50 of 205 (--limit)"
    result = crm("customer", "find", "client", "--city", "上海", "-n", "10", "--format", fmt)
    assert result.stderr.strip() == "showing 10 of 102 (--limit)"


@pytest.mark.parametrize(
    "command",
    [("customer", "list"), ("customer", "list", "--limit", "205"),
     ("customer", "find", "client", "--limit", "300"), ("customer", "find", "Client 01")],
)
def test_nothing_is_said_when_nothing_was_cut(crm, many, command):
    result = crm(*command, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert len(json.loads(result.stdout)) in (205, 10)


def test_a_limit_that_cuts_nothing_counts_nothing(crm, many, database):
    """The total is one COUNT, run only when the limit was reached."""
    from sqlalchemy import event

    from crmcli.repo import customer_lists
    from crmcli.repo.customer_lists import CustomerQuery

    with database() as s:
        statements: list[str] = []
        engine = s.get_bind()
        event.listen(engine, "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        rows, total = customer_lists.list_and_total(s, CustomerQuery(limit=300))
        assert (len(rows), total) == (205, 205)
        assert not any("count(" in sql.lower() for sql in statements)
        rows, total = customer_lists.list_and_total(s, CustomerQuery(limit=20, city="上海"))
        assert (len(rows), total) == (20, 102)
        counts = [sql for sql in statements if "count(" in sql.lower()]
        assert len(counts) == 1 and "LIMIT" not in counts[0].upper()


@pytest.mark.parametrize("fmt", ["table", "json", "ndjson", "csv"])
def test_notes_history_and_the_audit_trail_say_what_their_limit_left_out(crm, alice, fmt):
    ref = add_customer(crm, "Acme")
    for number in range(3):
        assert crm("note", "add", ref, f"call {number}").exit_code == 0
    for command in (("note", "list", ref), ("history", ref), ("audit", "list")):
        every = len(json.loads(crm(*command, "--format", "json").stdout))
        assert every >= 3
        result = crm(*command, "--limit", "2", "--format", fmt)
        assert result.exit_code == 0, result.output
        assert result.stderr.strip() == f"showing 2 of {every} (--limit)", command
        assert crm(*command, "--limit", str(every), "--format", fmt).stderr == ""


def test_a_list_among_given_ids_keeps_only_them_and_filters_within_them(crm, mixed, database):
    """The customers behind a report's row: any number of ids (more than SQLite binds in
    one statement), combined with the other filters."""
    import uuid

    from crmcli.repo import customer_lists
    from crmcli.repo.customer_lists import CustomerQuery

    with database() as s:
        everyone = {c.name: c.id for c in customer_lists.list_(s, CustomerQuery())}
        unknown = tuple(str(uuid.UUID(int=n)) for n in range(40_000))
        among = (everyone["Acme Lead"], everyone["Acme Won"], *unknown)

        def listed(**filters) -> list[str]:
            return [c.name for c in customer_lists.list_(s, CustomerQuery(among=among, **filters))]

        assert listed() == ["Acme Lead", "Acme Won"]
        assert listed(owner="alice") == ["Acme Won"]
        assert customer_lists.count(s, CustomerQuery(among=())) == 0
