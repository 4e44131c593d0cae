"""The tables. Every record is made for sync from day one.

Each synced record carries a uuid7 `id` (sorts by creation time, unique across replicas),
`created_at`/`updated_at` in UTC, a `version` bumped on every change (a local count: sync
does not keep it in step between replicas, so a stale edit is caught by comparing values,
see `customers.update`) and `deleted_at` (deletes are tombstones, so a deletion can travel
to other replicas). Users are referred to by handle everywhere (owner, assignee, actor), which is what
people type and what survives a sync between replicas that created users independently.

The schema itself is created by the numbered migrations in `migrations.py`, not from these
classes; a test checks the two agree.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import ConfigDict
from sqlalchemy import JSON, DateTime, String, TypeDecorator
from sqlmodel import Field, SQLModel

from crmcli import clock
from crmcli.ids import new_id


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: no local time ever reaches the database."""

    impl = DateTime
    cache_ok = True
    python_type = datetime  # what it takes and gives (bulk inserts convert repeats once)

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database; use clock.now()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class DecimalText(TypeDecorator):
    """Money as exact decimal text; SQLite has no decimal type and floats lose cents."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect) -> str | None:
        return None if value is None else format(Decimal(value), "f")

    def process_result_value(self, value: str | None, dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def _utc_field(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class Base(SQLModel):
    """Every table. Pydantic's validators are built on first use, not at import: table
    models are not validated on construction, and `crm` pays for every import at start-up."""

    model_config = ConfigDict(defer_build=True)


class Record(Base):
    """The columns every synced record has."""

    created_at: datetime = _utc_field(default_factory=clock.now)
    updated_at: datetime = _utc_field(default_factory=clock.now)
    version: int = 1
    deleted_at: datetime | None = _utc_field(default=None)


class User(Record, table=True):
    __tablename__ = "users"

    id: str = Field(default_factory=new_id, primary_key=True)
    handle: str = Field(unique=True)
    name: str
    department: str | None = None
    role: str = "member"
    active: bool = True


class FieldDef(Record, table=True):
    """A team-defined custom field: name, type, for choice fields its choices, and the
    label people read in its place (`crm field edit --label`; None: the name)."""

    __tablename__ = "field_def"

    id: str = Field(default_factory=new_id, primary_key=True)
    name: str = Field(unique=True)
    type: str
    choices: list[str] = Field(default_factory=list, sa_type=JSON)
    label: str | None = None


class FieldReader(Record, table=True):
    """One rule of who may read a sensitive field (`crm field access`, `repo/sensitive.py`).

    `field` is a sensitive field's name (contract_amount, id_number, bank_account, or a
    custom field declared `--sensitive`); `reader` is `role:ROLE`, `dept:DEPARTMENT` or
    `user:HANDLE`; `granted` says whether the rule grants (True) or revokes (False) that
    reader. The standard fields' default readers are not stored: a row records a change
    from them. A custom sensitive field has rows from its declaration on (admins and
    finance), and that it has rows is what makes it sensitive. One live row per
    (field, reader); revoking a granted reader flips `granted`, audited like any change.
    """

    __tablename__ = "field_reader"

    id: str = Field(default_factory=new_id, primary_key=True)
    field: str
    reader: str
    granted: bool = True


class Setting(Record, table=True):
    """One team setting (`crm setting set`, `repo/settings.py`): synced to every replica,
    written by admins only (the shared database judges it), so the whole team routes
    leads, counts working hours and gates hand-overs by the same rules. `key` identifies
    it across replicas; `value` is JSON (a text, a number, a list, a rule's object)."""

    __tablename__ = "setting"

    id: str = Field(default_factory=new_id, primary_key=True)
    key: str = Field(unique=True)
    value: Any = Field(default=None, sa_type=JSON, nullable=True)


class Customer(Record, table=True):
    """The one shared customer record.

    `pk` is a local integer key that only the search index uses (an FTS5 rowid must be an
    integer that VACUUM does not renumber); `id` is the identity that travels between
    replicas. `dedupe_key` is the case-folded name + company the duplicate guard compares;
    `sort_key` (the name in pinyin, which lists sort by) and `spelled` (what else search
    finds the name by) are derived from the name too (`names.spelled`).
    """

    __tablename__ = "customer"

    pk: int | None = Field(default=None, primary_key=True)
    id: str = Field(default_factory=new_id, unique=True)
    name: str
    company: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat: str | None = None
    city: str | None = None
    industry: str | None = None
    source: str | None = None
    stage: str = "lead"
    level: str | None = None
    sla: int | None = None  # minutes
    requirement: str | None = None
    owner: str | None = None
    department: str | None = None
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    contract_amount: Decimal | None = Field(default=None, sa_type=DecimalText)
    id_number: str | None = None
    bank_account: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    dedupe_key: str = ""
    merged_into: str | None = None
    created_by: str | None = None
    updated_by: str | None = None
    sort_key: str = ""
    spelled: str = ""


class Note(Record, table=True):
    """A follow-up record: the team's summary (`body`) and the customer's own words (`quote`)."""

    __tablename__ = "note"

    id: str = Field(default_factory=new_id, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id")
    kind: str = "internal"
    body: str
    quote: str | None = None
    author: str
    direction: str | None = None  # "in" (the customer reached us), "out" (we answered)
    at: datetime = _utc_field(default_factory=clock.now)


class Attachment(Record, table=True):
    """A file attached to a note, stored in the data dir under its sha256."""

    __tablename__ = "attachment"

    id: str = Field(default_factory=new_id, primary_key=True)
    note_id: str = Field(foreign_key="note.id")
    filename: str
    sha256: str
    size: int


class Task(Record, table=True):
    __tablename__ = "task"

    id: str = Field(default_factory=new_id, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id")
    title: str
    assignee: str
    due: datetime | None = _utc_field(default=None)
    priority: str = "normal"
    status: str = "open"
    created_by: str
    done_at: datetime | None = _utc_field(default=None)


class Assignment(Record, table=True):
    """Who is responsible for a customer in which role, from `since` until `until`."""

    __tablename__ = "assignment"

    id: str = Field(default_factory=new_id, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id")
    user: str
    role: str
    assigned_by: str
    reason: str | None = None
    since: datetime = _utc_field(default_factory=clock.now)
    until: datetime | None = _utc_field(default=None)
    acknowledged_at: datetime | None = _utc_field(default=None)


class Approval(Record, table=True):
    """A request for someone's yes before a step (`crm approval`, `repo/approvals.py`): a
    contract, a discount… for one customer, with an amount (Decimal, never float), whom it
    waits for (`target`: role:manager, role:admin, dept:DEPT or user:HANDLE) and why. Its
    decision (`status` approved, rejected, or withdrawn by its requester) is written once,
    with who decided, when and why; nothing else of it changes after it is made."""

    __tablename__ = "approval"

    id: str = Field(default_factory=new_id, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id")
    kind: str
    amount: Decimal | None = Field(default=None, sa_type=DecimalText)
    target: str
    reason: str | None = None
    requested_by: str
    status: str = "open"
    decided_by: str | None = None
    decided_at: datetime | None = _utc_field(default=None)
    decision_reason: str | None = None


class DistinctPair(Record, table=True):
    """Two customers someone said are *not the same* (`crm dedupe`, `repo/distinct_pairs.py`),
    so the duplicate finder stops proposing them. The two ids are kept in a canonical order
    (`first_id` < `second_id`), with who said so (`marked_by`) and why; when is `created_at`
    (on a team, the shared database's time of arrival). Nothing of it changes after it is
    made: it is only withdrawn (`deleted_at`). It names customers by id without a foreign
    key: a replica may drop a customer that leaves its view while a mark naming it waits to
    be pushed. A customer merged away is followed to the one it was merged into when the
    marks are read, so a mark never has to be rewritten."""

    __tablename__ = "distinct_pair"

    id: str = Field(default_factory=new_id, primary_key=True)
    first_id: str = Field(index=True)
    second_id: str = Field(index=True)
    marked_by: str
    reason: str | None = None


class AuditEvent(Base, table=True):
    """One change (or, later, one view or export): who, when, what, and the fields before/after.

    The audit trail doubles as the change log sync reads: `changes` maps each field to
    [before, after], so a replica can push its edits field by field with the value it had
    seen. `synced` is false for events made here and not yet pushed. `seq` is the local
    order of events; `id` is the identity that travels.
    """

    __tablename__ = "audit_event"

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(default_factory=new_id, unique=True)
    at: datetime = _utc_field(default_factory=clock.now)
    actor: str
    action: str
    entity: str
    entity_id: str | None = None
    customer_id: str | None = None
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    synced: bool = False


class SensitiveMask(Base, table=True):
    """What a cleared reader sees of a sensitive value a team replica does not hold
    (`••••3445`, `≥100,000`), as the shared database gave it to this replica's member at
    its last pull (`sync/masks.py`). Local: never synced, never a value."""

    __tablename__ = "sensitive_mask"

    customer_id: str = Field(primary_key=True)
    field: str = Field(primary_key=True)
    mask: str  # empty once cleared here, until the next pull
    digest: str  # of the value the mask stands for: what a push compares (`sync/rights.py`)


class Meta(Base, table=True):
    """Local key/value state: when a user last looked at the dashboard, sync cursors."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str


class Conflict(Record, table=True):
    """A change that did not make it into the shared record, kept so nothing is lost silently.

    Made by the shared database when a pushed change meets a concurrent one (see
    `crmcli.sync`). `kind` "edit": one field was changed elsewhere first; `field` is its
    name ("extra.NAME" for a custom field), `base` what the pusher had seen, `mine` the
    value that did not make it, `theirs` the value the record kept. `kind` "deleted" (the
    record was deleted elsewhere) or "gone" (it is no longer in the shared database): one
    entry for the record; `field` lists the fields and the values are {field: value}.
    `kind` "merge": a merge of this customer into `mine` was refused because that keeper
    was deleted (`theirs` None) or merged into `theirs` elsewhere (`crmcli.sync.merges`).
    `kind` "resolution": the entry `entity_id` (entity "conflict") was resolved twice,
    differently; `theirs` is the resolution that stands and `mine` the other, each
    {resolution, by, at} (`crmcli.sync.resolutions`).
    `actor` and `made_at` say who made the losing change and when (by their clock: shown to
    people, never used to decide). Conflicts sync like any record; resolving one is an
    ordinary change (`repo/conflicts.py`).
    """

    __tablename__ = "conflict"

    id: str = Field(default_factory=new_id, primary_key=True)
    kind: str
    entity: str
    entity_id: str
    customer_id: str | None = None
    field: str
    base: Any = Field(default=None, sa_type=JSON, nullable=True)
    mine: Any = Field(default=None, sa_type=JSON, nullable=True)
    theirs: Any = Field(default=None, sa_type=JSON, nullable=True)
    actor: str
    made_at: datetime = _utc_field()
    event_id: str
    resolution: str | None = None  # mine | theirs | value
    resolved_by: str | None = None
    resolved_at: datetime | None = _utc_field(default=None)


class Notification(Base, table=True):
    """One notification in this replica's outbox (`repo/notifications.py`): local, never
    synced. `key` says what it is about ("task.overdue:<task id>:<due>"), so collecting
    twice records it once; `routed` is whether the channels have been given their
    deliveries of it (`repo/deliveries.py`); `read_at` is when its recipient read it in
    the dashboard's inbox."""

    __tablename__ = "notification"

    id: str = Field(default_factory=new_id, primary_key=True)
    key: str = Field(unique=True)
    kind: str
    recipient: str
    customer_id: str | None = None
    title: str
    body: str
    due: datetime | None = _utc_field(default=None)
    created_at: datetime = _utc_field(default_factory=clock.now)
    routed: bool = False
    read_at: datetime | None = _utc_field(default=None)


class Channel(Base, table=True):
    """Where notifications are delivered (`crm notify add`): a group robot of 企业微信,
    飞书 or 钉钉, or a JSON webhook, for everyone's notifications or one department's or
    one user's. Local to the replica that delivers (its secret stays on that machine)."""

    __tablename__ = "channel"

    id: str = Field(default_factory=new_id, primary_key=True)
    kind: str  # wecom | feishu | dingtalk | webhook
    url: str
    secret: str | None = None
    department: str | None = None
    user: str | None = None
    created_at: datetime = _utc_field(default_factory=clock.now)


class Delivery(Base, table=True):
    """One notification on its way to one channel. `state`: waiting (not tried yet),
    failed (tried, tried again at `next_attempt_at`), sent. A `notify run` holds the rows
    it is sending by a lease (`lease_owner` until `lease_until`), so another run at the
    same time leaves them alone."""

    __tablename__ = "delivery"

    id: int | None = Field(default=None, primary_key=True)
    notification_id: str = Field(foreign_key="notification.id")
    channel_id: str = Field(foreign_key="channel.id")
    state: str = "waiting"
    attempts: int = 0
    next_attempt_at: datetime = _utc_field(default_factory=clock.now)
    lease_owner: str | None = None
    lease_until: datetime | None = _utc_field(default=None)
    last_error: str | None = None
    sent_at: datetime | None = _utc_field(default=None)


class PlatformId(Base, table=True):
    """Who a user is on a chat platform (`crm notify id`): the id a robot's message
    mentions them by (企业微信 userid, 飞书 open_id, 钉钉 userId or mobile). Local."""

    __tablename__ = "platform_id"

    handle: str = Field(primary_key=True)
    platform: str = Field(primary_key=True)
    ident: str
