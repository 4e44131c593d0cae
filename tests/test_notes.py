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
    assert "合同.pdf (1.6 KB)" in crm("customer", "show", ref).stdout


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


def history_of(crm, ref) -> list[dict]:
    return json.loads(crm("history", ref, "--format", "json").stdout)


def test_a_note_is_corrected_and_the_history_keeps_what_it_said(crm, alice):
    ref = add_customer(crm, "Acme")
    note = crm("note", "add", ref, "called about pricing", "--quote", "太贵了").stdout.strip()
    result = crm("note", "edit", note, "--body", "called: 报价 by Friday", "--quote", "",
                 "--kind", "电话")
    assert result.exit_code == 0, result.output
    assert "changed body, quote, kind" in result.stderr
    [edited] = notes_of(crm, ref)
    assert (edited["body"], edited["quote"], edited["kind"]) == ("called: 报价 by Friday", None,
                                                                "call")
    [event] = [e for e in history_of(crm, ref) if e["action"] == "note.update"]
    assert event["changes"]["body"] == ["called about pricing", "called: 报价 by Friday"]
    assert event["changes"]["quote"] == ["太贵了", None]
    found = json.loads(crm("customer", "find", "报价 by", "--format", "json").stdout)
    assert [c["name"] for c in found] == ["Acme"]  # the search index follows the edit
    assert crm("note", "edit", note, "--body", "-", input="from stdin\n").exit_code == 0
    assert notes_of(crm, ref)[0]["body"] == "from stdin"


def test_a_bad_note_edit_changes_nothing(crm, alice):
    ref = add_customer(crm, "Acme")
    note = crm("note", "add", ref, "called").stdout.strip()
    for options, code in (((), 2), (("--body", " "), 4), (("--kind", "gossip"), 4),
                          (("--body", "a\x00b"), 4)):
        assert crm("note", "edit", note, *options).exit_code == code, options
    assert crm("note", "edit", "ffffffff", "--body", "x").exit_code == 3
    assert [(n["body"], n["kind"]) for n in notes_of(crm, ref)] == [("called", "internal")]


def test_a_deleted_note_leaves_the_list_and_search_but_not_the_history(crm, alice):
    ref = add_customer(crm, "Acme")
    note = crm("note", "add", ref, "wrong customer: 发错了").stdout.strip()
    result = crm("note", "delete", note)
    assert result.exit_code == 0 and "deleted note" in result.stderr
    assert notes_of(crm, ref) == []
    assert json.loads(crm("customer", "find", "发错了", "--format", "json").stdout) == []
    actions = [e["action"] for e in history_of(crm, ref)]
    assert actions[-2:] == ["note.create", "note.delete"]
    assert crm("note", "delete", note).exit_code == 3  # gone already
    assert crm("note", "edit", note, "--body", "x").exit_code == 3


def test_only_the_author_the_customers_owner_or_its_managers_correct_a_note(crm, team):
    ref = add_customer(crm, "Acme")  # alice's (sales)
    bobs = crm("--as", "bob", "note", "add", ref, "bob was here").stdout.strip()
    alices = crm("note", "add", ref, "alice's call").stdout.strip()
    for args in (("edit", alices, "--body", "no call"), ("delete", alices)):
        for member in ("bob", "carol"):  # a member; a manager of another department
            refused = crm("--as", member, "note", *args)
            assert refused.exit_code == 6, refused.output
            assert f"{member} may not change a note on Acme" in refused.stderr
    assert crm("--as", "bob", "note", "edit", bobs, "--body", "bob's call").exit_code == 0
    assert crm("note", "delete", bobs).exit_code == 0  # the customer's owner
    assert [n["body"] for n in notes_of(crm, ref)] == ["alice's call"]


def test_the_notes_of_a_deleted_customer_stay_as_they_were(crm, alice):
    ref = add_customer(crm, "Acme")
    note = crm("note", "add", ref, "called").stdout.strip()
    crm("customer", "delete", ref)
    refused = crm("note", "delete", note)
    assert refused.exit_code == 3 and "Acme is deleted" in refused.stderr


def test_a_note_goes_in_or_out_and_json_says_which(crm, alice):
    ref = add_customer(crm, "Acme")
    assert crm("note", "add", ref, "they called", "--kind", "call", "--in").exit_code == 0
    assert crm("note", "add", ref, "we called back", "--kind", "call", "--out").exit_code == 0
    assert crm("note", "add", ref, "a thought").exit_code == 0
    assert {n["body"]: n["direction"] for n in notes_of(crm, ref)} == {
        "they called": "in", "we called back": "out", "a thought": None}


def test_an_internal_note_with_a_direction_is_refused_with_exit_4(crm, alice):
    ref = add_customer(crm, "Acme")
    result = crm("note", "add", ref, "a thought", "--in")
    assert result.exit_code == 4
    assert "an internal note has no direction" in result.stderr
    assert crm("note", "add", ref, "x", "--kind", "call", "--in", "--out").exit_code == 2
    assert notes_of(crm, ref) == []


def test_a_notes_direction_is_corrected_and_an_internal_one_keeps_none(crm, alice, database):
    from crmcli.models import Note

    ref = add_customer(crm, "Acme")
    note = crm("note", "add", ref, "they wrote", "--kind", "email", "--in").stdout.strip()
    assert crm("note", "edit", note, "--out").exit_code == 0
    assert notes_of(crm, ref)[0]["direction"] == "out"
    assert crm("note", "edit", note, "--kind", "internal").exit_code == 4
    assert crm("note", "edit", note, "--kind", "internal", "--no-direction").exit_code == 0
    with database() as s:
        stored = s.get(Note, notes_of(crm, ref)[0]["id"])
        assert (stored.kind, stored.direction) == ("internal", None)
