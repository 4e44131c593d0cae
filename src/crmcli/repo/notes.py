"""Notes (跟进记录): the team's summary next to the customer's own words, and attachments."""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from crmcli import clock, fields
from crmcli.errors import Invalid, NotFound
from crmcli.ids import short
from crmcli.models import Attachment, Customer, Note
from crmcli.repo import audit, permissions, refs, users
from crmcli.repo.machine import to_dict
from crmcli.repo.users import Actor


def _store_file(source: Path, attachments_dir: Path) -> tuple[str, int]:
    """Copy a file into the content-addressed store; returns (sha256, size).

    Files are named by their sha256, so the same file attached twice is stored once and a
    rolled-back note leaves at most an unreferenced copy, never a wrong one.
    """
    digest = hashlib.sha256()
    attachments_dir.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as reader, tempfile.NamedTemporaryFile(
        dir=attachments_dir, delete=False
    ) as writer:
        for block in iter(lambda: reader.read(1 << 20), b""):
            digest.update(block)
            writer.write(block)
    sha = digest.hexdigest()
    target = stored_path(attachments_dir, sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    Path(writer.name).replace(target)
    return sha, target.stat().st_size


DIGEST = re.compile(r"[0-9a-f]{64}")


def is_digest(value: object) -> bool:
    """Whether `value` is a sha256 digest as we store it: 64 lowercase hex characters."""
    return isinstance(value, str) and DIGEST.fullmatch(value) is not None


def stored_path(attachments_dir: Path, sha256: str) -> Path:
    """Where the content with this digest lives. The digest is checked before it becomes a
    path: one read from a shared database (or a file) is untrusted, and `../../x` or an
    absolute path must never reach the filesystem."""
    if not is_digest(sha256):
        raise Invalid(f"{sha256!r} is not a sha256 digest (64 lowercase hex characters)", "sha256")
    return attachments_dir / sha256[:2] / sha256


def add(
    s: Session,
    customer: Customer,
    body: str,
    *,
    by: Actor,
    kind: str = "internal",
    quote: str | None = None,
    attach: list[Path] | None = None,
    author: str | None = None,
    at: datetime | None = None,
    note_id: str | None = None,
    detail: dict | None = None,
    direction: str | None = None,
) -> Note:
    """Add a note by `by` (or, imported, written by `author` at `at`, keeping the id of the
    export it comes from: `note_id`). The search index follows by itself (triggers);
    `detail` goes into the creation's event (a merge's note says which merge made it).
    `direction` ("in", "out" or None) is what the SLA clock reads (`repo/sla.py`)."""
    body = fields.parse_text(body, "body")
    if not body:
        raise Invalid("is required (the summary in the team's words)", "body")
    kind = fields.parse_note_kind(kind)
    note = Note(
        customer_id=customer.id,
        kind=kind,
        direction=parse_direction(direction, kind),
        body=body,
        quote=fields.parse_text(quote or "", "quote") or None,
        author=users.get(s, author).handle if author else by.handle,
        at=at or clock.now(),
    )
    if note_id:
        note.id = note_id
    s.add(note)
    s.flush()  # the note row must exist before its attachments point at it
    audit.record(
        s, by=by.handle, action="note.create", entity="note", entity_id=note.id,
        customer_id=customer.id, changes=audit.snapshot(note), detail=detail,
    )
    for path in attach or []:
        if not path.is_file():
            raise Invalid(f"{path} is not a readable file", "attach")
        sha, size = _store_file(path, s.info["attachments_dir"])
        attachment = Attachment(note_id=note.id, filename=path.name, sha256=sha, size=size)
        s.add(attachment)
        audit.record(
            s, by=by.handle, action="attachment.create", entity="attachment",
            entity_id=attachment.id, customer_id=customer.id, changes=audit.snapshot(attachment),
        )
    s.flush()
    return note


def parse_direction(text: str | None, kind: str) -> str | None:
    """A note's direction ("in", "out", 呼入, 回复 …; None or empty: none). An internal note
    went nowhere: one with a direction is refused."""
    if not text:
        return None
    direction = fields.parse_direction(text)
    if kind == "internal":
        raise Invalid(f"an internal note has no direction (it is {direction!r}): "
                      "give the note a kind (call, visit, email …) or no direction", "direction")
    return direction


def describe(note: Note) -> str:
    first = note.body.splitlines()[0] if note.body else ""
    return f"{short(note.id)}  {first[:40]} ({note.kind}, {note.author})"


def resolve(s: Session, ref: str) -> Note:
    """The live note a unique id prefix names (as `crm note list` shows it)."""
    return refs.resolve(s, Note, ref, kind="note", describe=describe)


def _change(s: Session, note: Note, action: str, values: dict, by: Actor) -> dict[str, list]:
    """A correction of the note by `by`: its author, its customer's owner or a manager
    (`crmcli.permissions.may_change_note`), while the customer is live; recorded, and the
    search index follows."""
    customer = s.exec(select(Customer).where(Customer.id == note.customer_id)).one()
    if customer.deleted_at is not None:
        raise NotFound(f"customer {customer.name} is deleted: its notes stay as they were")
    permissions.require_note_change(s, note, by)
    changes = audit.apply(note, values, by.handle)
    if changes:
        audit.record(
            s, by=by.handle, action=f"note.{action}", entity="note", entity_id=note.id,
            customer_id=note.customer_id, changes=changes,
        )
    return changes


def edit(
    s: Session,
    note: Note,
    *,
    by: Actor,
    body: str | None = None,
    quote: str | None = None,
    kind: str | None = None,
    direction: str | None = None,
) -> dict[str, list]:
    """Correct a note's summary, the customer's words (an empty `quote` removes them), its
    kind or its direction ("" removes it); None leaves a value alone. Returns what changed
    (one `note.update` event)."""
    values: dict = {}
    if body is not None:
        values["body"] = fields.parse_text(body, "body")
        if not values["body"]:
            raise Invalid("is required (the summary in the team's words)", "body")
    if quote is not None:
        values["quote"] = fields.parse_text(quote, "quote") or None
    if kind is not None:
        values["kind"] = fields.parse_note_kind(kind)
    if kind is not None or direction is not None:
        values["direction"] = parse_direction(
            note.direction if direction is None else direction, values.get("kind", note.kind))
    return _change(s, note, "update", values, by)


def delete(s: Session, note: Note, *, by: Actor) -> None:
    """Delete a note (a tombstone: the history keeps it, and its text, as written)."""
    _change(s, note, "delete", {"deleted_at": clock.now()}, by)


NOTE_FIELDS = ("customer", "kind", "direction", "body", "quote", "author", "at")


def as_dict(note: Note, attachments: list[Attachment]) -> dict:
    values = to_dict(note, NOTE_FIELDS, customer="customer_id")
    values["attachments"] = [
        {"filename": a.filename, "sha256": a.sha256, "size": a.size} for a in attachments
    ]
    return values


def for_customer(s: Session, customer_id: str) -> list[Note]:
    """A customer's notes, newest first."""
    query = select(Note).where(Note.customer_id == customer_id, col(Note.deleted_at).is_(None))
    return list(s.exec(query.order_by(col(Note.at).desc(), col(Note.id).desc())).all())


def latest_quote(s: Session, customer_id: str) -> Note | None:
    """The customer's newest live note that keeps their own words (`quote`), or None."""
    query = select(Note).where(
        Note.customer_id == customer_id, col(Note.deleted_at).is_(None),
        col(Note.quote).is_not(None), Note.quote != "",
    )
    return s.exec(query.order_by(col(Note.at).desc(), col(Note.id).desc()).limit(1)).first()


def attachments_of(s: Session, note_ids: list[str]) -> dict[str, list[Attachment]]:
    found: dict[str, list[Attachment]] = defaultdict(list)
    if note_ids:
        query = select(Attachment).where(
            col(Attachment.note_id).in_(note_ids), col(Attachment.deleted_at).is_(None)
        )
        for row in s.exec(query.order_by(Attachment.filename)):
            found[row.note_id].append(row)
    return found
