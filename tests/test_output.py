"""Output: tables for people, json/ndjson/csv for machines, user data never markup."""

import csv
import io
import json

import pytest
from rich.cells import cell_len

from helpers import add_customer

MARKUP_NAME = "[bold red]X[/]"
ESCAPE_NAME = "Evil\x1b[31mRed\x1b[0m\x9b2J\u202eTxet"


def test_markup_in_user_data_is_shown_literally_in_tables(crm, alice):
    add_customer(crm, MARKUP_NAME, "--company", "[link=http://x]co[/link]")
    crm("note", "add", MARKUP_NAME, "[@click=app.quit]click me[/]")
    listed = crm("customer", "list").stdout
    assert MARKUP_NAME in listed and "[link=http://x]co[/link]" in listed
    shown = crm("customer", "show", MARKUP_NAME).stdout
    assert "[@click=app.quit]click me[/]" in shown and MARKUP_NAME in shown
    assert "[@click=app.quit]click me[/]" in crm("note", "list", MARKUP_NAME).stdout


def test_escape_sequences_in_user_data_never_reach_the_terminal(crm, alice):
    ref = add_customer(crm, ESCAPE_NAME)
    for output in (crm("customer", "list").stdout, crm("customer", "show", ref).stdout,
                   crm("history", ref).stdout,
                   crm("customer", "edit", ref, "--city", "x").stderr):
        assert "\x1b" not in output and "\x9b" not in output and "\u202e" not in output
        assert "\\x1b[31mRed" in output
    assert "\\u202e" in crm("customer", "show", ref).stdout


def test_machine_formats_keep_the_exact_value(crm, alice):
    ref = add_customer(crm, ESCAPE_NAME)
    record = json.loads(crm("customer", "show", ref, "--format", "json").stdout)
    assert record["name"] == ESCAPE_NAME


def test_tables_line_up_with_chinese_text(crm, alice):
    add_customer(crm, "张三丰", "--company", "武当山科技有限公司", "--city", "十堰")
    add_customer(crm, "Li", "--company", "ACME", "--city", "Shanghai")
    lines = [line for line in crm("customer", "list").stdout.splitlines() if line.strip()]
    header, rows = lines[0], [lines[2], lines[3]]
    for row in rows:
        for column in ("Company", "Stage", "Owner", "City"):
            start = cell_len(header[: header.index(column)])
            assert row_starts_at(row, start), (column, row)


def row_starts_at(row: str, width: int) -> bool:
    """True if a cell begins at display column `width` of `row` (a space before it)."""
    consumed = 0
    for index, char in enumerate(row):
        if consumed == width:
            return row[index - 1] == " " and char != " "
        consumed += cell_len(char)
    return False


def test_every_list_and_show_speaks_json_ndjson_and_csv(crm, team):
    ref = add_customer(crm, "Acme", "--tag", "a", "--tag", "b")
    crm("note", "add", ref, "hello")
    task = crm("task", "add", ref, "call").stdout.strip()
    commands = [
        ["customer", "list"], ["customer", "find", "Acme"], ["note", "list", ref],
        ["task", "list"], ["user", "list"], ["field", "list"], ["history", ref],
    ]
    for command in commands:
        as_json = json.loads(crm(*command, "--format", "json").stdout)
        ndjson = [json.loads(line) for line in crm(*command, "--format", "ndjson").stdout.splitlines()]
        assert as_json == ndjson, command
        rows = list(csv.DictReader(io.StringIO(crm(*command, "--format", "csv").stdout)))
        assert len(rows) == len(as_json), command
        if as_json:
            assert list(rows[0]) == list(as_json[0]), command
    for show in (["customer", "show", ref], ["task", "show", task], ["user", "show", "bob"]):
        record = json.loads(crm(*show, "--format", "json").stdout)
        assert json.loads(crm(*show, "--format", "ndjson").stdout) == record
        [row] = list(csv.DictReader(io.StringIO(crm(*show, "--format", "csv").stdout)))
        assert row["id"] == record["id"]


def test_machine_output_uses_full_ids_and_dictionary_names_tables_short_ids(crm, alice):
    ref = add_customer(crm, "Acme", "--tag", "vip")
    [record] = json.loads(crm("customer", "list", "--format", "json").stdout)
    assert len(record["id"]) == 36 and record["id"].endswith(ref)
    for name in ("name", "company", "phone", "email", "wechat", "city", "industry", "source",
                 "stage", "level", "sla", "requirement", "owner", "department", "tags",
                 "contract_amount", "id_number", "bank_account"):
        assert name in record
    [row] = list(csv.DictReader(io.StringIO(crm("customer", "list", "--format", "csv").stdout)))
    assert row["tags"] == "vip" and row["id"] == record["id"]
    table = crm("customer", "list").stdout
    assert ref in table and record["id"] not in table


def test_crm_format_sets_the_default_format(crm, alice):
    add_customer(crm, "Acme")
    result = crm("customer", "list", env={"CRM_FORMAT": "ndjson"})
    assert json.loads(result.stdout)["name"] == "Acme"
    assert crm("customer", "list", env={"CRM_FORMAT": "yaml"}).exit_code == 2


def test_stdout_carries_only_data_and_messages_go_to_stderr(crm, alice):
    result = crm("customer", "add", "Acme", "--format", "json")
    assert json.loads(result.stdout)["name"] == "Acme"
    edit = crm("customer", "edit", "Acme", "--city", "x")
    assert edit.stdout == "" and "updated" in edit.stderr
    empty = crm("customer", "list", "--stage", "won")
    assert empty.stdout == "" and "no customers match" in empty.stderr
    assert crm("customer", "list", "--stage", "won", "--format", "json").stdout.strip() == "[]"


@pytest.mark.parametrize("no_color", [True, False])
def test_no_color_is_respected(crm_process, alice, no_color):
    crm_process("customer", "add", "Acme", "--stage", "won")
    env = {"NO_COLOR": "1"} if no_color else {"FORCE_COLOR": "1"}
    result = crm_process("customer", "show", "Acme", env=env)
    assert ("\x1b[" in result.stdout) is (not no_color)


def test_a_closed_pipe_ends_quietly(crm, alice, tmp_path):
    import subprocess
    import sys

    # far more than a pipe holds (64 KiB), so `head` really closes it under crm's feet
    rows = "\n".join(f"Customer {i:05},{'x' * 200}" for i in range(2000))
    (tmp_path / "many.csv").write_text(f"name,requirement\n{rows}\n", encoding="utf-8")
    assert crm("import", "customers", tmp_path / "many.csv").exit_code == 0
    for command in ("customer list --format ndjson", "export customers"):
        pipeline = subprocess.run(
            ["bash", "-c", f"set -o pipefail; {sys.executable} -m crmcli {command} | head -n 1"],
            capture_output=True, text=True,
        )
        assert pipeline.returncode == 0, (command, pipeline.stderr)
        assert pipeline.stdout.count("\n") == 1
        assert pipeline.stderr == ""
