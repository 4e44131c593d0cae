"""Numbered schema migrations, run by the app itself when it opens a database.

`PRAGMA user_version` holds how many have been applied, so a database made by an older
crmcli opens in a newer one: the missing steps run, in order, in one write transaction.
Append new steps; never edit a step that has shipped. A test checks that the migrated
schema matches the tables declared in `models.py`.
"""

from collections.abc import Callable

from sqlalchemy import Connection

from crmcli.migrations_stage import m015_stage_history, m016_stage_history_folded
from crmcli.migrations_workload import (
    m017_workload_indexes,
    m018_sla_scan_in_id_order,
    m019_sla_waits,
    m020_sla_waits_with_owner,
)

_SYNCED = """
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted_at DATETIME"""


def m001_initial(conn: Connection) -> None:
    statements = [
        f"""CREATE TABLE users (
    id VARCHAR NOT NULL PRIMARY KEY,
    handle VARCHAR NOT NULL UNIQUE,
    name VARCHAR NOT NULL,
    department VARCHAR,
    role VARCHAR NOT NULL,
    active BOOLEAN NOT NULL,{_SYNCED})""",
        f"""CREATE TABLE field_def (
    id VARCHAR NOT NULL PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE,
    type VARCHAR NOT NULL,
    choices JSON NOT NULL,{_SYNCED})""",
        f"""CREATE TABLE customer (
    pk INTEGER NOT NULL PRIMARY KEY,
    id VARCHAR NOT NULL UNIQUE,
    name VARCHAR NOT NULL,
    company VARCHAR,
    phone VARCHAR,
    email VARCHAR,
    wechat VARCHAR,
    city VARCHAR,
    industry VARCHAR,
    source VARCHAR,
    stage VARCHAR NOT NULL,
    level VARCHAR,
    sla INTEGER,
    requirement VARCHAR,
    owner VARCHAR,
    department VARCHAR,
    tags JSON NOT NULL,
    contract_amount VARCHAR,
    id_number VARCHAR,
    bank_account VARCHAR,
    extra JSON NOT NULL,
    dedupe_key VARCHAR NOT NULL,
    merged_into VARCHAR,
    created_by VARCHAR,
    updated_by VARCHAR,{_SYNCED})""",
        "CREATE INDEX ix_customer_phone ON customer (phone)",
        "CREATE INDEX ix_customer_email ON customer (email)",
        "CREATE INDEX ix_customer_dedupe ON customer (dedupe_key)",
        "CREATE INDEX ix_customer_owner ON customer (owner)",
        "CREATE INDEX ix_customer_name ON customer (name)",
        "CREATE INDEX ix_customer_short ON customer (substr(id, 29))",
        f"""CREATE TABLE note (
    id VARCHAR NOT NULL PRIMARY KEY,
    customer_id VARCHAR NOT NULL REFERENCES customer (id),
    kind VARCHAR NOT NULL,
    body VARCHAR NOT NULL,
    quote VARCHAR,
    author VARCHAR NOT NULL,
    at DATETIME NOT NULL,{_SYNCED})""",
        "CREATE INDEX ix_note_customer ON note (customer_id, at)",
        f"""CREATE TABLE attachment (
    id VARCHAR NOT NULL PRIMARY KEY,
    note_id VARCHAR NOT NULL REFERENCES note (id),
    filename VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    size INTEGER NOT NULL,{_SYNCED})""",
        "CREATE INDEX ix_attachment_note ON attachment (note_id)",
        f"""CREATE TABLE task (
    id VARCHAR NOT NULL PRIMARY KEY,
    customer_id VARCHAR NOT NULL REFERENCES customer (id),
    title VARCHAR NOT NULL,
    assignee VARCHAR NOT NULL,
    due DATETIME,
    priority VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    done_at DATETIME,{_SYNCED})""",
        "CREATE INDEX ix_task_customer ON task (customer_id)",
        "CREATE INDEX ix_task_assignee ON task (assignee, status, due)",
        "CREATE INDEX ix_task_short ON task (substr(id, 29))",
        f"""CREATE TABLE assignment (
    id VARCHAR NOT NULL PRIMARY KEY,
    customer_id VARCHAR NOT NULL REFERENCES customer (id),
    user VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    assigned_by VARCHAR NOT NULL,
    reason VARCHAR,
    since DATETIME NOT NULL,
    until DATETIME,
    acknowledged_at DATETIME,{_SYNCED})""",
        "CREATE INDEX ix_assignment_customer ON assignment (customer_id)",
        "CREATE INDEX ix_assignment_user ON assignment (user) WHERE until IS NULL",
        """CREATE TABLE audit_event (
    seq INTEGER NOT NULL PRIMARY KEY,
    id VARCHAR NOT NULL UNIQUE,
    at DATETIME NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    entity_id VARCHAR,
    customer_id VARCHAR,
    changes JSON NOT NULL,
    detail JSON NOT NULL,
    synced BOOLEAN NOT NULL DEFAULT 0)""",
        "CREATE INDEX ix_audit_customer ON audit_event (customer_id, at)",
        "CREATE INDEX ix_audit_actor ON audit_event (actor, at)",
        "CREATE INDEX ix_audit_unsynced ON audit_event (seq) WHERE synced = 0",
        """CREATE TABLE meta (
    "key" VARCHAR NOT NULL PRIMARY KEY,
    value VARCHAR NOT NULL)""",
        # Substring search, Chinese included; rowid = customer.pk. Kept up to date by
        # repo/search.py, in bulk after imports rather than row by row.
        """CREATE VIRTUAL TABLE customer_fts USING fts5(
    name, company, phone, email, requirement, notes, tokenize = 'trigram')""",
    ]
    for statement in statements:
        conn.exec_driver_sql(statement)


def m002_sync(conn: Connection) -> None:
    """Team sync: conflict entries (they sync like records) and an index for re-keying events."""
    statements = [
        f"""CREATE TABLE conflict (
    id VARCHAR NOT NULL PRIMARY KEY,
    kind VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    customer_id VARCHAR,
    field VARCHAR NOT NULL,
    base JSON,
    mine JSON,
    theirs JSON,
    actor VARCHAR NOT NULL,
    made_at DATETIME NOT NULL,
    event_id VARCHAR NOT NULL,
    resolution VARCHAR,
    resolved_by VARCHAR,
    resolved_at DATETIME,{_SYNCED})""",
        "CREATE INDEX ix_conflict_open ON conflict (entity_id) WHERE resolved_at IS NULL",
        "CREATE INDEX ix_audit_entity ON audit_event (entity_id)",
    ]
    for statement in statements:
        conn.exec_driver_sql(statement)


def m003_field_readers(conn: Connection) -> None:
    """Who may read each sensitive field: the rules that differ from the defaults."""
    conn.exec_driver_sql(f"""CREATE TABLE field_reader (
    id VARCHAR NOT NULL PRIMARY KEY,
    field VARCHAR NOT NULL,
    reader VARCHAR NOT NULL,
    granted BOOLEAN NOT NULL,{_SYNCED})""")
    conn.exec_driver_sql("CREATE INDEX ix_field_reader_field ON field_reader (field, reader)")
    conn.exec_driver_sql("CREATE INDEX ix_audit_action ON audit_event (action, at)")



def m004_sensitive_masks(conn: Connection) -> None:
    """The masks of sensitive values a team replica does not hold (`models.SensitiveMask`)."""
    conn.exec_driver_sql("""CREATE TABLE sensitive_mask (
    customer_id VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    mask VARCHAR NOT NULL,
    digest VARCHAR NOT NULL,
    PRIMARY KEY (customer_id, field))""")


def m005_field_labels(conn: Connection) -> None:
    """A custom field's label, what people read in place of its name (`crm field edit`)."""
    conn.exec_driver_sql("ALTER TABLE field_def ADD COLUMN label VARCHAR")


def m006_dedupe_keys_fold_names(conn: Connection) -> None:
    """Name + company keys fold names as identity does (spaces, traditional script): rekey."""
    from crmcli.repo.customers import dedupe_key

    rows = conn.exec_driver_sql("SELECT pk, name, company, dedupe_key FROM customer").all()
    changed = [(key, pk) for pk, name, company, old in rows
               if (key := dedupe_key(name, company)) != old]
    if changed:
        conn.exec_driver_sql("UPDATE customer SET dedupe_key = ? WHERE pk = ?", changed)


# --- m007: the search index follows every write ------------------------------------------
# What the index holds (`customer_fts`, rowid = customer.pk): customers' rows, deleted ones
# too (`crm customer list --deleted --search` finds one to restore; lists of live customers
# filter on deleted_at), with their live notes; {end} follows each value (m008 pads them).
_INDEXED = """
SELECT c.pk, c.name{end}, c.company{end}, c.phone{end}, c.email{end}, c.requirement{end},
       (SELECT group_concat(n.body || ' ' || coalesce(n.quote, ''), ' ')
          FROM note n WHERE n.customer_id = c.id AND n.deleted_at IS NULL){end}, c.spelled{end}
  FROM customer c"""
_FILL = "INSERT INTO customer_fts (rowid, name, company, phone, email, requirement, notes, spelled)"
_INDEX_ALL_M007 = _FILL + _INDEXED.format(end="")
_CREATE_INDEX = """CREATE VIRTUAL TABLE customer_fts USING fts5(
    name, company, phone, email, requirement, notes, spelled, tokenize = 'trigram')"""
_DEFERRED = """EXISTS (SELECT 1 FROM meta WHERE "key" = 'search_deferred')"""
# One customer's row brought up to date (the customer whose pk is {pk}), or while a bulk
# load defers the index, the customer listed for it.
_INDEX_ONE = f"""
    DELETE FROM customer_fts WHERE rowid = {{pk}} AND NOT {_DEFERRED};
    {{index_all}} WHERE c.pk = {{pk}} AND NOT {_DEFERRED};
    INSERT OR IGNORE INTO search_dirty (pk) SELECT {{pk}} WHERE {_DEFERRED};"""
_NOTE_CUSTOMER = "(SELECT pk FROM customer WHERE id = {side}.customer_id)"
_SEARCH_TRIGGERS = {
    # a new customer while a bulk load defers the index is indexed with the load's others
    # (`repo.search.deferred`: every pk above the one it began at)
    "customer_fts_insert": f"AFTER INSERT ON customer WHEN NOT {_DEFERRED}",
    "customer_fts_update": """AFTER UPDATE OF name, company, phone, email, requirement,
        spelled ON customer WHEN OLD.name IS NOT NEW.name
        OR OLD.company IS NOT NEW.company OR OLD.phone IS NOT NEW.phone
        OR OLD.email IS NOT NEW.email OR OLD.requirement IS NOT NEW.requirement
        OR OLD.spelled IS NOT NEW.spelled""",
    "customer_fts_delete": "AFTER DELETE ON customer",
    "note_fts_insert": "AFTER INSERT ON note",
    "note_fts_update": """AFTER UPDATE OF body, quote, deleted_at, customer_id ON note
        WHEN OLD.body IS NOT NEW.body OR OLD.quote IS NOT NEW.quote
        OR OLD.deleted_at IS NOT NEW.deleted_at OR OLD.customer_id IS NOT NEW.customer_id""",
    "note_fts_delete": "AFTER DELETE ON note",
}


def _search_trigger(name: str, index_all: str) -> str:
    """The trigger `name`, re-indexing a customer by the statement `index_all`."""
    table, _, event = name.rpartition("_fts_")
    sides = {"insert": ["NEW"], "update": ["NEW", "OLD"], "delete": ["OLD"]}[event]
    if table == "customer":
        pks = [f"{side}.pk" for side in sides[:1]]
    else:
        pks = [_NOTE_CUSTOMER.format(side=side) for side in sides]
    body = "".join(_INDEX_ONE.format(pk=pk, index_all=index_all.strip()) for pk in pks)
    return f"CREATE TRIGGER {name} {_SEARCH_TRIGGERS[name]}\nBEGIN{body}\nEND"


def m007_search_follows_writes(conn: Connection) -> None:
    """The search index follows every write by triggers, and finds names by pinyin.

    Before, each write refreshed the index itself and some forgot (a conflict resolution
    writing a note's quote left the old text searchable). Now triggers on customer and
    note keep a customer's row in `customer_fts` up to date whatever writes them. A bulk
    load defers them (a `search_deferred` row in meta, inside its own transaction: the
    triggers then only list the customers to index in `search_dirty`) and indexes in one
    statement at its end (`repo.search.deferred`).

    `sort_key` (a name in toneless pinyin, indexed: lists sort by it) and `spelled` (the
    simplified form, pinyin and initials search finds a name by) are filled from the name
    on every write (`names.spelled`); the index gains a column for `spelled`.
    """
    from crmcli.names import spelled

    conn.exec_driver_sql("ALTER TABLE customer ADD COLUMN sort_key VARCHAR NOT NULL DEFAULT ''")
    conn.exec_driver_sql("ALTER TABLE customer ADD COLUMN spelled VARCHAR NOT NULL DEFAULT ''")
    names = conn.exec_driver_sql("SELECT pk, name FROM customer").all()
    if names:
        conn.exec_driver_sql(
            "UPDATE customer SET sort_key = ?, spelled = ? WHERE pk = ?",
            [(*spelled(name), pk) for pk, name in names],
        )
    conn.exec_driver_sql("CREATE INDEX ix_customer_sort ON customer (sort_key, name)")
    conn.exec_driver_sql("DROP TABLE customer_fts")
    conn.exec_driver_sql(_CREATE_INDEX)
    conn.exec_driver_sql("CREATE TABLE search_dirty (pk INTEGER NOT NULL PRIMARY KEY)")
    for name in _SEARCH_TRIGGERS:
        conn.exec_driver_sql(_search_trigger(name, _INDEX_ALL_M007))
    conn.exec_driver_sql(_INDEX_ALL_M007)


# --- m008: short queries answered by the index too ---------------------------------------
# Two U+001F (unit separator) end every indexed value: then each character and each pair of
# characters of a value begins one of its trigrams. U+001F is whitespace to Python, so a
# query, stripped, never begins or ends with it and never matches into the padding.
INDEX_ALL = _FILL + _INDEXED.format(end=" || char(31, 31)")


def m008_short_search(conn: Connection) -> None:
    """Queries shorter than a trigram (`zs`, 张三, `伟`) are answered by the index too.

    Before, they scanned every customer and note (a second at a million customers). Now
    every value in `customer_fts` ends in two U+001F characters, so a query of one or two
    characters is in a value exactly when it begins one of the value's trigrams: the
    index's own list of terms (`customer_fts_terms`, an fts5vocab table over it) finds
    them by a range of terms, `repo.search` says how. The index is rebuilt with the
    padding and its triggers re-made to write it.
    """
    for name in _SEARCH_TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER {name}")
    conn.exec_driver_sql("DROP TABLE customer_fts")
    conn.exec_driver_sql(_CREATE_INDEX)
    conn.exec_driver_sql(
        "CREATE VIRTUAL TABLE customer_fts_terms USING fts5vocab(customer_fts, 'instance')")
    for name in _SEARCH_TRIGGERS:
        conn.exec_driver_sql(_search_trigger(name, INDEX_ALL))
    conn.exec_driver_sql(INDEX_ALL)


def m009_notifications(conn: Connection) -> None:
    """The outbox of notifications, the channels they go to and each delivery's state,
    and users' ids on the chat platforms (`models.Notification`…): local, never synced."""
    statements = [
        """CREATE TABLE notification (
    id VARCHAR NOT NULL PRIMARY KEY,
    "key" VARCHAR NOT NULL UNIQUE,
    kind VARCHAR NOT NULL,
    recipient VARCHAR NOT NULL,
    customer_id VARCHAR,
    title VARCHAR NOT NULL,
    body VARCHAR NOT NULL,
    due DATETIME,
    created_at DATETIME NOT NULL,
    routed BOOLEAN NOT NULL DEFAULT 0,
    read_at DATETIME)""",
        "CREATE INDEX ix_notification_inbox ON notification (recipient, created_at)",
        "CREATE INDEX ix_notification_unrouted ON notification (id) WHERE routed = 0",
        """CREATE TABLE channel (
    id VARCHAR NOT NULL PRIMARY KEY,
    kind VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    secret VARCHAR,
    department VARCHAR,
    user VARCHAR,
    created_at DATETIME NOT NULL)""",
        """CREATE TABLE delivery (
    id INTEGER NOT NULL PRIMARY KEY,
    notification_id VARCHAR NOT NULL REFERENCES notification (id) ON DELETE CASCADE,
    channel_id VARCHAR NOT NULL REFERENCES channel (id) ON DELETE CASCADE,
    state VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at DATETIME NOT NULL,
    lease_owner VARCHAR,
    lease_until DATETIME,
    last_error VARCHAR,
    sent_at DATETIME,
    UNIQUE (notification_id, channel_id))""",
        "CREATE INDEX ix_delivery_due ON delivery (next_attempt_at) WHERE state != 'sent'",
        "CREATE INDEX ix_delivery_channel ON delivery (channel_id)",
        """CREATE TABLE platform_id (
    handle VARCHAR NOT NULL,
    platform VARCHAR NOT NULL,
    ident VARCHAR NOT NULL,
    PRIMARY KEY (handle, platform))""",
    ]
    for statement in statements:
        conn.exec_driver_sql(statement)


def m010_team_settings(conn: Connection) -> None:
    """The team settings, a synced record (`models.Setting`)."""
    conn.exec_driver_sql(f"""CREATE TABLE setting (
    id VARCHAR NOT NULL PRIMARY KEY,
    key VARCHAR NOT NULL UNIQUE,
    value JSON,{_SYNCED})""")


def m011_delivery_sent_index(conn: Connection) -> None:
    """What each channel was sent in the last minute, asked by every claim of a run (the
    robots take 20 messages a minute: `deliveries.PER_MINUTE`)."""
    conn.exec_driver_sql("CREATE INDEX ix_delivery_sent ON delivery (channel_id, sent_at)")


def m012_note_direction(conn: Connection) -> None:
    """A note says which way it went: "in" (the customer reached us), "out" (we answered),
    or nothing (internal notes, and every note from before). The SLA clock (`repo/sla.py`)
    asks a customer's newest answer and the oldest contact after it: one index answers both.
    """
    conn.exec_driver_sql("ALTER TABLE note ADD COLUMN direction VARCHAR")
    conn.exec_driver_sql(
        "CREATE INDEX ix_note_direction ON note (customer_id, direction, at) "
        "WHERE direction IS NOT NULL")


def m013_approvals(conn: Connection) -> None:
    """Approvals, a synced record (`models.Approval`)."""
    conn.exec_driver_sql(f"""CREATE TABLE approval (
    id VARCHAR NOT NULL PRIMARY KEY,
    customer_id VARCHAR NOT NULL REFERENCES customer (id),
    kind VARCHAR NOT NULL,
    amount VARCHAR,
    target VARCHAR NOT NULL,
    reason VARCHAR,
    requested_by VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    decided_by VARCHAR,
    decided_at DATETIME,
    decision_reason VARCHAR,{_SYNCED})""")
    conn.exec_driver_sql("CREATE INDEX ix_approval_customer ON approval (customer_id)")


def m014_distinct_pairs(conn: Connection) -> None:
    """Pairs of customers said to be not the same, a synced record (`models.DistinctPair`)."""
    conn.exec_driver_sql(f"""CREATE TABLE distinct_pair (
    id VARCHAR NOT NULL PRIMARY KEY,
    first_id VARCHAR NOT NULL,
    second_id VARCHAR NOT NULL,
    marked_by VARCHAR NOT NULL,
    reason VARCHAR,{_SYNCED})""")
    conn.exec_driver_sql("CREATE INDEX ix_distinct_pair_first_id ON distinct_pair (first_id)")
    conn.exec_driver_sql("CREATE INDEX ix_distinct_pair_second_id ON distinct_pair (second_id)")


MIGRATIONS: list[Callable[[Connection], None]] = [
    m001_initial, m002_sync, m003_field_readers, m004_sensitive_masks, m005_field_labels,
    m006_dedupe_keys_fold_names,
    m007_search_follows_writes, m008_short_search, m009_notifications, m010_team_settings,
    m011_delivery_sent_index, m012_note_direction, m013_approvals, m014_distinct_pairs,
    m015_stage_history, m016_stage_history_folded, m017_workload_indexes,
    m018_sla_scan_in_id_order, m019_sla_waits, m020_sla_waits_with_owner,
]
LATEST = len(MIGRATIONS)


def pending(conn: Connection) -> int:
    return LATEST - conn.exec_driver_sql("PRAGMA user_version").scalar_one()


def migrate(conn: Connection) -> None:
    """Apply the missing steps; call inside a write transaction (BEGIN IMMEDIATE)."""
    current = conn.exec_driver_sql("PRAGMA user_version").scalar_one()
    if current > LATEST:
        from crmcli.errors import UsageError

        raise UsageError(
            f"this database has schema version {current}, newer than this crmcli "
            f"understands ({LATEST}); upgrade crmcli"
        )
    for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
        step(conn)
        conn.exec_driver_sql(f"PRAGMA user_version = {number}")
