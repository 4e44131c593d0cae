"""How every report is rendered (cli/report_output.py, io/xlsx_report.py), over a report
built by hand: the same figures for people, for scripts and in an Excel workbook with a
native chart; what a person typed stays text everywhere."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from crmcli.cli.output import Format
from crmcli.cli.report_output import show
from crmcli.errors import Invalid
from crmcli.repo.reports.table import RESTRICTED, Chart, Measure, Report, Section


def report() -> Report:
    members = Section("members", "Per member", (
        Measure("member", "Member", "text"), Measure("customers", "Customers"),
        Measure("share", "Share", "ratio"), Measure("time", "Median time", "seconds"),
        Measure("amount", "Amount", "money"),
    ), [
        {"member": "=HYPERLINK(\"x\")", "customers": 30, "share": 0.75, "time": 2 * 86400,
         "amount": Decimal("500000")},
        {"member": "张三\x1b[31m", "customers": 10, "share": 0.25, "time": 3600,
         "amount": RESTRICTED},
    ], Chart("bar", "member", ("customers",)))
    weeks = Section("weeks", "Per week", (Measure("week", "Week", "text"),
                                          Measure("customers", "Customers")),
                    [{"week": "2026-W10", "customers": 3}, {"week": "2026-W11", "customers": 5}],
                    Chart("line", "week", ("customers",)))
    return Report("sample", "A sample report", [members, weeks], ["counted by hand"])


def test_json_holds_each_sections_rows_with_machine_values(capsys):
    show(report(), Format.json)
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["members", "weeks"]
    assert data["members"][0] == {"member": "=HYPERLINK(\"x\")", "customers": 30, "share": 0.75,
                                  "time": 172800, "amount": "500000"}
    assert data["members"][1]["amount"] == "restricted"


def test_ndjson_names_each_rows_section_and_csv_writes_one_section(capsys):
    show(report(), Format.ndjson)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(row["section"], len(row)) for row in lines] == [
        ("members", 6), ("members", 6), ("weeks", 3), ("weeks", 3)]
    show(report(), Format.csv, section="weeks")
    assert capsys.readouterr().out.splitlines() == ["week,customers", "2026-W10,3", "2026-W11,5"]
    with pytest.raises(Invalid, match="has no section 'days'"):
        show(report(), Format.csv, section="days")


def test_the_table_shows_people_their_units_bars_and_no_escape(capsys):
    show(report(), Format.table)
    out = capsys.readouterr().out
    assert "A sample report" in out and "75.0%" in out and "2d" in out and "1h" in out
    assert "¥500,000" in out and "restricted" in out and "counted by hand" in out
    assert "\x1b[31m" not in out and "\\x1b[31m" in out  # the typed escape, made visible
    bars = [line for line in out.splitlines() if "█" in line]
    longest, third = (bar.count("█") for bar in bars)
    assert len(bars) == 2 and abs(longest - 3 * third) <= 3  # 30 against 10


def test_the_workbook_has_typed_cells_a_native_chart_per_section_and_no_formula(tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "report.xlsx"
    show(report(), Format.table, output=path)
    book = load_workbook(path)
    assert book.sheetnames == ["Per member", "Per week", "Notes"]
    sheet = book["Per member"]
    assert [c.value for c in sheet[1]] == [
        "Member", "Customers", "Share", "Median time (days)", "Amount"]
    first = [c.value for c in sheet[2]]
    assert first == ["=HYPERLINK(\"x\")", 30, 0.75, 2, 500000]
    assert sheet["A2"].data_type == "s" and sheet["C2"].number_format == "0.0%"
    assert sheet["E3"].value == "restricted"
    assert [type(chart).__name__ for chart in sheet._charts] == ["BarChart"]
    assert [type(chart).__name__ for chart in book["Per week"]._charts] == ["LineChart"]
    again = tmp_path / "again.xlsx"
    show(report(), Format.table, output=again)
    assert again.read_bytes() == path.read_bytes()  # the same report, the same bytes


def test_o_writes_only_a_workbook(tmp_path):
    with pytest.raises(Invalid, match="does not end in .xlsx"):
        show(report(), Format.table, output=tmp_path / "report.csv")


def test_a_moment_reads_in_local_time_to_the_minute_and_a_day_as_it_is(capsys, beijing):
    from crmcli.repo.reports.table import shown

    at = Measure("at", "At", "date")
    assert shown("2026-03-06T02:00:00Z", at) == "2026-03-06 10:00"
    assert shown("2026-03-06", at) == "2026-03-06"
    wins = Section("wins", "Wins", (Measure("who", "Who", "text"), at),
                   [{"who": "dave", "at": "2026-03-06T02:00:00Z"}])
    show(Report("sample", "Wins", [wins]), Format.table)
    assert "2026-03-06 10:00" in capsys.readouterr().out
    show(Report("sample", "Wins", [wins]), Format.json)
    assert json.loads(capsys.readouterr().out)["wins"][0]["at"] == "2026-03-06T02:00:00Z"
