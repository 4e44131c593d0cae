"""Getting an attachment's content back out of the store (`crm attachment get`, the
dashboard's Save attachment).

A note's files live in the data directory under their sha256 (`notes.stored_path`); an
attachment is named by its note (a note id prefix, and the file's name when the note has
several) or by its digest (64 hex characters, or a prefix of at least 8). Only the
attachments of live notes of live customers are found: a deleted note's files are gone
for the reader as the note is. The content is checked against its digest while it is
copied, so a file changed in the store is refused, never handed out as the attachment.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session, col, select

from crmcli.errors import Ambiguous, CrmError, Invalid, NotFound
from crmcli.ids import short
from crmcli.models import Attachment, Customer, Note
from crmcli.repo import refs
from crmcli.repo.notes import stored_path

MIN_DIGEST_PREFIX = 8


class Damaged(CrmError):
    """The stored content does not hash to its digest (exit code 1: nothing a user typed)."""


def describe(attachment: Attachment) -> str:
    return (f"{attachment.filename} ({attachment.size} bytes, sha256 "
            f"{attachment.sha256[:12]}…, note {short(attachment.note_id)})")


def _live():
    return (
        select(Attachment)
        .join(Note, Note.id == Attachment.note_id)
        .join(Customer, Customer.id == Note.customer_id)
        .where(col(Attachment.deleted_at).is_(None), col(Note.deleted_at).is_(None),
               col(Customer.deleted_at).is_(None))
    )


def resolve(s: Session, ref: str, name: str | None = None) -> Attachment:
    """The attachment `ref` names: a digest (or a prefix of 8+ hex characters), else a
    note id prefix; `name` picks one of a note's several files by its name."""
    typed = ref.strip().lower()
    query = _live()
    if len(typed) >= MIN_DIGEST_PREFIX and all(c in "0123456789abcdef" for c in typed):
        by_digest = list(s.exec(query.where(col(Attachment.sha256).startswith(typed))))
        if len({a.sha256 for a in by_digest}) > 1:
            raise Ambiguous(f"{ref!r} is the start of several digests; give more of it",
                            [describe(a) for a in by_digest[:refs.MAX_CANDIDATES]])
        if by_digest:
            return by_digest[0]  # one content, whichever note holds it
    note = refs.resolve(s, Note, ref, kind="note or attachment digest", describe=lambda n: (
        f"{short(n.id)}  {n.body[:40]}"))
    found = list(s.exec(query.where(Attachment.note_id == note.id).order_by(Attachment.filename)))
    if name is not None:
        found = [a for a in found if a.filename == name]
    if not found:
        named = f" named {name!r}" if name is not None else ""
        raise NotFound(f"note {short(note.id)} has no attachment{named}")
    if len(found) > 1:
        raise Ambiguous(f"note {short(note.id)} has several attachments; pick one with --name",
                        [describe(a) for a in found])
    return found[0]


def copy_out(attachments_dir: Path, attachment: Attachment, writer: BinaryIO) -> int:
    """Write the attachment's content to `writer` once it is checked against its digest
    (a first read: standard output cannot take back what it was given); returns the
    bytes written."""
    path = stored_path(attachments_dir, attachment.sha256)
    if not path.is_file():
        raise NotFound(f"the content of {attachment.filename} is not in this database's "
                       "store (a team replica gets it with `crm sync`)")
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        for block in iter(lambda: reader.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != attachment.sha256:
        raise Damaged(f"the stored content of {attachment.filename} does not match its sha256: "
                      f"{path} was changed; nothing was written")
    written = 0
    with path.open("rb") as reader:
        for block in iter(lambda: reader.read(1 << 20), b""):
            writer.write(block)
            written += len(block)
    return written


def safe_name(attachment: Attachment) -> str:
    """The attachment's file name with no directory in it (a name from a shared database
    or a file is untrusted: `../x` must not climb out of the folder it is saved into)."""
    name = Path(attachment.filename.replace("\\", "/")).name
    if name in ("", ".", ".."):
        raise Invalid(f"{attachment.filename!r} is no file name to save under; give -o FILE",
                      "filename")
    return name


def save(attachments_dir: Path, attachment: Attachment, target: Path, *, force: bool) -> Path:
    """Save the attachment as `target` (a folder: under its own name in it); returns the
    file written. An existing file is refused unless `force`. The content goes to a
    temporary file next to it first, then into place: a refused or broken copy leaves
    nothing behind, and an existing file is replaced whole or not at all."""
    target = target.expanduser()
    if target.is_dir():
        target = target / safe_name(attachment)
    if target.exists() and not force:
        raise Invalid(f"{target} exists; --force overwrites it", "output")
    if not target.parent.is_dir():
        raise Invalid(f"{target.parent} is not a folder", "output")
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".crm-")
    try:
        with os.fdopen(handle, "wb") as writer:
            copy_out(attachments_dir, attachment, writer)
        mask = os.umask(0)  # a new file as any other: mkstemp makes it private
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
    return target
