"""`crm attachment get NOTE|SHA -o FILE`: a note's file back out of the store, checked."""

import hashlib

from helpers import add_customer

QUOTE, CONTRACT = b"quote v1\n", b"%PDF-1.4 \x00\x01 signed"


def attach(crm, tmp_path, ref, *files: tuple[str, bytes]) -> str:
    options = []
    for name, content in files:
        (tmp_path / name).write_bytes(content)
        options += ["--attach", tmp_path / name]
    result = crm("note", "add", ref, "sent the papers", *options)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_an_attachment_is_got_by_its_note_or_its_digest(crm, alice, tmp_path):
    ref = add_customer(crm, "Acme")
    note = attach(crm, tmp_path, ref, ("quote.txt", QUOTE))
    result = crm("attachment", "get", note, "-o", tmp_path / "out.txt")
    assert result.exit_code == 0, result.output
    assert "wrote quote.txt (9 bytes)" in result.stderr
    assert (tmp_path / "out.txt").read_bytes() == QUOTE
    digest = hashlib.sha256(QUOTE).hexdigest()
    folder = tmp_path / "downloads"
    folder.mkdir()
    for typed in (digest, digest[:8].upper()):
        assert crm("attachment", "get", typed, "-o", folder, "--force").exit_code == 0
    assert (folder / "quote.txt").read_bytes() == QUOTE
    piped = crm("attachment", "get", digest[:10], "-o", "-")
    assert piped.exit_code == 0 and piped.stdout_bytes == QUOTE


def test_a_note_with_several_files_names_them_and_name_picks_one(crm, alice, tmp_path):
    ref = add_customer(crm, "Acme")
    note = attach(crm, tmp_path, ref, ("quote.txt", QUOTE), ("contract.pdf", CONTRACT))
    several = crm("attachment", "get", note, "-o", tmp_path / "x")
    assert several.exit_code == 3
    assert "several attachments; pick one with --name" in several.stderr
    assert "contract.pdf (" in several.stderr and "quote.txt (" in several.stderr
    assert not (tmp_path / "x").exists()
    got = crm("attachment", "get", note, "--name", "contract.pdf", "-o", tmp_path / "x")
    assert got.exit_code == 0 and (tmp_path / "x").read_bytes() == CONTRACT
    assert crm("attachment", "get", note, "--name", "nope.txt", "-o", tmp_path / "y").exit_code == 3


def test_an_existing_file_is_kept_unless_force(crm, alice, tmp_path):
    ref = add_customer(crm, "Acme")
    note = attach(crm, tmp_path, ref, ("quote.txt", QUOTE))
    target = tmp_path / "mine.txt"
    target.write_bytes(b"keep me")
    refused = crm("attachment", "get", note, "-o", target)
    assert refused.exit_code == 4 and "--force overwrites it" in refused.stderr
    assert target.read_bytes() == b"keep me"
    assert crm("attachment", "get", note, "-o", target, "--force").exit_code == 0
    assert target.read_bytes() == QUOTE


def test_a_file_changed_in_the_store_is_refused_and_nothing_is_written(
    crm, alice, tmp_path, crm_home
):
    ref = add_customer(crm, "Acme")
    note = attach(crm, tmp_path, ref, ("quote.txt", QUOTE))
    digest = hashlib.sha256(QUOTE).hexdigest()
    [stored] = [p for p in crm_home.rglob(digest) if p.is_file()]
    stored.write_bytes(b"quote v2, forged\n")
    for target in (tmp_path / "out.txt", "-"):
        result = crm("attachment", "get", note, "-o", target)
        assert result.exit_code == 1 and "does not match its sha256" in result.stderr
        assert result.stdout_bytes == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm-home", "quote.txt"]


def test_the_files_of_a_deleted_note_or_unknown_references_are_not_found(crm, alice, tmp_path):
    ref = add_customer(crm, "Acme")
    note = attach(crm, tmp_path, ref, ("quote.txt", QUOTE))
    crm("note", "delete", note)
    digest = hashlib.sha256(QUOTE).hexdigest()
    for typed in (note, digest, "abcdef12", "nothing"):
        assert crm("attachment", "get", typed, "-o", tmp_path / "x").exit_code == 3, typed
    assert crm("attachment", "get", note).exit_code == 2  # -o is required


def test_a_stored_name_with_a_path_in_it_is_saved_under_its_last_part(
    crm, alice, tmp_path, database
):
    from sqlmodel import select

    from crmcli.models import Attachment

    ref = add_customer(crm, "Acme")
    note = attach(crm, tmp_path, ref, ("quote.txt", QUOTE))
    with database(write=True) as s:  # as a file from elsewhere could hold it
        [row] = s.exec(select(Attachment)).all()
        row.filename = "../../escaped.txt"
    folder = tmp_path / "in" / "here"
    folder.mkdir(parents=True)
    assert crm("attachment", "get", note, "-o", folder).exit_code == 0
    assert (folder / "escaped.txt").read_bytes() == QUOTE
    assert not (tmp_path / "escaped.txt").exists()
