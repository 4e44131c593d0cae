"""`crm export`: formats, filters, Chinese headers, formula safety, and the round trip."""

import csv
import io
import json
import time

import pytest

from helpers import add_customer


def setup_customers(crm) -> None:
    assert crm("field", "add", "budget", "--type", "decimal").exit_code == 0
    assert crm("field", "add", "tier", "--type", "choice", "--choices", "gold,silver").exit_code == 0
    add_customer(crm, "张三", "--company", "某公司", "--phone", "13800138000", "--stage", "谈判",
                 "--sla", "1h30m", "--tag", "vip", "--tag", "展会", "--set", "budget=1,200.50",
                 "--set", "tier=gold", "--set", "contract_amount=50万")
    add_customer(crm, "=cmd|' /C calc'!A0", "--email", "x@y.com", "--city", "上海",
                 "--requirement", "line one\nline two, with comma")
    add_customer(crm, "Bob", "--level", "A")


def test_export_then_import_into_an_empty_database_then_export_is_byte_identical(
    crm, alice, crm_home, tmp_path, monkeypatch
):
    setup_customers(crm)
    first = {}
    for fmt in ("csv", "json", "xlsx"):
        out = tmp_path / f"first.{fmt}"
        assert crm("export", "customers", "-o", out).exit_code == 0
        first[fmt] = out.read_bytes()
    other = tmp_path / "other-home"
    other.mkdir()
    monkeypatch.setenv("CRM_HOME", str(other))
    assert crm("init", "--user", "alice", "--name", "Alice", "--dept", "sales").exit_code == 0
    missing = crm("import", "customers", tmp_path / "first.csv")
    assert missing.exit_code == 4
    assert "unknown columns: budget, tier" in missing.stderr
    assert crm("field", "add", "budget", "--type", "decimal").exit_code == 0
    assert crm("field", "add", "tier", "--type", "choice", "--choices", "gold,silver").exit_code == 0
    result = crm("import", "customers", tmp_path / "first.csv")
    assert result.exit_code == 0, result.output
    for fmt in ("csv", "json"):
        out = tmp_path / f"second.{fmt}"
        assert crm("export", "customers", "-o", out).exit_code == 0
        assert out.read_bytes() == first[fmt], fmt
    assert crm("import", "customers", tmp_path / "first.json").stderr.count("unchanged 3") == 1


def test_every_format_goes_to_stdout_by_default(crm, alice):
    setup_customers(crm)
    as_csv = list(csv.DictReader(io.StringIO(crm("export", "customers").stdout)))
    assert [row["name"] for row in as_csv][0] == "=cmd|' /C calc'!A0"
    assert as_csv[2]["sla"] == "1h30m"
    assert as_csv[2]["tags"] == "vip,展会"
    tsv = crm("export", "customers", "-f", "tsv").stdout
    assert tsv.splitlines()[0].startswith("id\tname\tcompany")
    ndjson = [json.loads(line) for line in crm("export", "customers", "-f", "ndjson").stdout.splitlines()]
    assert ndjson[2]["budget"] == "1200.50"
    assert ndjson[2]["tags"] == ["vip", "展会"]


def test_filters_are_those_of_customer_list(crm, alice):
    setup_customers(crm)
    rows = json.loads(crm("export", "customers", "-f", "json", "--city", "上海").stdout)
    assert [row["name"] for row in rows] == ["=cmd|' /C calc'!A0"]
    rows = json.loads(crm("export", "customers", "-f", "json", "--stage", "谈判").stdout)
    assert [row["name"] for row in rows] == ["张三"]


def test_chinese_headers_are_the_data_dictionary_labels_and_import_back(crm, alice, tmp_path):
    setup_customers(crm)
    out = tmp_path / "zh.csv"
    assert crm("export", "customers", "--headers", "zh", "-o", out).exit_code == 0
    assert out.read_bytes().startswith("\ufeffid,客户名称".encode())  # Excel reads it as UTF-8
    header = out.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("id,客户名称,公司,电话,邮箱")
    assert header.endswith(",budget,tier")
    result = crm("import", "customers", out)
    assert "unchanged 3" in result.stderr


def test_a_byte_order_mark_begins_chinese_csv_exports_unless_told_otherwise(crm, alice, tmp_path):
    setup_customers(crm)
    assert crm("export", "customers", "--headers", "zh", "-f", "tsv").stdout.startswith("\ufeffid\t客户名称")
    assert crm("export", "customers", "--headers", "zh", "--no-bom").stdout.startswith("id,客户名称")
    assert crm("export", "customers").stdout.startswith("id,name")
    assert crm("export", "customers", "--bom").stdout.startswith("\ufeffid,name")
    assert crm("export", "notes", "--headers", "zh").stdout.startswith("\ufeffid,客户")
    refused = crm("export", "customers", "-f", "json", "--bom")
    assert refused.exit_code == 2
    assert "--bom is for csv and tsv; json has none" in refused.stderr
    assert json.loads(crm("export", "customers", "-f", "json", "--headers", "zh").stdout)


def test_xlsx_cells_are_text_so_nothing_becomes_a_formula(crm, alice, tmp_path):
    from openpyxl import load_workbook

    setup_customers(crm)
    out = tmp_path / "c.xlsx"
    assert crm("export", "customers", "-o", out).exit_code == 0
    sheet = load_workbook(out).active
    cells = {cell.value: cell.data_type for row in sheet.iter_rows() for cell in row if cell.value}
    assert cells["=cmd|' /C calc'!A0"] == "s"
    assert cells["+8613800138000"] == "s"


@pytest.fixture
def shanghai(monkeypatch):
    """Local time is Shanghai's for this test: dates in a sheet are local."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def typed_cells(path) -> dict:
    from openpyxl import load_workbook

    sheet = load_workbook(path).active
    header, *rows = sheet.iter_rows()
    return {head.value: (cell.value, cell.data_type, cell.number_format)
            for row in rows for head, cell in zip(header, row, strict=True) if cell.value}


def test_xlsx_writes_money_numbers_and_dates_as_typed_cells_and_the_rest_as_text(
    crm, alice, tmp_path, monkeypatch, shanghai
):
    from datetime import datetime

    setup_customers(crm)
    assert crm("field", "add", "seats", "--type", "int").exit_code == 0
    assert crm("field", "add", "signed", "--type", "date").exit_code == 0
    assert crm("customer", "edit", "张三", "--set", "seats=12", "--set", "signed=2026-01-05",
               "--set", "id_number=11010519491231002X").exit_code == 0
    assert crm("task", "add", "张三", "回电话", "--due", "2026-03-01 00:00").exit_code == 0
    assert crm("export", "customers", "--stage", "谈判", "-o", tmp_path / "c.xlsx").exit_code == 0
    cells = typed_cells(tmp_path / "c.xlsx")
    assert cells["contract_amount"] == (500000, "n", "#,##0")  # finance can SUM it
    assert cells["budget"] == (1200.5, "n", "0.00")  # shown as 1200.50, as stored
    assert cells["seats"] == (12, "n", "0")
    assert cells["signed"] == (datetime(2026, 1, 5), "d", "yyyy-mm-dd")
    for text in ("phone", "id_number", "sla", "name"):
        assert cells[text][1:] == ("s", "@"), text
    assert crm("export", "tasks", "-o", tmp_path / "t.xlsx").exit_code == 0
    assert typed_cells(tmp_path / "t.xlsx")["due"] == (
        datetime(2026, 3, 1, 0, 0), "d", "yyyy-mm-dd hh:mm:ss")  # local time, as typed
    assert "unchanged 1" in crm("import", "customers", tmp_path / "c.xlsx").stderr
    assert "unchanged 1" in crm("import", "tasks", tmp_path / "t.xlsx").stderr
    assert crm("export", "customers", "-o", tmp_path / "all.xlsx").exit_code == 0
    home = tmp_path / "empty"
    home.mkdir()
    monkeypatch.setenv("CRM_HOME", str(home))
    assert crm("init", "--user", "alice", "--name", "Alice", "--dept", "sales").exit_code == 0
    for name, kind in (("budget", "decimal"), ("tier", "choice"), ("seats", "int"),
                       ("signed", "date")):
        choices = ["--choices", "gold,silver"] if kind == "choice" else []
        assert crm("field", "add", name, "--type", kind, *choices).exit_code == 0
    for kind, book in (("customers", "all.xlsx"), ("tasks", "t.xlsx")):
        result = crm("import", kind, tmp_path / book)
        assert result.exit_code == 0, result.output
    for kind, book in (("customers", "all.xlsx"), ("tasks", "t.xlsx")):
        assert crm("export", kind, "-o", tmp_path / "again.xlsx").exit_code == 0
        assert (tmp_path / "again.xlsx").read_bytes() == (tmp_path / book).read_bytes(), kind


def test_an_amount_excel_cannot_hold_exactly_stays_text(crm, alice, tmp_path):
    add_customer(crm, "Big", "--set", "contract_amount=123456789012345.67")
    assert crm("export", "customers", "-o", tmp_path / "c.xlsx").exit_code == 0
    assert typed_cells(tmp_path / "c.xlsx")["contract_amount"] == ("123456789012345.67", "s", "@")
    assert "unchanged 1" in crm("import", "customers", tmp_path / "c.xlsx").stderr


def test_escape_formulas_protects_csv_cells_but_keeps_the_plus_of_phones(crm, alice):
    setup_customers(crm)
    rows = list(csv.DictReader(io.StringIO(
        crm("export", "customers", "--escape-formulas").stdout)))
    assert rows[0]["name"] == "'=cmd|' /C calc'!A0"
    assert rows[2]["phone"] == "+8613800138000"


def test_notes_and_tasks_export_and_import_back(crm, alice, tmp_path):
    short = add_customer(crm, "张三")
    assert crm("note", "add", short, "回访", "--quote", "下周再说", "--kind", "call").exit_code == 0
    assert crm("task", "add", short, "寄样品", "--due", "2026-03-01").exit_code == 0
    notes = crm("export", "notes").stdout
    assert notes.splitlines()[0] == "id,customer,kind,direction,body,quote,author,at"
    assert "回访,下周再说,alice" in notes
    tasks = crm("export", "tasks", "--headers", "zh").stdout
    assert tasks.splitlines()[0] == "\ufeffid,客户,任务,执行人,截止时间,优先级,状态"
    (tmp_path / "n.csv").write_text(notes, encoding="utf-8")
    (tmp_path / "t.csv").write_text(tasks, encoding="utf-8")
    assert "unchanged 1" in crm("import", "notes", tmp_path / "n.csv").stderr
    assert "unchanged 1" in crm("import", "tasks", tmp_path / "t.csv").stderr


def test_notes_and_tasks_round_trip_byte_identical_in_csv_and_xlsx(
    crm, team, tmp_path, monkeypatch
):
    zhang = add_customer(crm, "张三", "--phone", "13800138000")
    li = add_customer(crm, "李四")
    for customer, title, options in ((zhang, "寄样品", ["--due", "2026-03-01"]),
                                     (zhang, "寄样品", ["--assignee", "bob"]),
                                     (li, "报价", ["--priority", "high", "--due", "2026-03-05 14:30"])):
        assert crm("task", "add", customer, title, *options).exit_code == 0
    assert crm("note", "add", zhang, "回访", "--quote", "太贵了").exit_code == 0
    assert crm("note", "add", zhang, "回访").exit_code == 0
    assert crm("note", "add", li, "拜访", "--kind", "visit").exit_code == 0
    first = {}
    for kind in ("customers", "notes", "tasks"):
        for fmt in ("csv", "xlsx"):
            out = tmp_path / f"first-{kind}.{fmt}"
            assert crm("export", kind, "-o", out).exit_code == 0
            first[kind, fmt] = out.read_bytes()
    for kind in ("notes", "tasks"):  # importing an export back changes nothing
        again = crm("import", kind, tmp_path / f"first-{kind}.xlsx")
        assert again.exit_code == 0, again.output
        assert "created 0, updated 0, unchanged 3" in again.stderr
    for fmt in ("csv", "xlsx"):
        home = tmp_path / f"empty-{fmt}"
        home.mkdir()
        monkeypatch.setenv("CRM_HOME", str(home))
        assert crm("init", "--user", "alice", "--name", "Alice", "--dept", "sales").exit_code == 0
        assert crm("user", "add", "bob", "--name", "Bob", "--dept", "service").exit_code == 0
        for kind in ("customers", "notes", "tasks"):
            result = crm("import", kind, tmp_path / f"first-{kind}.{fmt}")
            assert result.exit_code == 0, result.output
            assert "created 3" in result.stderr or kind == "customers"
        for kind in ("customers", "notes", "tasks"):
            out = tmp_path / f"second-{kind}.{fmt}"
            assert crm("export", kind, "-o", out).exit_code == 0
            assert out.read_bytes() == first[kind, fmt], (kind, fmt)


def test_an_xlsx_export_is_the_same_bytes_whenever_it_is_made(crm, alice, tmp_path):
    add_customer(crm, "张三")
    import time

    assert crm("export", "customers", "-o", tmp_path / "a.xlsx").exit_code == 0

    time.sleep(2.1)  # zip entries carry times to two seconds
    assert crm("export", "customers", "-o", tmp_path / "b.xlsx").exit_code == 0
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_an_xlsx_export_can_be_piped(crm_home, alice):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "crmcli", "export", "customers", "-f", "xlsx"],
                            capture_output=True)
    assert result.returncode == 0
    assert result.stdout[:4] == b"PK\x03\x04"


def test_an_xlsx_round_trip_keeps_control_characters_and_text_that_looks_escaped(
    crm, alice, tmp_path, monkeypatch
):
    from openpyxl import load_workbook

    typed = {"--company": "\x1b[31mred", "--city": "_x001B_", "--wechat": "\\x1b",
             "--requirement": "line\r\nnext\x07", "--industry": "__x005f_x0041__"}
    add_customer(crm, "X", *[part for option in typed.items() for part in option])
    book = tmp_path / "a.xlsx"
    assert crm("export", "customers", "-o", book).exit_code == 0
    first_csv = crm("export", "customers").stdout
    sheet = load_workbook(book, read_only=True).worksheets[0]
    header, row = list(sheet.iter_rows(values_only=True))
    assert dict(zip(header, row, strict=True))["company"] == "_x001B_[31mred"  # as Excel has it
    monkeypatch.setenv("CRM_HOME", str(tmp_path / "fresh"))
    (tmp_path / "fresh").mkdir()
    assert crm("init", "--user", "alice", "--name", "Alice", "--dept", "sales").exit_code == 0
    result = crm("import", "customers", book)
    assert result.exit_code == 0, result.output
    shown = json.loads(crm("customer", "show", "X", "-f", "json").stdout)
    assert {option: shown[option[2:]] for option in typed} == typed
    assert crm("export", "customers").stdout == first_csv
