"""`crm import customers` reads what teams have: encodings, formats, Excel's quirks, stdin."""

import json
import subprocess
import sys

from helpers import customers_by_name

HEADER = "客户名称,公司,电话,邮箱,阶段,标签\r\n"
ROWS = '张三,北京某某科技,138 0013 8000,ZS@Example.com,线索,"vip,展会"\r\n李四,上海公司,13900139000,,商机,\r\n'


def test_a_gbk_file_with_chinese_headers_imports(crm, alice, database, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes((HEADER + ROWS).encode("gbk"))
    result = crm("import", "customers", path)
    assert result.exit_code == 0, result.output
    assert "created 2" in result.stderr
    customers = customers_by_name(database)
    assert customers["张三"].company == "北京某某科技"
    assert customers["张三"].phone == "+8613800138000"
    assert customers["张三"].email == "zs@example.com"
    assert customers["张三"].tags == ["vip", "展会"]
    assert customers["李四"].stage == "qualified"


def test_utf8_with_bom_and_utf16_unicode_text_are_detected(crm, alice, database, tmp_path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes((HEADER + ROWS).encode("utf-8-sig"))
    unicode_text = tmp_path / "excel.txt"  # Excel's "Unicode text": UTF-16, tab-separated
    unicode_text.write_bytes("客户名称\t电话\r\n王五\t13700137000\r\n".encode("utf-16"))
    assert crm("import", "customers", bom).exit_code == 0
    result = crm("import", "customers", unicode_text)
    assert result.exit_code == 0, result.output
    assert set(customers_by_name(database)) == {"张三", "李四", "王五"}


def test_crlf_quoted_newlines_and_commas_and_excel_trailing_rows_work(
    crm, alice, database, tmp_path
):
    path = tmp_path / "quirks.csv"
    path.write_text(
        '客户名称,需求,公司\r\n"Acme, Inc.","first line\r\nsecond line",Acme\r\n'
        "张三,报价,某公司\r\n,,\r\n,,\r\n\r\n",
        encoding="utf-8", newline="",
    )
    result = crm("import", "customers", path)
    assert result.exit_code == 0, result.output
    customers = customers_by_name(database)
    assert customers["Acme, Inc."].requirement == "first line\r\nsecond line"
    assert set(customers) == {"Acme, Inc.", "张三"}


def test_a_file_that_decodes_under_no_encoding_names_the_byte_offset(crm, alice, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"name\nab\x81\n")
    result = crm("import", "customers", path)
    assert result.exit_code == 4
    assert "byte 7" in result.stderr


def test_a_bad_byte_after_the_sample_stops_the_import_naming_its_offset(crm, alice, tmp_path):
    data = ("name,phone\n" + "".join(f"客户{i},\n" for i in range(20000))).encode("utf-8")
    path = tmp_path / "late.csv"
    path.write_bytes(data + b"\xff\xfe,x\n")
    result = crm("import", "customers", path)
    assert result.exit_code == 4
    assert f"not valid utf-8 at byte {len(data)}" in result.stderr


def test_a_gbk_file_longer_than_the_sample_is_read_wherever_the_sample_cut_falls(
    crm, alice, database, tmp_path
):
    from crmcli.io.encoding import SAMPLE

    rows = "".join(f"客户{i},北京\n" for i in range(6000))
    cuts_a_character = []
    for padding in ("", " "):  # one byte shifts every character across the sample's end
        data = f"name,{padding}city\n{rows}".encode("gbk")
        assert len(data) > SAMPLE
        try:
            data[:SAMPLE].decode("gb18030")
        except UnicodeDecodeError:
            cuts_a_character.append(padding)
        path = tmp_path / f"long{len(padding)}.csv"
        path.write_bytes(data)
        result = crm("import", "customers", path, "--dry-run")
        assert result.exit_code == 0, result.output
        assert "created 6000" in result.stderr
    assert len(cuts_a_character) == 1  # the test covers both kinds of cut
    assert crm("import", "customers", tmp_path / "long0.csv").exit_code == 0
    assert customers_by_name(database)["客户5999"].city == "北京"


def test_short_gbk_files_are_read_as_gbk_and_big5_only_when_it_reads_better(
    crm, alice, database, tmp_path
):
    for name, text, encoding in (
        ("gbk.csv", "name,phone\n张伟,13800001111\n", "gbk"),
        ("traditional-in-gbk.csv", "name,city\n王喆,臺北\n", "gbk"),
        ("big5.csv", "name,city\n陳大文,台北\n", "big5"),
        ("latin.csv", "name,city\nMüller,Zürich\nCafé Noir,Paris\n", "cp1252"),
    ):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        result = crm("import", "customers", path)
        assert result.exit_code == 0, result.output
    stored = {name: customer.city for name, customer in customers_by_name(database).items()}
    assert stored == {"张伟": None, "王喆": "臺北", "陳大文": "台北", "Müller": "Zürich",
                      "Café Noir": "Paris"}


def test_encoding_can_be_forced(crm, alice, database, tmp_path):
    path = tmp_path / "big5.csv"
    path.write_bytes("name,city\n陳大文,台北\n".encode("big5"))
    result = crm("import", "customers", path, "--encoding", "big5")
    assert result.exit_code == 0, result.output
    assert customers_by_name(database)["陳大文"].city == "台北"


def test_an_xlsx_sheet_made_with_openpyxl_imports_with_sheet_row_numbers(
    crm, alice, database, tmp_path
):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Notes"
    sheet = workbook.create_sheet("Leads")
    sheet.append(["客户名称", "电话", "合同金额"])
    sheet.append(["张三", 13800138000, 1234.5])
    sheet.append(["李四", "12", None])
    sheet.append([None, None, None])  # Excel's trailing empty rows
    path = tmp_path / "leads.xlsx"
    workbook.save(path)
    result = crm("import", "customers", path, "--sheet", "Leads", "--partial")
    assert result.exit_code == 4
    assert "row 3: 电话: '12' is not a valid phone number" in result.stderr
    customer = customers_by_name(database)["张三"]
    assert customer.phone == "+8613800138000"
    assert str(customer.contract_amount) == "1234.5"
    missing = crm("import", "customers", path, "--sheet", "Nope")
    assert missing.exit_code == 2
    assert "Notes, Leads" in missing.stderr


def test_json_array_and_ndjson_import_with_lists_and_numbers(crm, alice, database, tmp_path):
    array = tmp_path / "web.json"
    array.write_text(json.dumps([
        {"name": "Web Lead", "phone": 13800138000, "tags": ["web", "form"], "city": None},
        {"客户名称": "表单客户", "邮箱": "form@x.com"},
    ], ensure_ascii=False), encoding="utf-8")
    lines = tmp_path / "events.ndjson"
    lines.write_text('{"name": "Nd One"}\n\n{"name": "Nd Two", "level": "b"}\n', encoding="utf-8")
    assert crm("import", "customers", array).exit_code == 0
    assert crm("import", "customers", lines).exit_code == 0
    customers = customers_by_name(database)
    assert customers["Web Lead"].tags == ["web", "form"]
    assert customers["Web Lead"].phone == "+8613800138000"
    assert customers["表单客户"].email == "form@x.com"
    assert customers["Nd Two"].level == "B"


def test_malformed_rows_are_reported_and_a_broken_quote_stops_the_file(crm, alice, tmp_path):
    path = tmp_path / "bad.ndjson"
    path.write_text('{"name": "ok"}\n{"name": \n[1]\n', encoding="utf-8")
    result = crm("import", "customers", path)
    assert result.exit_code == 4
    assert "line 2: not valid JSON" in result.stderr
    assert "line 3: is not an object with field names" in result.stderr
    extra = tmp_path / "extra.csv"
    extra.write_text("name,city\nA,B,C\n", encoding="utf-8")
    result = crm("import", "customers", extra)
    assert result.exit_code == 4
    assert "line 2: has 3 values but the header has 2 columns" in result.stderr
    quote = tmp_path / "quote.csv"
    quote.write_text('name,city\n"A"x,B\n', encoding="utf-8")
    result = crm("import", "customers", quote)
    assert result.exit_code == 4
    assert "line 2: malformed" in result.stderr


def test_stdin_is_sniffed_in_a_real_pipe(crm_process, alice, database):
    csv_text = "name,phone\nPiped One,13800138000\n"
    result = crm_process("import", "customers", "-", input=csv_text)
    assert result.returncode == 0, result.stderr
    tsv = crm_process("import", "customers", "-", input="name\tcity\nPiped Two\t上海\n")
    assert tsv.returncode == 0, tsv.stderr
    as_json = crm_process("import", "customers", "-", "--format", "json",
                          input='[{"name": "Piped Three"}]')
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["created"] == 1
    assert {"Piped One", "Piped Two", "Piped Three"} <= set(customers_by_name(database))


def test_a_shell_pipeline_feeds_gbk_bytes_through_stdin(crm_home, alice, database, tmp_path):
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((HEADER + ROWS).encode("gbk"))
    command = f"cat {gbk} | {sys.executable} -m crmcli import customers -"
    result = subprocess.run(command, shell=True, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert customers_by_name(database)["张三"].company == "北京某某科技"


def test_input_format_can_be_forced_for_stdin(crm, alice, database):
    result = crm("import", "customers", "-", "--input-format", "tsv",
                 input="name\tcity\nX, Y\tZ\n")
    assert result.exit_code == 0, result.output
    assert customers_by_name(database)["X, Y"].city == "Z"
    wrong = crm("import", "customers", "-", "--input-format", "yaml", input="x")
    assert wrong.exit_code == 2


def test_a_progress_bar_shows_only_when_stderr_is_a_terminal(crm_process, alice, tmp_path):
    import os
    import pty

    path = tmp_path / "many.csv"
    path.write_text("name\n" + "".join(f"客户{i}\n" for i in range(3000)), encoding="utf-8")
    piped = crm_process("import", "customers", path)
    assert piped.returncode == 0
    assert piped.stderr.splitlines() == [
        "customers from many.csv: created 3000, updated 0, unchanged 0, skipped 0, invalid 0"
    ]
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "crmcli", "import", "customers", "--dry-run", str(path)],
        stderr=follower, stdout=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "100"},
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait() == 0
    assert b"importing" in seen  # the bar's label, drawn on the terminal


def test_a_value_in_a_column_without_a_header_is_an_invalid_row(crm, alice, database, tmp_path):
    from openpyxl import Workbook

    path = tmp_path / "nameless.csv"
    path.write_text("name,,city\nT1,lost data,a\nT2,,b\n", encoding="utf-8")
    lost = crm("import", "customers", path)
    assert lost.exit_code == 4
    assert "line 2: column 2 has no header: name it, map it, or remove it" in lost.stderr
    assert "invalid 1" in lost.stderr
    workbook = Workbook()
    workbook.active.append(["name", "city", None, None])  # Excel's trailing nameless columns
    workbook.active.append(["X1", "a", None, ""])
    workbook.active.append(["X2", "b", None, "kept?"])
    book = tmp_path / "trailing.xlsx"
    workbook.save(book)
    sheet = crm("import", "customers", book, "--partial")
    assert sheet.exit_code == 4
    assert "row 3: column 4 has no header" in sheet.stderr
    as_json = crm("import", "customers", "-", "--input-format", "ndjson",
                  input='{"name": "J1", "": ""}\n{"name": "J2", "": "lost"}\n')
    assert as_json.exit_code == 4
    assert "line 2: a value has an empty key" in as_json.stderr
    assert set(customers_by_name(database)) == {"X1"}


def test_json_objects_booleans_and_lists_are_refused_naming_the_field(
    crm, alice, database, tmp_path
):
    path = tmp_path / "typed.ndjson"
    path.write_text(
        '{"name": {"x": 1}, "city": ["a", "b"]}\n{"name": true}\n{"name": "T", "tags": ["a", false]}\n'
        '{"name": "Number Phone", "phone": 13800138000, "tags": ["x", 2]}\n'
        '{"name": "Listed", "city": ["a", "b"]}\n',
        encoding="utf-8",
    )
    result = crm("import", "customers", path, "--partial")
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    assert "line 1: name: is not text but an object" in lines
    assert "line 5: city: is a list; a list is only allowed for tags" in lines
    assert "line 2: name: is not text but true or false" in lines
    assert "line 3: tags: is not text but true or false" in lines
    assert "invalid 4" in result.stderr
    stored = customers_by_name(database)
    assert set(stored) == {"Number Phone"}
    assert stored["Number Phone"].phone == "+8613800138000"
    assert stored["Number Phone"].tags == ["x", "2"]


def a_sheet_with_a_title(tmp_path, *, subtitle: str | None = None):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["2026年上海展会客户名单"])
    sheet.merge_cells("A1:C1")
    if subtitle:
        sheet.append([subtitle, None, "制表：市场部"])
    sheet.append([])
    sheet.append(["客户名称", "电话", "合同金额"])
    sheet.append(["张三", "13800138000", 1234.5])
    sheet["C4" if not subtitle else "C5"].number_format = "#,##0.00"
    sheet.append(["李四", "13900139000", 99.125])
    sheet["C5" if not subtitle else "C6"].number_format = "#,##0.00"
    path = tmp_path / "with-title.xlsx"
    workbook.save(path)
    return path


def test_a_title_row_above_the_header_of_a_sheet_is_passed_over_and_told(
    crm, alice, database, tmp_path
):
    result = crm("import", "customers", a_sheet_with_a_title(tmp_path))
    assert result.exit_code == 0, result.output
    assert ("with-title.xlsx (Sheet): the header is row 3; row 1 above it taken as a title "
            "(--header-row N names another)") in result.stderr
    assert "created 2" in result.stderr
    stored = customers_by_name(database)
    assert str(stored["张三"].contract_amount) == "1234.50"  # as the sheet shows it
    assert str(stored["李四"].contract_amount) == "99.125"  # a format never rounds a value away


def test_header_row_names_the_header_a_sheet_or_file_has_below_other_rows(
    crm, alice, database, tmp_path
):
    path = a_sheet_with_a_title(tmp_path, subtitle="展会: 2026-05")
    guessed = crm("import", "customers", path)
    assert guessed.exit_code == 4
    assert "unknown columns: 展会: 2026-05, 制表：市场部;" in guessed.stderr
    assert "(the header read is with-title.xlsx (Sheet) row 2; --header-row N names another)" \
        in guessed.stderr
    result = crm("import", "customers", path, "--header-row", "4")
    assert result.exit_code == 0, result.output
    assert set(customers_by_name(database)) == {"张三", "李四"}
    text = tmp_path / "titled.csv"
    text.write_text("导出自某系统,,\r\n\r\n客户名称,电话,城市\r\n王五,13700137000,上海\r\n",
                    encoding="utf-8")
    assert "created 1" in crm("import", "customers", text, "--header-row", "3").stderr
    assert customers_by_name(database)["王五"].city == "上海"
    refused = crm("import", "customers", "-", "--input-format", "json", "--header-row", "2",
                  input='[{"name": "x"}]')
    assert refused.exit_code == 2
    assert "--header-row: json has no header row" in refused.stderr
