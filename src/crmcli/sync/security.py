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

from crmcli import fields
from crmcli.repo.entities import MODELS
from crmcli.repo.sensitive import DEFAULT_READERS
from crmcli.sync.tables import LOCAL_ONLY, SENSITIVE

TABLES = (
    "users", "field_def", "field_reader", "customer", "note", "attachment", "task",
    "assignment", "conflict", "audit_event", "attachment_blob",
)
# What a member reads of each table (their read policy): everything, unless the team set
# `visibility = own` (`crm server set visibility own`): then the customers they own or
# hold a role on (`crm_sees`; managers and admins see all) and what belongs to them.
_OF_CUSTOMERS_SEEN = "customer_id IN (SELECT id FROM customer)"
VISIBLE = {
    "customer": "NOT crm_visibility_own() OR crm_sees(id, owner)",
    "note": f"NOT crm_visibility_own() OR {_OF_CUSTOMERS_SEEN}",
    "task": f"NOT crm_visibility_own() OR {_OF_CUSTOMERS_SEEN}",
    "assignment": f"NOT crm_visibility_own() OR {_OF_CUSTOMERS_SEEN}",
    "attachment": "NOT crm_visibility_own() OR note_id IN (SELECT id FROM note)",
    "attachment_blob": "NOT crm_visibility_own() OR sha256 IN (SELECT sha256 FROM attachment)",
    "conflict": f"NOT crm_visibility_own() OR customer_id IS NULL OR {_OF_CUSTOMERS_SEEN}",
    "audit_event": f"NOT crm_visibility_own() OR customer_id IS NULL OR {_OF_CUSTOMERS_SEEN}",
}
SETTINGS = {  # what `crm server set` changes, and what each accepts
    "visibility": ("all", "own"),
    "max_text": int,
    "max_attachment_bytes": int,
}
FUNCTIONS = (  # what members may call
    "crm_actor()", "crm_head()",
    "crm_push(bigint, jsonb, jsonb, jsonb, text[], bytea[])",
    "crm_reveal(text, text[])",
    "crm_visibility_own()", "crm_sees(text, text)",  # the read policies call them
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
DEFAULT_LIMITS = {"max_text": 20_000, "max_attachment_bytes": 25 * 1024 * 1024}


def _json_object(values: dict) -> str:
    import json

    return json.dumps(values).replace("'", "''")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + ")"


UTC_TEXT = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')"""

V3 = f"""
ALTER TABLE crm_server
    ADD COLUMN owner_role text,
    ADD COLUMN member_role text,
    ADD COLUMN settings jsonb NOT NULL DEFAULT '{{}}';

CREATE TABLE crm_member (
    login text PRIMARY KEY,
    handle text NOT NULL UNIQUE
);

CREATE TYPE crm_who AS (handle text, role text, department text, active boolean);

-- Who reads the sensitive fields (`crm field access`): a synced record like the others.
CREATE TABLE field_reader (
    id text PRIMARY KEY,
    field text NOT NULL,
    reader text NOT NULL,
    granted boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version integer NOT NULL,
    deleted_at timestamptz,
    server_seq bigint NOT NULL
);
CREATE UNIQUE INDEX field_reader_server_seq ON field_reader (server_seq);
CREATE TRIGGER field_reader_lock BEFORE INSERT OR UPDATE ON field_reader
    FOR EACH STATEMENT EXECUTE FUNCTION crm_lock();
CREATE TRIGGER field_reader_stamp BEFORE INSERT OR UPDATE ON field_reader
    FOR EACH ROW EXECUTE FUNCTION crm_stamp();
CREATE TRIGGER field_reader_narrow AFTER DELETE ON field_reader
    FOR EACH STATEMENT EXECUTE FUNCTION crm_narrow_view();

-- The data dictionary's closed lists hold for every writer (rows from before stay).
ALTER TABLE customer ADD CONSTRAINT customer_stage_is_known
    CHECK (stage IN {_in(fields.STAGES)}) NOT VALID;
ALTER TABLE customer ADD CONSTRAINT customer_level_is_known
    CHECK (level IS NULL OR level IN {_in(fields.LEVELS)}) NOT VALID;
ALTER TABLE customer ADD CONSTRAINT customer_name_is_given
    CHECK (btrim(name) <> '') NOT VALID;
ALTER TABLE customer ADD CONSTRAINT customer_contract_amount_is_not_negative
    CHECK (contract_amount IS NULL OR contract_amount >= 0) NOT VALID;
ALTER TABLE note ADD CONSTRAINT note_kind_is_known
    CHECK (kind IN {_in(fields.NOTE_KINDS)}) NOT VALID;
ALTER TABLE task ADD CONSTRAINT task_priority_is_known
    CHECK (priority IN {_in(fields.PRIORITIES)}) NOT VALID;
ALTER TABLE task ADD CONSTRAINT task_status_is_known
    CHECK (status IN {_in(fields.TASK_STATUSES)}) NOT VALID;
ALTER TABLE assignment ADD CONSTRAINT assignment_role_is_known
    CHECK (role IN {_in(fields.ROLES)}) NOT VALID;
ALTER TABLE users ADD CONSTRAINT users_role_is_known
    CHECK (role IN {_in(fields.USER_ROLES)}) NOT VALID;

-- The audit trail: server time and login beside the client's, and a hash chain.
ALTER TABLE audit_event
    ADD COLUMN server_at timestamptz,
    ADD COLUMN login text,
    ADD COLUMN prev_hash text,
    ADD COLUMN hash text;

CREATE FUNCTION crm_event_hash(e audit_event) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(jsonb_build_array(
        e.prev_hash, e.id, {UTC_TEXT.format("e.at")}, e.actor, e.action, e.entity,
        e.entity_id, e.customer_id, e.changes, e.detail, {UTC_TEXT.format("e.server_at")},
        e.login, e.server_seq
    )::text, 'UTF8')), 'hex')
$$;

CREATE FUNCTION crm_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.server_at := now();
    NEW.login := session_user;
    NEW.prev_hash := (SELECT hash FROM audit_event ORDER BY server_seq DESC LIMIT 1);
    NEW.hash := crm_event_hash(NEW);
    RETURN NEW;
END $$;

-- Events from before: chained as they stand, in the order they arrived.
ALTER TABLE audit_event DISABLE TRIGGER audit_event_stamp;
ALTER TABLE audit_event DISABLE TRIGGER audit_event_lock;
DO $$
DECLARE
    event audit_event;
    previous text;
BEGIN
    FOR event IN SELECT * FROM audit_event ORDER BY server_seq LOOP
        event.prev_hash := previous;
        previous := crm_event_hash(event);
        UPDATE audit_event SET prev_hash = event.prev_hash, hash = previous
            WHERE id = event.id;
    END LOOP;
END $$;
ALTER TABLE audit_event ENABLE TRIGGER audit_event_stamp;
ALTER TABLE audit_event ENABLE TRIGGER audit_event_lock;

-- Named to fire after audit_event_stamp (triggers fire in name order): the chain needs
-- the event's server_seq.
CREATE TRIGGER audit_event_zchain BEFORE INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION crm_chain();

CREATE FUNCTION crm_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
        USING ERRCODE = '42501';
END $$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION crm_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION crm_append_only();

-- Who is acting: the login, never a value the client sends.
CREATE FUNCTION crm_actor() RETURNS crm_who
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
    who crm_who;
BEGIN
    SELECT u.handle, u.role, u.department, u.active INTO who
        FROM crm_member m JOIN users u ON u.handle = m.handle
        WHERE m.login = session_user AND u.deleted_at IS NULL;
    IF FOUND THEN
        RETURN who;
    END IF;
    IF pg_has_role(session_user, (SELECT owner_role FROM crm_server), 'MEMBER') THEN
        RETURN ROW('@' || session_user, 'admin', NULL, true)::crm_who;
    END IF;
    RAISE EXCEPTION 'the login % is not a member of this team (the server''s owner adds '
        'members with `crm server member add`)', session_user USING ERRCODE = '42501';
END $$;

-- Where the change numbering stands: it moves with every write (even one rolled back), so
-- the same number later, taken under the writer lock, means nothing was written since. It
-- reads no table, so it waits for no one.
CREATE FUNCTION crm_head() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT last_value FROM crm_change_seq
$$;

CREATE FUNCTION crm_limit(name text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT (settings ->> name)::bigint FROM crm_server),
                    ('{_json_object(DEFAULT_LIMITS)}'::jsonb ->> name)::bigint)
$$;

-- The record permissions (the same rules as crmcli.permissions).
CREATE FUNCTION crm_may_change(who crm_who, c customer) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT who.role = 'admin' OR c.owner IS NULL OR c.owner = who.handle
        OR EXISTS (SELECT 1 FROM assignment a WHERE a.customer_id = c.id
                   AND a."user" = who.handle AND a.until IS NULL AND a.deleted_at IS NULL)
        OR (who.role = 'manager' AND who.department IS NOT NULL
            AND who.department = (SELECT u.department FROM users u WHERE u.handle = c.owner))
$$;

CREATE FUNCTION crm_may_delete(who crm_who, c customer) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT who.role = 'admin' OR (who.role = 'manager' AND (c.owner IS NULL OR (
        who.department IS NOT NULL
        AND who.department = (SELECT u.department FROM users u WHERE u.handle = c.owner))))
$$;

CREATE FUNCTION crm_refuse(who crm_who, what text, rule text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% may not %: %', who.handle, what, rule USING ERRCODE = '42501';
END $$;

-- The fields whose values differ between two versions of a record, bookkeeping aside;
-- a sensitive value a replica does not hold (NULL) is no change.
CREATE FUNCTION crm_changed(old jsonb, new jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(key ORDER BY key), '{{}}') FROM jsonb_each(new)
    WHERE key NOT IN ('version', 'updated_at', 'updated_by', 'created_at', 'server_seq')
      AND NOT (key IN {_in(SENSITIVE)} AND value = 'null')
      AND value IS DISTINCT FROM old -> key
$$;

-- Sensitive values never reach an event's changes or a conflict entry.
CREATE FUNCTION crm_scrub(value jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(value) = 'object' THEN (
        SELECT coalesce(jsonb_object_agg(key, CASE
            WHEN key IN {_in(SENSITIVE)} AND jsonb_typeof(item) = 'array' THEN (
                SELECT jsonb_agg(CASE WHEN x = 'null' THEN x ELSE '"restricted"' END)
                FROM jsonb_array_elements(item) x)
            WHEN key IN {_in(SENSITIVE)} AND item <> 'null' THEN '"restricted"'
            ELSE item END), '{{}}')
        FROM jsonb_each(value) AS e(key, item))
    ELSE value END
$$;
"""


# -- Writing a pushed record: checked first (all of them, against the state before the
# push), then written with the server's stamps. One pair of functions per table, made
# from its columns.

TABLE_OF = {
    "user": "users", "field_def": "field_def", "field_reader": "field_reader",
    "customer": "customer", "note": "note",
    "attachment": "attachment", "task": "task", "assignment": "assignment",
    "conflict": "conflict",
}
ORDER = tuple(TABLE_OF)  # a record's parent first
BOOKKEEPING = "ARRAY['version', 'updated_at', 'updated_by', 'created_at', 'server_seq']"

# What each kind of record asks of the pusher when it changes (`old` is the shared row as
# jsonb before the push, `changed` the fields the push changes, `item` the pushed row).
RULES = {
    "user": """
        IF who.role <> 'admin' THEN
            PERFORM crm_refuse(who, 'change users', 'only an admin adds, changes or deactivates users');
        END IF;""",
    "field_def": """
        IF old IS NULL AND item ->> 'deleted_at' IS NOT NULL THEN
            RETURN;  -- declared by someone not entitled: it arrives deleted, in a conflict
        END IF;
        IF who.role NOT IN ('admin', 'manager') THEN
            PERFORM crm_refuse(who, 'declare or change custom fields',
                'only an admin or a manager declares custom fields');
        END IF;""",
    "field_reader": """
        IF who.role <> 'admin' THEN
            PERFORM crm_refuse(who, 'change who reads sensitive fields', 'only an admin does');
        END IF;
        IF NOT (item ->> 'field') = ANY(ARRAY['contract_amount', 'id_number', 'bank_account']) THEN
            RAISE EXCEPTION 'a custom field cannot be sensitive on a team yet (its values '
                'would reach every replica)' USING ERRCODE = '22023';
        END IF;""",
    "customer": """
        IF old IS NULL THEN
            PERFORM crm_require_readers(who, changed);
            RETURN;
        END IF;
        IF changed && ARRAY['deleted_at', 'merged_into'] THEN
            PERFORM crm_require(who, old ->> 'id', 'delete');
        END IF;
        IF NOT changed <@ ARRAY['deleted_at', 'merged_into'] THEN
            PERFORM crm_require(who, old ->> 'id', 'change');
        END IF;
        PERFORM crm_require_readers(who, changed);""",
    "note": """
        IF old IS NULL THEN
            PERFORM crm_require_sees(who, item ->> 'customer_id', adding);
            RETURN;
        END IF;
        IF old ->> 'author' = who.handle THEN RETURN; END IF;
        PERFORM crm_require(who, old ->> 'customer_id', 'change');""",
    "attachment": """
        IF (item ->> 'size')::bigint > crm_limit('max_attachment_bytes') THEN
            RAISE EXCEPTION 'an attachment is larger than % bytes (the team''s max_attachment_bytes)',
                crm_limit('max_attachment_bytes') USING ERRCODE = '22001';
        END IF;
        IF old IS NULL THEN RETURN; END IF;
        PERFORM crm_require(who, (SELECT n.customer_id FROM note n WHERE n.id = old ->> 'note_id'),
            'change');""",
    "task": """
        IF old IS NULL THEN
            PERFORM crm_require_sees(who, item ->> 'customer_id', adding);
            RETURN;
        END IF;
        IF who.handle IN (old ->> 'assignee', old ->> 'created_by') THEN RETURN; END IF;
        PERFORM crm_require(who, old ->> 'customer_id', 'change');""",
    "assignment": """
        IF old IS NULL THEN
            -- a role on a customer this push creates, or one that arrives ended (a
            -- hand-over kept in a conflict entry), gives nobody anything
            IF adding ? (item ->> 'customer_id') OR (item ->> 'until') IS NOT NULL THEN
                RETURN;
            END IF;
            PERFORM crm_require(who, item ->> 'customer_id', 'change');
            RETURN;
        END IF;
        IF changed <@ ARRAY['acknowledged_at'] AND old ->> 'user' = who.handle THEN RETURN; END IF;
        PERFORM crm_require(who, old ->> 'customer_id', 'change');""",
    "conflict": "",  # the record a resolution writes is checked as that record
}

# Who wrote a new record is the pusher (an admin may push what others wrote: imports,
# work done with --as on a local database before it was linked).
AUTHORS = {
    "customer": ("created_by",), "note": ("author",), "task": ("created_by",),
    "assignment": ("assigned_by",),
}


def _columns(entity: str) -> tuple[str, ...]:
    """The columns of the shared table (the sensitive ones included)."""
    return tuple(
        c.name for c in MODELS[entity].__table__.columns if c.name not in LOCAL_ONLY
    )


def _check_function(entity: str) -> str:
    table = TABLE_OF[entity]
    return f"""
CREATE FUNCTION crm_check_{entity}(who crm_who, item jsonb, adding jsonb, max_text bigint)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    old jsonb := (SELECT to_jsonb(t) FROM {table} t WHERE t.id = item ->> 'id');
    new jsonb := to_jsonb(jsonb_populate_record(NULL::{table}, item));
    changed text[];
BEGIN
    PERFORM crm_check_sizes(item, max_text);
    IF old - {BOOKKEEPING} = new - {BOOKKEEPING} THEN
        RETURN;  -- written back as it is
    END IF;
    changed := crm_changed(old, new);
    IF old IS NOT NULL AND cardinality(changed) = 0 THEN RETURN; END IF;{RULES[entity]}
END $$;
"""


def _write_function(entity: str) -> str:
    table = TABLE_OF[entity]
    columns = _columns(entity)
    quoted = [f'"{name}"' for name in columns]
    stamps = ["new.created_at := old.created_at;"]
    created = ["new.created_at := least(new.created_at, now());"]
    if "updated_by" in columns:
        stamps.append("new.created_by := old.created_by;")
        stamps.append("new.updated_by := CASE WHEN moved THEN who.handle ELSE old.updated_by END;")
        created.append("new.updated_by := who.handle;")
    for name in AUTHORS.get(entity, ()):
        created.append(f"IF who.role <> 'admin' THEN new.{name} := who.handle; END IF;")
    kept = ""
    if entity == "customer":  # a sensitive value a replica does not hold (NULL) stays
        kept = " ".join(f"new.{name} := coalesce(new.{name}, old.{name});" for name in SENSITIVE)
    if entity == "conflict":
        created += [
            "new.base := crm_scrub_entry(new.field, new.base);",
            "new.mine := crm_scrub_entry(new.field, new.mine);",
            "new.theirs := crm_scrub_entry(new.field, new.theirs);",
        ]
        stamps += created[-3:]
    bookkeeping = BOOKKEEPING
    return f"""
CREATE FUNCTION crm_write_{entity}(who crm_who, item jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    new {table} := jsonb_populate_record(NULL::{table}, item);
    old {table};
    moved boolean;
BEGIN
    SELECT * INTO old FROM {table} WHERE id = new.id;
    IF FOUND THEN
        {kept}
        moved := (to_jsonb(new) - {bookkeeping}) IS DISTINCT FROM (to_jsonb(old) - {bookkeeping});
        {chr(10).join('        ' + line for line in stamps).strip()}
        new.updated_at := CASE WHEN moved THEN now() ELSE old.updated_at END;
        new.deleted_at := CASE WHEN new.deleted_at IS NULL THEN NULL
                               ELSE coalesce(old.deleted_at, now()) END;
    ELSE
        {chr(10).join('        ' + line for line in created).strip()}
        new.updated_at := now();
        new.deleted_at := CASE WHEN new.deleted_at IS NULL THEN NULL ELSE now() END;
    END IF;
    IF old.id IS NOT NULL THEN
        UPDATE {table} SET ({", ".join(q for q in quoted if q != '"id"')})
            = ROW({", ".join("new." + q for q in quoted if q != '"id"')}) WHERE id = new.id;
    ELSE
        INSERT INTO {table} ({", ".join(quoted)}) VALUES ({", ".join("new." + q for q in quoted)});
    END IF;
END $$;
"""


def _push_function() -> str:
    checks = "\n".join(
        f"""        FOR item IN SELECT * FROM jsonb_array_elements(coalesce(writes -> '{entity}', '[]')) LOOP
            what := '{entity} ' || (item ->> 'id');
            PERFORM crm_check_{entity}(who, item, adding, max_text);
        END LOOP;"""
        for entity in ORDER
    )
    writes = "\n".join(
        f"""        FOR item IN SELECT * FROM jsonb_array_elements(coalesce(writes -> '{entity}', '[]')) LOOP
            what := '{entity} ' || (item ->> 'id');
            PERFORM crm_write_{entity}(who, item);
        END LOOP;"""
        for entity in ORDER
    )
    return f"""
CREATE FUNCTION crm_push(
    head bigint, events jsonb, writes jsonb, entries jsonb, digests text[], contents bytea[]
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET lock_timeout = '30s' AS $$
DECLARE
    who crm_who := crm_actor();
    what text := 'the push';
    item jsonb;
    adding jsonb;
    max_text bigint := crm_limit('max_text');
    hint text;
BEGIN
    IF NOT who.active THEN
        RAISE EXCEPTION '% is deactivated in the shared database', who.handle
            USING ERRCODE = '42501';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('crmcli:' || current_schema()));
    IF head IS NOT NULL AND crm_head() <> head THEN
        RAISE EXCEPTION 'the shared database changed while this push was prepared'
            USING ERRCODE = '40001';
    END IF;
    adding := coalesce((  -- the customers this push creates, as a set (an object keyed by id)
        SELECT jsonb_object_agg(x ->> 'id', true)
        FROM jsonb_array_elements(coalesce(writes -> 'customer', '[]')) x
        WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = x ->> 'id')), '{{}}');
    BEGIN
{checks}
        what := 'the changes';
        PERFORM crm_write_events(who, events, max_text);
{writes}
        FOR item IN SELECT * FROM jsonb_array_elements(entries) LOOP
            what := 'conflict ' || (item ->> 'id');
            IF NOT EXISTS (SELECT 1 FROM conflict WHERE id = item ->> 'id') THEN
                PERFORM crm_write_conflict(who, item);
            END IF;
        END LOOP;
        FOR i IN 1 .. coalesce(array_length(digests, 1), 0) LOOP
            what := 'attachment content ' || digests[i];
            IF octet_length(contents[i]) > crm_limit('max_attachment_bytes') THEN
                RAISE EXCEPTION 'an attachment is larger than % bytes', crm_limit('max_attachment_bytes')
                    USING ERRCODE = '22001';
            END IF;
            INSERT INTO attachment_blob (sha256, content) VALUES (digests[i], contents[i])
                ON CONFLICT (sha256) DO NOTHING;
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
        RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = SQLERRM,
            HINT = coalesce(nullif(hint, ''), what);
    END;
    RETURN crm_head();
END $$;
"""


V3_FUNCTIONS = r"""
CREATE FUNCTION crm_check_sizes(item jsonb, max_text bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    longest text;
BEGIN
    IF octet_length(item::text) <= max_text THEN
        RETURN;  -- no value can be longer than the whole row
    END IF;
    longest := (SELECT key FROM jsonb_each_text(item) WHERE length(value) > max_text LIMIT 1);
    IF longest IS NOT NULL THEN
        RAISE EXCEPTION '% is longer than % characters (the team''s max_text)',
            longest, max_text USING ERRCODE = '22001';
    END IF;
END $$;

-- Visibility: with the team setting `visibility = own`, a member sees only the customers
-- they own or hold a role on (managers and admins see all); the read policies use it.
CREATE FUNCTION crm_visibility_own() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT settings ->> 'visibility' FROM crm_server), 'all') = 'own'
$$;

CREATE FUNCTION crm_sees(customer_id text, owner text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT EXISTS (
        SELECT 1 FROM crm_member m JOIN users u ON u.handle = m.handle
        WHERE m.login = session_user AND (
            u.role IN ('admin', 'manager') OR u.handle = owner
            OR EXISTS (SELECT 1 FROM assignment a WHERE a.customer_id = crm_sees.customer_id
                       AND a."user" = u.handle AND a.until IS NULL AND a.deleted_at IS NULL)))
$$;

CREATE FUNCTION crm_require_sees(who crm_who, customer_id text, adding jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF who.role IN ('admin', 'manager') OR NOT crm_visibility_own() OR adding ? customer_id THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = customer_id AND (c.owner = who.handle
            OR EXISTS (SELECT 1 FROM assignment a WHERE a.customer_id = c.id
                       AND a."user" = who.handle AND a.until IS NULL AND a.deleted_at IS NULL))) THEN
        PERFORM crm_refuse(who, 'add to customer ' || right(customer_id, 8),
            'with visibility = own, members add notes and tasks to the customers they own or hold a role on');
    END IF;
END $$;

-- A change that can take a customer out of someone's view, or bring one into it, tells
-- replicas to compare what they hold with what they see.
CREATE FUNCTION crm_narrow_if_own() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF crm_visibility_own() THEN
        UPDATE crm_server SET view_epoch = view_epoch + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER customer_owner_narrows AFTER UPDATE OF owner ON customer
    FOR EACH STATEMENT EXECUTE FUNCTION crm_narrow_if_own();
CREATE TRIGGER assignment_end_narrows AFTER UPDATE OF until, deleted_at ON assignment
    FOR EACH STATEMENT EXECUTE FUNCTION crm_narrow_if_own();
CREATE TRIGGER assignment_start_widens AFTER INSERT ON assignment
    FOR EACH STATEMENT EXECUTE FUNCTION crm_narrow_if_own();

-- Refuse unless `who` may `change` (fields) or `delete` (delete, merge, restore) the customer.
CREATE FUNCTION crm_require(who crm_who, customer_id text, what text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    c customer;
    dept text;
BEGIN
    IF who.role = 'admin' THEN
        RETURN;  -- admins may change and delete every customer
    END IF;
    c := (SELECT x FROM customer x WHERE x.id = customer_id);
    dept := (SELECT u.department FROM users u WHERE u.handle = c.owner);
    IF c.id IS NULL THEN
        RETURN;
    END IF;
    IF what = 'change' AND NOT crm_may_change(who, c) THEN
        PERFORM crm_refuse(who, format('change customer %s (%s)', right(c.id, 8), c.name),
            format('its fields are changed by its owner (%s), its role holders, managers of %s and admins',
                   coalesce(c.owner, 'nobody'), coalesce(dept, 'its owner''s department')));
    ELSIF what = 'delete' AND NOT crm_may_delete(who, c) THEN
        PERFORM crm_refuse(who, format('delete or merge customer %s (%s)', right(c.id, 8), c.name),
            format('only managers of %s and admins delete or merge it',
                   coalesce(dept, 'its owner''s department')));
    END IF;
END $$;

CREATE FUNCTION crm_scrub_entry(field text, value jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN field = ANY(ARRAY['contract_amount', 'id_number', 'bank_account'])
             AND value IS NOT NULL AND value <> 'null' THEN '"restricted"'::jsonb
        ELSE crm_scrub(value) END
$$;

-- The pushed events, in the order the replica made them, as one statement (so each is
-- chained in that order). Members push their own only.
CREATE FUNCTION crm_write_events(who crm_who, events jsonb, max_text bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    odd jsonb;
BEGIN
    SELECT x INTO odd FROM jsonb_array_elements(events) x
        WHERE x ->> 'actor' IS DISTINCT FROM who.handle AND who.role <> 'admin' LIMIT 1;
    IF odd IS NOT NULL THEN
        RAISE EXCEPTION 'a change by % cannot be pushed by %: members push their own changes',
            odd ->> 'actor', who.handle USING ERRCODE = '42501', HINT = 'event ' || (odd ->> 'id');
    END IF;
    SELECT x INTO odd FROM jsonb_array_elements(events) x
        WHERE EXISTS (SELECT 1 FROM jsonb_each_text(x) WHERE length(value) > max_text) LIMIT 1;
    IF odd IS NOT NULL THEN
        PERFORM crm_check_sizes(odd, max_text);
    END IF;
    BEGIN
        PERFORM crm_insert_events(events);
    EXCEPTION WHEN OTHERS THEN  -- name the event refused: insert them one by one
        FOR odd IN SELECT x FROM jsonb_array_elements(events) x LOOP
            BEGIN
                PERFORM crm_insert_events(jsonb_build_array(odd));
            EXCEPTION WHEN OTHERS THEN
                RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = SQLERRM,
                    HINT = 'event ' || (odd ->> 'id');
            END;
        END LOOP;
        RAISE;
    END;
    RETURN NULL;
END $$;

CREATE FUNCTION crm_insert_events(events jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO audit_event (id, at, actor, action, entity, entity_id, customer_id, changes, detail)
    SELECT e.id, e.at, e.actor, e.action, e.entity, e.entity_id, e.customer_id,
           CASE WHEN e.entity = 'customer' THEN crm_scrub(e.changes) ELSE e.changes END,
           coalesce(e.detail, '{}')
    FROM jsonb_array_elements(events) WITH ORDINALITY AS a(x, n),
         LATERAL jsonb_populate_record(NULL::audit_event, a.x) AS e
    ORDER BY a.n
    ON CONFLICT (id) DO NOTHING
$$;

-- The readers of a sensitive field: the defaults, changed by the team's `field_reader`
-- rules (`crm field access`, synced like any record), as `repo/sensitive.readers` reads them.
CREATE FUNCTION crm_readers(wanted text) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT array_agg(reader) FROM (
        SELECT r AS reader FROM jsonb_array_elements_text(('DEFAULT_READERS'::jsonb) -> wanted) r
        WHERE NOT EXISTS (SELECT 1 FROM field_reader f WHERE f.field = wanted
                          AND f.reader = r AND NOT f.granted AND f.deleted_at IS NULL)
        UNION
        SELECT f.reader FROM field_reader f
        WHERE f.field = wanted AND f.granted AND f.deleted_at IS NULL
    ) readers
$$;

CREATE FUNCTION crm_may_read(who crm_who, wanted text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT who.role = 'admin' OR EXISTS (
        SELECT 1 FROM unnest(crm_readers(wanted)) AS r(reader)
        WHERE lower(reader) IN (lower('role:' || who.role), lower('dept:' || who.department),
                                lower('user:' || who.handle)))
$$;

-- Only a sensitive field's readers write it (a write would confirm a guessed value).
CREATE FUNCTION crm_require_readers(who crm_who, changed text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    field text;
BEGIN
    IF NOT changed && ARRAY['contract_amount', 'id_number', 'bank_account'] THEN
        RETURN;
    END IF;
    FOREACH field IN ARRAY changed LOOP
        IF field = ANY(ARRAY['contract_amount', 'id_number', 'bank_account'])
           AND NOT crm_may_read(who, field) THEN
            PERFORM crm_refuse(who, 'write ' || field, 'only its readers write it');
        END IF;
    END LOOP;
END $$;

-- A cleared reader's sensitive values, recorded in the audit trail before they are read.
CREATE FUNCTION crm_reveal(customer_id text, wanted text[]) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    who crm_who := crm_actor();
    field text;
    c customer := (SELECT c FROM customer c WHERE c.id = customer_id AND c.deleted_at IS NULL);
BEGIN
    IF NOT who.active THEN
        RAISE EXCEPTION '% is deactivated in the shared database', who.handle
            USING ERRCODE = '42501';
    END IF;
    IF c.id IS NULL THEN
        RAISE EXCEPTION 'no customer %', customer_id USING ERRCODE = 'P0002';
    END IF;
    FOREACH field IN ARRAY wanted LOOP
        IF NOT field = ANY(ARRAY['contract_amount', 'id_number', 'bank_account']) THEN
            RAISE EXCEPTION '% is not a sensitive field', field USING ERRCODE = '22023';
        END IF;
        IF NOT crm_may_read(who, field) THEN
            PERFORM crm_refuse(who, 'read ' || field,
                'it is read by ' || array_to_string(crm_readers(field), ', '));
        END IF;
    END LOOP;
    PERFORM pg_advisory_xact_lock(hashtext('crmcli:' || current_schema()));
    INSERT INTO audit_event (id, at, actor, action, entity, entity_id, customer_id, changes, detail)
    VALUES (gen_random_uuid()::text, now(), who.handle, 'customer.reveal', 'customer', c.id,
            c.id, '{}', jsonb_build_object('fields', to_jsonb(wanted)));
    RETURN (SELECT jsonb_object_agg(key, value #>> '{}') FROM jsonb_each(to_jsonb(c))
            WHERE key = ANY(wanted));
END $$;

-- Deactivating a member ends their login; reactivating restores it.
CREATE FUNCTION crm_login_follows_active() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    login text;
BEGIN
    FOR login IN SELECT m.login FROM crm_member m WHERE m.handle = NEW.handle LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login);
        EXECUTE format('ALTER ROLE %I %s', login, CASE WHEN NEW.active THEN 'LOGIN' ELSE 'NOLOGIN' END);
        IF NOT NEW.active THEN
            PERFORM pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE usename = login AND pid <> pg_backend_pid();
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER users_login_follows_active AFTER UPDATE OF active ON users
    FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active)
    EXECUTE FUNCTION crm_login_follows_active();
""".replace("'DEFAULT_READERS'", "'" + _json_object(
    {name: list(readers) for name, readers in DEFAULT_READERS.items()}) + "'")


def migration() -> str:
    """Schema version 3: everything above, in one script."""
    return V3 + V3_FUNCTIONS + "".join(
        _check_function(entity) + _write_function(entity) for entity in ORDER
    ) + _push_function()


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
    that may grant pg_signal_backend."""
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
    run(sql.SQL("GRANT pg_signal_backend TO {}").format(o))
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
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "WHERE p.pronamespace = %s::regnamespace AND p.proname LIKE 'crm\\_%%'", (schema,)
    ).fetchall()
    for (signature,) in functions:
        function = sql.SQL(signature)  # regprocedure text: already quoted as needed
        run(sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(function, o))
        run(sql.SQL("ALTER FUNCTION {} SET search_path = {}, pg_temp").format(function, s))
        run(sql.SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC").format(function))
    for signature in FUNCTIONS:
        run(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(signature), m))
    for table in TABLES:
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
    readable = [name for name in _columns("customer") if name not in SENSITIVE]
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
    prev_hash, id, {UTC_TEXT.format("at")}, actor, action, entity, entity_id, customer_id,
    changes, detail, {UTC_TEXT.format("server_at")}, login, server_seq)::text, 'UTF8')), 'hex')"""


@dataclass(frozen=True)
class Verdict:
    events: int  # how many events the chain holds
    head: str | None  # the newest hash: keep it somewhere else to anchor the chain
    broken_at: str | None  # the first event whose link does not hold (None: intact)
    why: str | None


def verify(conn: Any) -> Verdict:
    """Walk the audit trail in arrival order and check every link: each event's hash is
    the hash of its contents and of the hash before it. A changed event breaks its own
    link, a removed or reordered one the next."""
    query = f"""
        SELECT id, hash, prev_hash, {_EXPECTED} AS expected,
               lag(hash) OVER (ORDER BY server_seq) AS previous
        FROM audit_event ORDER BY server_seq"""
    count, head = 0, None
    with conn.transaction(), conn.cursor(name="crm_audit_verify") as cursor:
        cursor.execute(query)
        for event_id, stored, prev_hash, expected, previous in cursor:
            count += 1
            if stored != expected:
                return Verdict(count, head, event_id, "its contents or its hash were changed")
            if prev_hash != previous:
                return Verdict(count, head, event_id, "an event before it was removed or changed")
            head = stored
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
        try:
            stored = int(value)
        except ValueError:
            raise Invalid(f"{value!r} is not a whole number", key) from None
        if stored <= 0:
            raise Invalid("must be more than 0", key)
    with conn.transaction():
        conn.execute(
            "UPDATE crm_server SET settings = settings || jsonb_build_object(%s::text, %s::jsonb)",
            (key, Jsonb(stored)),
        )
        if key == "visibility":
            conn.execute("UPDATE crm_server SET view_epoch = view_epoch + 1")
    return stored
