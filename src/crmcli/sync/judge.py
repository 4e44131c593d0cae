"""Schema version 3 in SQL: the tables, constraints, audit chain and shared functions
with which the shared database judges every member (see `security` for the model).

`migration()` is the whole script: these, and the per-record checks and writes of
`judge_writes`. Rules that a replica applies in Python (`crmcli.permissions`,
`crmcli.documents`, `repo/sensitive`) are written here a second time, in PL/pgSQL, because
a member's own client cannot be trusted to apply them.
"""

from __future__ import annotations

from crmcli import fields
from crmcli.repo.sensitive import DEFAULT_READERS
from crmcli.sync import judge_custom
from crmcli.sync.judge_writes import write_functions
from crmcli.sync.tables import SENSITIVE

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



SIZES = r"""
-- Text longer than the team's max_text is refused wherever it is in a record or an event
-- (a custom field inside `extra`, a value inside an event's changes), and only there: a
-- record whose values are each short enough may be long as a whole.
CREATE FUNCTION crm_check_sizes(item jsonb, max_text bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    longest text;
BEGIN
    IF octet_length(item::text) <= max_text THEN
        RETURN;  -- no value can be longer than the whole row
    END IF;
    longest := (SELECT e.key FROM jsonb_each(item) AS e WHERE EXISTS (
        SELECT 1 FROM jsonb_path_query(e.value, 'strict $.**') AS v
        WHERE jsonb_typeof(v) = 'string' AND length(v #>> '{}') > max_text) LIMIT 1);
    IF longest IS NOT NULL THEN
        RAISE EXCEPTION '% is longer than % characters (the team''s max_text)',
            longest, max_text USING ERRCODE = '22001';
    END IF;
END $$;
"""

EVENTS_WRITTEN = r"""
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
    -- A value longer than max_text characters takes more bytes than that in the event as
    -- stored (UTF-8, not escaped): the size of each, known, spares writing each as text.
    FOR odd IN SELECT x FROM jsonb_array_elements(events) x
               WHERE pg_column_size(x) > max_text LOOP
        PERFORM crm_check_sizes(odd, max_text);
    END LOOP;
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
"""


# Who may change, delete or restore a customer, with the sentence of each refusal (mended
# since schema version 3: a restore is refused as one).
REQUIRE = r"""
-- Refuse unless `who` may `change` (fields), `delete` (delete, merge) or `restore` the customer.
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
    ELSIF what IN ('delete', 'restore') AND NOT crm_may_delete(who, c) THEN
        PERFORM crm_refuse(who, format('%s customer %s (%s)',
                CASE WHEN what = 'restore' THEN 'restore' ELSE 'delete or merge' END,
                right(c.id, 8), c.name),
            format('only managers of %s and admins delete, merge or restore it',
                   coalesce(dept, 'its owner''s department')));
    END IF;
END $$;
"""

V3_FUNCTIONS = r"""
SIZES
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

REQUIRE_FN
CREATE FUNCTION crm_scrub_entry(field text, value jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN field = ANY(ARRAY['contract_amount', 'id_number', 'bank_account'])
             AND value IS NOT NULL AND value <> 'null' THEN '"restricted"'::jsonb
        ELSE crm_scrub(value) END
$$;

EVENTS_WRITTEN
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

REVEAL

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
""".replace("SIZES", SIZES).replace("EVENTS_WRITTEN", EVENTS_WRITTEN).replace(
    "REQUIRE_FN", REQUIRE).replace(
    "REVEAL", judge_custom.REVEAL).replace(
    "'DEFAULT_READERS'", "'" + _json_object(
    {name: list(readers) for name, readers in DEFAULT_READERS.items()}) + "'")

# Schema version 7: a customer's event is scrubbed (`crm_scrub`, a call with queries of its
# own) only if its changes name a sensitive field or `extra`: a push of imported customers
# brings hundreds of thousands of events that hold none.
# (`s.names`: the sensitive fields; schema version 8 chains the events it selects so.)
SCRUBBED_CHANGES = """CASE WHEN e.entity = 'customer' AND (e.changes ?| s.names OR e.changes ? 'extra')
                THEN crm_scrub(e.changes) ELSE e.changes END"""
EVENTS_SCRUBBED = f"""
CREATE OR REPLACE FUNCTION crm_insert_events(events jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO audit_event (id, at, actor, action, entity, entity_id, customer_id, changes, detail)
    SELECT e.id, e.at, e.actor, e.action, e.entity, e.entity_id, e.customer_id,
           {SCRUBBED_CHANGES},
           coalesce(e.detail, '{{}}')
    FROM (SELECT crm_sensitive_fields() AS names) s,
         jsonb_array_elements(events) WITH ORDINALITY AS a(x, n),
         LATERAL jsonb_populate_record(NULL::audit_event, a.x) AS e
    ORDER BY a.n
    ON CONFLICT (id) DO NOTHING
$$;
"""

# Schema version 6: each event's chain asks for the hash of the latest one. Its plan is
# made once per session, from the statistics of the moment: a team's first push found
# the trail nearly empty, planned a scan of the whole table, and kept scanning it for
# every event of the push (quadratic: 10 s of a 20,000-customer push). The index answers.
CHAIN_PLAN = """
ALTER FUNCTION crm_chain() SET enable_seqscan = off;
"""


def migration() -> str:
    """Schema version 3: everything above, in one script."""
    return V3 + V3_FUNCTIONS + write_functions(3)


def rewritten_functions() -> str:
    """The functions mended since schema version 3, replacing what a team database made
    by it has (see `judge_writes.rewritten_functions`)."""
    return (SIZES + EVENTS_WRITTEN + REQUIRE).replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")


