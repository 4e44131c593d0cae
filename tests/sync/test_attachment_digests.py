"""An attachment's digest read from the shared database never becomes a path outside the
attachments folder, and a content is only stored under the digest it hashes to.

The shared database refuses such rows itself (CHECK constraints); the rogue-server tests
drop those constraints first, as a hostile or damaged server would, and show that the
replica refuses the pull on its own, naming the attachment and writing nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import psycopg
import pytest

from conftest import schema_of
from crmcli.errors import Invalid
from crmcli.ids import new_id, short
from crmcli.repo.notes import stored_path
from helpers import as_login, login_for

CONSTRAINTS = {
    "attachment": ("attachment_sha256_is_a_digest",),
    "attachment_blob": (
        "attachment_blob_sha256_is_a_digest", "attachment_blob_content_matches_its_digest",
    ),
}


@pytest.mark.parametrize("digest", [
    "../../x", "/etc/passwd", "ab/../../../x", "A" * 64, "g" * 64, "a" * 63, "", "a" * 64 + "\n",
])
def test_a_digest_that_is_not_64_lowercase_hex_never_becomes_a_path(tmp_path, digest):
    with pytest.raises(Invalid, match="not a sha256 digest"):
        stored_path(tmp_path, digest)


def test_a_true_digest_names_a_file_inside_the_attachments_folder(tmp_path):
    digest = hashlib.sha256(b"x").hexdigest()
    assert stored_path(tmp_path, digest) == tmp_path / digest[:2] / digest


def _a_note(postgres, customer_id: str) -> str:
    note_id = new_id()
    postgres.run(
        "INSERT INTO note (id, customer_id, kind, body, author, at, created_at, updated_at, "
        "version) VALUES (%s, %s, 'internal', 'see the file', 'alice', now(), now(), now(), 1)",
        note_id, customer_id,
    )
    return note_id


def _an_attachment(postgres, note_id: str, digest: str, content: bytes) -> str:
    attachment_id = new_id()
    postgres.run(
        "INSERT INTO attachment (id, note_id, filename, sha256, size, created_at, updated_at, "
        "version) VALUES (%s, %s, 'evil.sh', %s, %s, now(), now(), 1)",
        attachment_id, note_id, digest, len(content),
    )
    postgres.run("INSERT INTO attachment_blob (sha256, content) VALUES (%s, %s)", digest, content)
    return attachment_id


def _customer_id(postgres, name: str) -> str:
    return postgres.value("SELECT id FROM customer WHERE name = %s", name)


@pytest.mark.parametrize("table, digest", [
    ("attachment", "../../x"), ("attachment", "/tmp/x"), ("attachment_blob", "../../x"),
])
def test_the_shared_database_refuses_a_digest_that_is_not_one(team, acme, postgres, table, digest):
    note_id = _a_note(postgres, _customer_id(postgres, "Acme Trading"))
    with pytest.raises(psycopg.errors.CheckViolation):
        if table == "attachment":
            _an_attachment(postgres, note_id, digest, b"payload")
        else:
            postgres.run("INSERT INTO attachment_blob (sha256, content) VALUES (%s, 'x')", digest)


def test_the_shared_database_refuses_a_content_under_another_digest(team, acme, postgres):
    with pytest.raises(psycopg.errors.CheckViolation):
        postgres.run(
            "INSERT INTO attachment_blob (sha256, content) VALUES (%s, 'not it')",
            hashlib.sha256(b"the real one").hexdigest(),
        )


def _rogue(postgres) -> None:
    for table, names in CONSTRAINTS.items():
        for name in names:
            postgres.run(f"ALTER TABLE {table} DROP CONSTRAINT {name}")


@pytest.fixture
def newcomer(crm, tmp_path, shared):
    """A fresh replica of bob's in a folder of its own (its own attachments folder)."""
    home = tmp_path / f"bob-{uuid.uuid4().hex[:6]}"
    home.mkdir()
    path = home / "crm.db"
    assert crm("init", "--db", path, "--user", "bob", "--name", "Bob").exit_code == 0
    url = as_login(shared, login_for(schema_of(shared), "bob"))
    assert crm("--db", path, "--as", "bob", "remote", "set", url).exit_code == 0
    return path


def _files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


@pytest.mark.parametrize("digest", ["../../x", "/tmp/crm-attack-{}", "ab/../../../x"])
def test_a_pulled_digest_that_is_a_path_is_refused_and_named_and_nothing_is_written(
    crm, team, acme, postgres, newcomer, tmp_path, digest
):
    digest = digest.format(uuid.uuid4().hex)
    _rogue(postgres)
    attachment_id = _an_attachment(
        postgres, _a_note(postgres, _customer_id(postgres, "Acme Trading")), digest, b"#!/bin/sh\n"
    )
    before = _files_under(tmp_path)

    result = crm("--db", newcomer, "--as", "bob", "sync")

    assert result.exit_code == 4, result.output
    assert short(attachment_id) in result.stderr and "evil.sh" in result.stderr
    assert "sha256" in result.stderr
    assert not Path(digest).exists() and not (newcomer.parent / digest).exists()
    written = _files_under(tmp_path) - before
    assert all(path.parent == newcomer.parent for path in written), written
    shown = crm("--db", newcomer, "--as", "bob", "customer", "list", "--format", "json")
    assert "Acme" not in shown.stdout  # nothing of that pull was received


def test_a_pulled_content_that_does_not_hash_to_its_digest_is_refused_and_named(
    crm, team, acme, postgres, newcomer
):
    _rogue(postgres)
    digest = hashlib.sha256(b"the contract").hexdigest()
    attachment_id = _an_attachment(
        postgres, _a_note(postgres, _customer_id(postgres, "Acme Trading")), digest,
        b"something else entirely",
    )

    result = crm("--db", newcomer, "--as", "bob", "sync")

    assert result.exit_code == 4, result.output
    assert short(attachment_id) in result.stderr
    assert "does not match its sha256 digest" in result.stderr
    assert not stored_path(newcomer.parent / "attachments", digest).exists()
