"""The shared database as the judge: who acts, what they may write, what they may read.

A team member connects with their own PostgreSQL login. Nothing a client says about who it
is, or when, is taken on trust:

- Identity: `crm_actor()` maps `session_user` to a handle through `crm_member` (filled by
  `crm server member add`). A login that is a member of the team's owner role (the person
  who runs the server, with the owner's URL) acts as `@login`, an admin.
- Roles per team, named after the shared database's id so two teams on one cluster never
  collide (`roles`): `<team>_owner` owns every table and function and nobody logs in as
  it; `<team>_member` is the group every member login is granted. Members hold no table
  privilege but SELECT, on the columns they may read (never the sensitive ones), behind
  row-level security that applies to the owner too (FORCE).
- Writes go through `crm_push`, a SECURITY DEFINER function with its search_path pinned:
  it checks every record against the record permissions before writing anything (judged
  on the shared state before the push), stamps the server's time and the pusher on what
  it writes, and keeps sensitive values out of the audit trail and conflict entries.
  The data dictionary's closed lists are CHECK constraints, so they hold for every writer.
- The audit trail is append-only (a trigger refuses UPDATE, DELETE and TRUNCATE, for the
  owner too), carries the server's time and the login that pushed each event beside the
  client's own time, and is hash-chained (`verify`).
- The writer lock can only be taken by our functions: the advisory-lock functions are
  revoked from PUBLIC in the team's database.
- A deactivated member's login is made NOLOGIN and their sessions are ended by a trigger,
  whoever deactivates them (`crm server member deactivate`, or an admin's push).

`secure(conn)` (re)applies roles, ownership, privileges and policies; `crm server init`
runs it every time, so it also upgrades a team database made by an earlier version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crmcli.sync.judge_chain import HASHED
from crmcli.sync.judge_writes import shared_columns
from crmcli.sync.tables import SENSITIVE

TABLES = (
    "users", "field_def", "field_reader", "setting", "customer", "note", "attachment", "task",
    "assignment", "approval", "distinct_pair", "conflict", "audit_event", "attachment_blob",
)
# What a member reads of each table (their read policy): everything, unless the team set
# `visibility = own` (`crm server set visibility own`): then the customers they own or
# hold a role on (`crm_sees`; managers and admins see all) and what belongs to them.
# The setting is read once per query, `(SELECT crm_visibility_own())`: called bare, the
# function (not inlined: it carries its own search_path) ran for every row a pull reads,
# 1.6 s of the 2.5 s PostgreSQL spent sending a fresh replica 196,000 events.
_OF_CUSTOMERS_SEEN = "customer_id IN (SELECT id FROM customer)"
_ALL = "NOT (SELECT crm_visibility_own())"
VISIBLE = {
    "customer": f"{_ALL} OR crm_sees(id, owner)",
    "note": f"{_ALL} OR {_OF_CUSTOMERS_SEEN}",
    "task": f"{_ALL} OR {_OF_CUSTOMERS_SEEN}",
    "assignment": f"{_ALL} OR {_OF_CUSTOMERS_SEEN}",
    "approval": f"{_ALL} OR {_OF_CUSTOMERS_SEEN}",
    # a "not the same" mark: when both of its customers are seen
    "distinct_pair": f"{_ALL} OR (first_id IN (SELECT id FROM customer) "
                     "AND second_id IN (SELECT id FROM customer))",
    "attachment": f"{_ALL} OR note_id IN (SELECT id FROM note)",
    "attachment_blob": f"{_ALL} OR sha256 IN (SELECT sha256 FROM attachment)",
    "conflict": f"{_ALL} OR customer_id IS NULL OR {_OF_CUSTOMERS_SEEN}",
    "audit_event": f"{_ALL} OR customer_id IS NULL OR {_OF_CUSTOMERS_SEEN}",
}
SETTINGS = {  # what `crm server set` changes, and what each accepts
    "visibility": ("all", "own"),
    "max_text": int,
    "max_attachment_bytes": int,
}
# A smaller max_text would refuse the team's own records and their audit events (an id
# alone is 36 characters); no value PostgreSQL stores is larger than 1 GB.
SMALLEST_MAX_TEXT = 1000
LARGEST_LIMIT = 2**30 - 1
FUNCTIONS = (  # what members may call
    "crm_actor()", "crm_head()",
    "crm_push(bigint, jsonb, jsonb, jsonb, text[], bytea[])",
    "crm_reveal(text, text[])",
    "crm_masks(text[])",
    "crm_unreadable()",
    "crm_visibility_own()", "crm_sees(text, text)",  # the read policies call them
    "crm_route_take(text, integer)",  # round-robin turns (`judge_route.py`)
)
ADVISORY_LOCKS = (
    "pg_advisory_lock(bigint)", "pg_advisory_lock(integer, integer)",
    "pg_advisory_xact_lock(bigint)", "pg_advisory_xact_lock(integer, integer)",
    "pg_try_advisory_lock(bigint)", "pg_try_advisory_lock(integer, integer)",
    "pg_try_advisory_xact_lock(bigint)", "pg_try_advisory_xact_lock(integer, integer)",
    "pg_advisory_lock_shared(bigint)", "pg_advisory_lock_shared(integer, integer)",
    "pg_advisory_xact_lock_shared(bigint)", "pg_advisory_xact_lock_shared(integer, integer)",
    "pg_try_advisory_lock_shared(bigint)", "pg_try_advisory_lock_shared(integer, integer)",
    "pg_try_advisory_xact_lock_shared(bigint)",
    "pg_try_advisory_xact_lock_shared(integer, integer)",
)
# Defaults a member login gets (a member may lower them for a session; our functions
# set their own lock timeout, so a push never waits long for another).
MEMBER_SETTINGS = {
    "statement_timeout": "120s", "lock_timeout": "30s",
    "idle_in_transaction_session_timeout": "60s",
}

# -- Roles, ownership, privileges and policies: (re)applied by every `crm server init`.

def roles(server_id: str) -> tuple[str, str]:
    """The team's owner role and member group role, named after its shared database."""
    key = "".join(ch for ch in server_id.lower() if ch.isalnum())[-12:]
    return f"crm_{key}_owner", f"crm_{key}_member"


def _role_exists(conn: Any, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is not None


def secure(conn: Any) -> tuple[str, str]:
    """Apply the security model to the shared database (idempotent, inside `init`'s
    transaction). Needs a login that may create roles: a superuser, or one with CREATEROLE
    that may grant pg_signal_backend and pg_read_all_stats (the owner role ends a session
    that sits on the team's lock, `judge_lock.py`)."""
    from psycopg import sql

    # GRANT/REVOKE on the catalog's functions from two teams at once would collide.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('crmcli-secure'))")
    schema, server_id, superuser = conn.execute(
        "SELECT current_schema(), server_id, "
        "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) FROM crm_server"
    ).fetchone()
    owner, member = roles(server_id)
    run = conn.execute
    if not _role_exists(conn, owner):
        run(sql.SQL("CREATE ROLE {} NOLOGIN CREATEROLE").format(sql.Identifier(owner)))
    if not _role_exists(conn, member):
        run(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(member)))
    o, m, s = sql.Identifier(owner), sql.Identifier(member), sql.Identifier(schema)
    if not superuser:
        run(sql.SQL("GRANT {} TO CURRENT_USER").format(o))
    run(sql.SQL("GRANT pg_signal_backend, pg_read_all_stats TO {}").format(o))
    run("UPDATE crm_server SET owner_role = %s, member_role = %s", (owner, member))
    if schema != "public":  # a team's own schema belongs to its owner role too
        run(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(s, o))
    run(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(s))
    run(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}, {}").format(s, o, m))
    objects = run(
        "SELECT c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = %s::regnamespace "
        "AND c.relkind IN ('r', 'S')", (schema,)
    ).fetchall()
    for name, kind in objects:
        what = sql.SQL("SEQUENCE" if kind == "S" else "TABLE")
        run(sql.SQL("ALTER {} {} OWNER TO {}").format(what, sql.Identifier(name), o))
        run(sql.SQL("REVOKE ALL ON {} {} FROM PUBLIC").format(what, sql.Identifier(name)))
    run(sql.SQL("ALTER TYPE crm_who OWNER TO {}").format(o))
    functions = run(
        "SELECT p.oid::regprocedure::text, p.prokind = 'a' FROM pg_proc p "
        "WHERE p.pronamespace = %s::regnamespace AND p.proname LIKE 'crm\\_%%'", (schema,)
    ).fetchall()
    for signature, aggregate in functions:
        function = sql.SQL(signature)  # regprocedure text: already quoted as needed
        run(sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(function, o))
        if not aggregate:  # (an aggregate runs its step function, which has its own)
            run(sql.SQL("ALTER FUNCTION {} SET search_path = {}, pg_temp").format(function, s))
        run(sql.SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC").format(function))
    # (a database made by an earlier schema version, as the upgrade tests make, lacks
    # what later versions added: it gets what it has)
    for signature in FUNCTIONS:
        if run("SELECT to_regprocedure(%s)", (signature,)).fetchone()[0] is not None:
            run(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(signature), m))
    tables = {name for name, kind in objects if kind == "r"}
    for table in (table for table in TABLES if table in tables):
        name = sql.Identifier(table)
        run(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(name))
        run(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(name))
        run(sql.SQL("DROP POLICY IF EXISTS crm_owner ON {}").format(name))
        run(sql.SQL("DROP POLICY IF EXISTS crm_member_reads ON {}").format(name))
        run(sql.SQL("CREATE POLICY crm_owner ON {} TO {} USING (true) WITH CHECK (true)")
            .format(name, o))
        run(sql.SQL("CREATE POLICY crm_member_reads ON {} FOR SELECT TO {} USING ({})")
            .format(name, m, sql.SQL(VISIBLE.get(table, "true"))))
        if table != "customer":
            run(sql.SQL("GRANT SELECT ON {} TO {}").format(name, m))
    readable = [name for name in shared_columns("customer") if name not in SENSITIVE]
    run(sql.SQL("GRANT SELECT ({}, server_seq) ON customer TO {}").format(
        sql.SQL(", ").join(map(sql.Identifier, readable)), m))
    for table in ("crm_server", "attachment_blob"):
        run(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(table), m))
    for signature in ADVISORY_LOCKS:
        function = sql.SQL("pg_catalog." + signature)
        run(sql.SQL("REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC").format(function))
        run(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(function, o))
    return owner, member


# -- The audit trail's chain, checked from outside the database's own functions.

# The same hash `crm_event_hash` stores, written out here so that replacing that function
# cannot make a changed trail look intact.
_EXPECTED = f"""encode(sha256(convert_to(jsonb_build_array(
    prev_hash, {", ".join(HASHED)})::text, 'UTF8')), 'hex')"""


@dataclass(frozen=True)
class Verdict:
    events: int  # how many events the chain holds
    head: str | None  # the newest hash: keep it somewhere else to anchor the chain
    broken_at: str | None  # the event named as changed, or after a removed one (None: intact)
    why: str | None


def verify(conn: Any) -> Verdict:
    """Walk the whole audit trail in arrival order and check every event: its hash is the
    hash of its contents, and it links to the hash of the event before it.

    An event whose hash does not match its contents was changed: it is the one named,
    wherever it stands now (an UPDATE also gives it a new server_seq, moving it to the end
    of the chain, which breaks the link of the intact event after its old place). Only
    when every event matches its own hash is the first broken link named: the event after
    one removed, or after one changed whose hash was forged to match."""
    query = f"""
        SELECT id, hash, prev_hash, {_EXPECTED} AS expected,
               lag(hash) OVER (ORDER BY server_seq) AS previous
        FROM audit_event ORDER BY server_seq"""
    count, head = 0, None
    changed = unlinked = None  # the first event of each kind
    with conn.transaction(), conn.cursor(name="crm_audit_verify") as cursor:
        cursor.execute(query)
        for event_id, stored, prev_hash, expected, previous in cursor:
            count, head = count + 1, stored
            if changed is None and stored != expected:
                changed = event_id
            if unlinked is None and prev_hash != previous:
                unlinked = event_id
    if changed is not None:
        return Verdict(count, head, changed, "its contents or its hash were changed")
    if unlinked is not None:
        return Verdict(count, head, unlinked, "an event before it was removed or changed")
    return Verdict(count, head, None, None)


def change_setting(conn: Any, key: str, value: str) -> Any:
    """Set one of the team's settings (`SETTINGS`) with the owner's connection; returns the
    value stored. Changing the visibility tells every replica to compare what it holds
    with what it may see (the view epoch)."""
    from psycopg.types.json import Jsonb

    from crmcli.errors import Invalid

    if key not in SETTINGS:
        raise Invalid(f"{key!r} is not a team setting (those are {', '.join(SETTINGS)})", "key")
    accepted = SETTINGS[key]
    if isinstance(accepted, tuple):
        if value not in accepted:
            raise Invalid(f"{value!r}: one of {', '.join(accepted)}", key)
        stored: Any = value
    else:
        if not (value.isascii() and value.isdigit()):
            raise Invalid(f"{value!r} is not a whole number", key)
        stored = int(value)
        lowest = SMALLEST_MAX_TEXT if key == "max_text" else 1
        if not lowest <= stored <= LARGEST_LIMIT:
            raise Invalid(f"must be from {lowest} to {LARGEST_LIMIT}, not {stored}", key)
    with conn.transaction():
        conn.execute(
            "UPDATE crm_server SET settings = settings || jsonb_build_object(%s::text, %s::jsonb)",
            (key, Jsonb(stored)),
        )
        if key == "visibility":
            conn.execute("UPDATE crm_server SET view_epoch = view_epoch + 1")
    return stored
