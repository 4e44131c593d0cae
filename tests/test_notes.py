"""`crm note …`: summaries, the customer's verbatim words, stdin and attachments."""

import hashlib
import json

from helpers import add_customer


def notes_of(crm, ref):
    result = crm("note", "list", ref, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_note_keeps_kind_summary_quote_and_author(crm, alice):
    ref = add_customer(crm, "Acme")
    result = crm("note", "add", ref, "客户投诉发货慢", "--kind", "投诉", "--quote", "你们太慢了！")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip()) == 8
    [note] = notes_of(crm, ref)
    assert (note["kind"], note["body"], note["quote"], note["author"]) == \
        ("complaint", "客户投诉发货慢", "你们太慢了！", "alice")


def test_text_dash_reads_the_note_from_stdin(crm, alice):
    ref = add_customer(crm, "Acme")
    assert crm("note", "add", ref, "-", input="line one\nline two\n").exit_code == 0
    assert notes_of(crm, ref)[0]["body"] == "line one\nline two"


def test_a_note_piped_through_a_real_shell_pipe_arrives(crm_process, alice):
    created = crm_process("customer", "add", "Piped")
    assert created.returncode == 0, created.stderr
    result = crm_process("note", "add", "Piped", "-", input="来自管道的内容")
    assert result.returncode == 0, result.stderr
    listed = crm_process("note", "list", "Piped", "--format", "json")
    assert json.loads(listed.stdout)[0]["body"] == "来自管道的内容"


def test_an_empty_note_or_unknown_kind_is_refused(crm, alice):
    ref = add_customer(crm, "Acme")
    assert crm("note", "add", ref, "   ").exit_code == 4
    assert crm("note", "add", ref, "x", "--kind", "telepathy").exit_code == 4
    assert notes_of(crm, ref) == []


def test_attachments_are_copied_under_their_sha256_and_listed_with_size(crm, alice, crm_home, tmp_path):
    ref = add_customer(crm, "Acme")
    contract = tmp_path / "合同.pdf"
    contract.write_bytes(b"%PDF-1.4 pretend" * 100)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + bytes(range(256)))
    result = crm("note", "add", ref, "signed", "--attach", contract, "--attach", photo)
    assert result.exit_code == 0, result.output
    [note] = notes_of(crm, ref)
    files = {a["filename"]: a for a in note["attachments"]}
    assert set(files) == {"合同.pdf", "photo.jpg"}
    digest = hashlib.sha256(contract.read_bytes()).hexdigest()
    assert files["合同.pdf"] == {"filename": "合同.pdf", "sha256": digest, "size": 1600}
    stored = crm_home / "attachments" / digest[:2] / digest
    assert stored.read_bytes() == contract.read_bytes()
    assert "合同.pdf" in crm("note", "list", ref).stdout
    assert "1600 bytes" in crm("customer", "show", ref).stdout


def test_a_missing_attachment_is_a_usage_error_and_adds_no_note(crm, alice, tmp_path):
    ref = add_customer(crm, "Acme")
    result = crm("note", "add", ref, "x", "--attach", tmp_path / "nope.pdf")
    assert result.exit_code == 2
    assert notes_of(crm, ref) == []


def test_notes_list_newest_first(crm, alice):
    ref = add_customer(crm, "Acme")
    for body in ("first", "second", "third"):
        crm("note", "add", ref, body)
    assert [n["body"] for n in notes_of(crm, ref)] == ["third", "second", "first"]


def test_a_note_with_a_nul_character_is_refused_with_exit_4(crm, alice):
    ref = add_customer(crm, "Acme")
    result = crm("note", "add", ref, "-", input="called\x00them")
    assert result.exit_code == 4 and "NUL" in result.stderr
    assert notes_of(crm, ref) == []


def test_a_note_from_stdin_that_is_not_utf8_is_refused_with_exit_4(crm, alice):
    ref = add_customer(crm, "Acme")
    result = crm("note", "add", ref, "-", input=b"called \xff\xfe them")
    assert result.exit_code == 4
    assert "standard input: is not UTF-8 text (byte 7: 0xff)" in result.stderr
    assert notes_of(crm, ref) == []


def test_a_note_from_stdin_loses_a_utf8_byte_order_mark(crm, alice):
    ref = add_customer(crm, "Acme")
    assert crm("note", "add", ref, "-", input="\ufeff来电询价".encode()).exit_code == 0
    assert [n["body"] for n in notes_of(crm, ref)] == ["来电询价"]
