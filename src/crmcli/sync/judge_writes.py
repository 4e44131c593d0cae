"""Schema version 3 in SQL: how a pushed record is judged and written.

One pair of PL/pgSQL functions per kind of record, made from its columns: `crm_check_*`
checks it against the record permissions (`RULES`, the same as `crmcli.permissions`) on
the shared state before the push, `crm_write_*` writes it with the server's stamps. And
`crm_push`, the only way a member writes: it checks every record before writing any.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from crmcli.repo.entities import MODELS
from crmcli.sync import judge_approvals, judge_distinct, judge_fresh
from crmcli.sync.judge_entries import ENTRIES
from crmcli.sync.tables import LOCAL_ONLY, SENSITIVE

TABLE_OF = {
    "user": "users", "field_def": "field_def", "field_reader": "field_reader",
    "setting": "setting",
    "customer": "customer", "note": "note",
    "attachment": "attachment", "task": "task", "assignment": "assignment",
    "approval": "approval", "distinct_pair": "distinct_pair", "conflict": "conflict",
}
ORDER = tuple(TABLE_OF)  # a record's parent first
# The schema version that brought each kind of record after version 3 ("setting") and each
# column added to a shared table ("note.direction"): an earlier version's script makes
# functions that know only the tables and columns it made (a LANGUAGE sql body is checked
# when created), and it stays the script that shipped.
ADDED_IN = {"setting": 9, "approval": 9, "note.direction": 9, "distinct_pair": 10}


def kinds(version: int) -> tuple[str, ...]:
    """The kinds of record the shared database holds at schema `version`, parents first."""
    return tuple(entity for entity in ORDER if ADDED_IN.get(entity, 3) <= version)


BOOKKEEPING = "ARRAY['version', 'updated_at', 'updated_by', 'created_at', 'server_seq']"

# A note, task or role moves to another customer only in a merge: it takes the right to
# merge the one it leaves and to change the one it joins.
MOVED = """
        IF old IS NOT NULL AND changed && ARRAY['customer_id'] THEN
            PERFORM crm_require(who, old ->> 'customer_id', 'delete');
            PERFORM crm_require(who, new ->> 'customer_id', 'change');
        END IF;"""

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
        END IF;  -- a rule on a custom field makes it sensitive (`judge_custom.py`)""",
    "setting": """
        IF who.role <> 'admin' THEN
            PERFORM crm_refuse(who, 'change the team settings', 'only an admin does');
        END IF;""",
    "customer": """
        IF old IS NULL THEN RETURN; END IF;  -- its sensitive values are checked above
        IF changed && ARRAY['deleted_at', 'merged_into'] THEN
            PERFORM crm_require(who, old ->> 'id', CASE WHEN old ->> 'deleted_at' IS NOT NULL
                AND new ->> 'deleted_at' IS NULL THEN 'restore' ELSE 'delete' END);
        END IF;
        IF NOT changed <@ ARRAY['deleted_at', 'merged_into'] THEN
            PERFORM crm_require(who, old ->> 'id', 'change');
        END IF;""",
    "note": MOVED + """
        IF old IS NULL THEN
            PERFORM crm_require_sees(who, item ->> 'customer_id', adding);
            RETURN;
        END IF;
        PERFORM crm_require_note(who, old ->> 'id');  -- `judge_notes.py`""",
    "attachment": """
        IF (item ->> 'size')::bigint > crm_limit('max_attachment_bytes') THEN
            RAISE EXCEPTION 'an attachment is larger than % bytes (the team''s max_attachment_bytes)',
                crm_limit('max_attachment_bytes') USING ERRCODE = '22001';
        END IF;
        IF old IS NULL THEN RETURN; END IF;
        PERFORM crm_require(who, (SELECT n.customer_id FROM note n WHERE n.id = old ->> 'note_id'),
            'change');""",
    "task": MOVED + """
        IF old IS NULL THEN
            PERFORM crm_require_sees(who, item ->> 'customer_id', adding);
            RETURN;
        END IF;
        IF who.handle IN (old ->> 'assignee', old ->> 'created_by') THEN RETURN; END IF;
        PERFORM crm_require(who, old ->> 'customer_id', 'change');""",
    "assignment": MOVED + """
        IF new -> 'acknowledged_at' IS DISTINCT FROM coalesce(old -> 'acknowledged_at', 'null')
           AND coalesce(old, new) ->> 'user' <> who.handle AND who.role <> 'admin' THEN
            PERFORM crm_refuse(who, format('acknowledge %s''s assignment',
                coalesce(old, new) ->> 'user'), 'only the user it was given to does');
        END IF;
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
    "approval": judge_approvals.RULE,
    "distinct_pair": judge_distinct.RULE,
    # A new entry keeps the pusher's own change (`crm_check_entry`); what an entry keeps
    # never changes; its resolution takes the right to change what it is about (the record
    # a resolution writes is checked as that record), and the first one stands.
    "conflict": """
        IF old IS NULL THEN
            PERFORM crm_check_entry(who, item, '{}', adding);
            RETURN;
        END IF;
        IF NOT changed <@ ARRAY['resolution', 'resolved_by', 'resolved_at'] THEN
            PERFORM crm_refuse(who, format('change conflict entry %s', right(old ->> 'id', 8)),
                'what a conflict entry keeps never changes; only its resolution is written');
        END IF;
        IF old ->> 'resolved_at' IS NOT NULL THEN
            PERFORM crm_refuse(who, format('resolve conflict entry %s again', right(old ->> 'id', 8)),
                format('%s resolved it first', old ->> 'resolved_by'));
        END IF;
        IF new ->> 'resolved_at' IS NULL OR NOT new ->> 'resolution' IN ('mine', 'theirs', 'value') THEN
            PERFORM crm_refuse(who, format('resolve conflict entry %s so', right(old ->> 'id', 8)),
                'a resolution takes mine, theirs or a value, at a time');
        END IF;
        PERFORM crm_require_resolves(who, old, new ->> 'resolution');""",
}

# What is checked before anything else, even of a record written back as it is: only a
# sensitive field's readers send its value at all, changed or not (a replica holds none;
# were the value already stored let through, a push would confirm a guess).
SENT = {
    "customer": """
    PERFORM crm_require_readers(who, ARRAY(SELECT jsonb_object_keys(item)) || ARRAY(
        SELECT jsonb_object_keys(CASE WHEN jsonb_typeof(item -> 'extra') = 'object'
                                      THEN item -> 'extra' ELSE '{}' END)));""",
}

# Who wrote a new record is the pusher (an admin may push what others wrote: imports,
# work done with --as on a local database before it was linked).
AUTHORS = {
    "customer": ("created_by",), "note": ("author",), "task": ("created_by",),
    "assignment": ("assigned_by",), "approval": ("requested_by",),
    "distinct_pair": ("marked_by",),
}

_as_of: list[int] = []


@contextmanager
def as_of(version: int) -> Iterator[None]:
    """Within: `shared_columns` as schema version `version` had them."""
    _as_of.append(version)
    try:
        yield
    finally:
        _as_of.pop()


def shared_columns(entity: str) -> tuple[str, ...]:
    """The columns of the shared table (the sensitive ones included), as the schema
    version being written has them (`as_of`; the latest outside)."""
    version = _as_of[-1] if _as_of else None
    return tuple(
        c.name for c in MODELS[entity].__table__.columns if c.name not in LOCAL_ONLY
        and (version is None or ADDED_IN.get(f"{entity}.{c.name}", 0) <= version)
    )


def _check_function(entity: str, version: int | None = None) -> str:
    """`version`: the schema version it is made for (None: the newest)."""
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
    PERFORM crm_check_sizes(item, max_text);{SENT.get(entity, "")}
    IF old - {BOOKKEEPING} = new - {BOOKKEEPING} THEN
        RETURN;  -- written back as it is
    END IF;
    IF old IS NOT NULL THEN  -- (a new record's rules ask nothing of `changed`: a bulk
        changed := crm_changed(old, new);  -- push of new records spares computing it)
        IF cardinality(changed) = 0 THEN RETURN; END IF;
    END IF;{RULES[entity]}{judge_approvals.customer_rule(entity, version)}
END $$;
"""


SCRUBBED_ENTRY = {  # a new conflict entry's values, sensitive ones restricted
    name: f"crm_scrub_entry(new.field, new.{name})" for name in ("base", "mine", "theirs")
}


def created_values(entity: str) -> dict[str, str]:
    """The stamps of a record new to the shared database: column -> its value, an SQL
    expression of the pushed row `new` and the pusher `who` (the one-by-one write and the
    set-based one of `judge_fresh` take the same)."""
    names = shared_columns(entity)
    values = {"created_at": "least(new.created_at, now())"}
    if "updated_by" in names:
        values["updated_by"] = "who.handle"
    for name in AUTHORS.get(entity, ()):
        values[name] = f"CASE WHEN who.role <> 'admin' THEN who.handle ELSE new.{name} END"
    if entity == "conflict":
        values.update(SCRUBBED_ENTRY)
    values.update(judge_approvals.CREATED if entity == "approval" else {})
    values.update(judge_distinct.CREATED if entity == "distinct_pair" else {})
    values["updated_at"] = "now()"
    values["deleted_at"] = "CASE WHEN new.deleted_at IS NULL THEN NULL ELSE now() END"
    return values


def _write_function(entity: str) -> str:
    table = TABLE_OF[entity]
    names = shared_columns(entity)
    quoted = [f'"{name}"' for name in names]
    stamps = ["new.created_at := old.created_at;"]
    created = [f"new.{name} := {value};" for name, value in created_values(entity).items()]
    if "updated_by" in names:
        stamps.append("new.created_by := old.created_by;")
        stamps.append("new.updated_by := CASE WHEN moved THEN who.handle ELSE old.updated_by END;")
    for name in AUTHORS.get(entity, ()):
        if name != "created_by" or "updated_by" not in names:  # (kept above)
            stamps.append(f"new.{name} := old.{name};")  # who wrote it never changes
    kept = ""
    if entity == "customer":  # a sensitive value not sent (a replica holds none) stays;
        kept = " ".join(  # one sent as null was cleared by a reader
            f"new.{name} := CASE WHEN item ? '{name}' THEN new.{name} ELSE old.{name} END;"
            for name in SENSITIVE)
    if entity == "conflict":
        stamps += [  # what it keeps never changes (`RULES`); its resolution is the pusher's
            f"new.{name} := old.{name};" for name in shared_columns("conflict")
            if name not in ("id", "resolution", "resolved_by", "resolved_at", "created_at",
                            "updated_at", "deleted_at", "version", "server_seq")
        ] + [f"new.{name} := {value};" for name, value in SCRUBBED_ENTRY.items()] + [
            "IF old.resolved_at IS NULL AND new.resolved_at IS NOT NULL THEN",
            "    new.resolved_at := least(new.resolved_at, now());",
            "    IF who.role <> 'admin' THEN new.resolved_by := who.handle; END IF;",
            "ELSE",
            "    new.resolution := old.resolution; new.resolved_by := old.resolved_by;",
            "    new.resolved_at := old.resolved_at;",
            "END IF;",
        ]
    stamps += judge_approvals.STAMPS if entity == "approval" else []
    secrets = ""
    if entity == "customer":  # custom sensitive values: kept apart (`judge_custom.py`)
        secrets = "\n    new.extra := crm_store_secrets(new.id, item, new.extra);"
    bookkeeping = BOOKKEEPING
    return f"""
CREATE FUNCTION crm_write_{entity}(who crm_who, item jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    new {table} := jsonb_populate_record(NULL::{table}, item);
    old {table};
    moved boolean;
BEGIN
    SELECT * INTO old FROM {table} WHERE id = new.id;{secrets}
    IF FOUND THEN
        {kept}
        moved := (to_jsonb(new) - {bookkeeping}) IS DISTINCT FROM (to_jsonb(old) - {bookkeeping});
        {chr(10).join('        ' + line for line in stamps).strip()}
        new.updated_at := CASE WHEN moved THEN now() ELSE old.updated_at END;
        new.deleted_at := CASE WHEN new.deleted_at IS NULL THEN NULL
                               ELSE coalesce(old.deleted_at, now()) END;
    ELSE
        {chr(10).join('        ' + line for line in created).strip()}
    END IF;
    IF old.id IS NOT NULL THEN
        UPDATE {table} SET ({", ".join(q for q in quoted if q != '"id"')})
            = ROW({", ".join("new." + q for q in quoted if q != '"id"')}) WHERE id = new.id;
    ELSE
        INSERT INTO {table} ({", ".join(quoted)}) VALUES ({", ".join("new." + q for q in quoted)});
    END IF;
END $$;
"""


def _push_function(version: int) -> str:
    checks = "\n".join(
        f"""        FOR item IN SELECT x FROM jsonb_array_elements(coalesce(writes -> '{entity}', '[]')) x{judge_fresh.one_by_one(entity)} LOOP
            what := '{entity} ' || (item ->> 'id');
            PERFORM crm_check_{entity}(who, item, adding, max_text);
        END LOOP;"""
        for entity in kinds(version)
    )
    writes = "\n".join(
        judge_fresh.written(entity) + f"""
        FOR item IN SELECT x FROM jsonb_array_elements(coalesce(writes -> '{entity}', '[]')) x{judge_fresh.one_by_one(entity)} LOOP
            what := '{entity} ' || (item ->> 'id');
            PERFORM crm_write_{entity}(who, item);
        END LOOP;"""
        for entity in kinds(version)
    )
    return f"""
CREATE FUNCTION crm_push(
    head bigint, events jsonb, writes jsonb, entries jsonb, digests text[], contents bytea[]
) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET lock_timeout = '30s' AS $$
DECLARE
    who crm_who := crm_actor();
    sent jsonb := writes;  -- as the pusher sent them (`crm_sent`)
    since bigint;
    what text := 'the push';
    item jsonb;
    adding jsonb;
    max_text bigint := crm_limit('max_text');
    hint text;{judge_fresh.declarations()}
BEGIN
    IF NOT who.active THEN
        RAISE EXCEPTION '% is deactivated in the shared database', who.handle
            USING ERRCODE = '42501';
    END IF;
    -- The sensitive fields are kept for the transaction in a setting (`crm_sensitive_fields`)
    -- that any session may set itself: what it holds before the push is not this database's.
    PERFORM set_config('crm.sensitive_fields', '', true);
    PERFORM crm_break_idle_lock();
    PERFORM pg_advisory_xact_lock(hashtext('crmcli:' || current_schema()));
    since := crm_head();
    IF head IS NOT NULL AND since <> head THEN
        RAISE EXCEPTION 'the shared database changed while this push was prepared'
            USING ERRCODE = '40001';
    END IF;
    adding := coalesce((  -- the customers this push creates, as a set (an object keyed by id)
        SELECT jsonb_object_agg(x ->> 'id', true)
        FROM jsonb_array_elements(coalesce(writes -> 'customer', '[]')) x
        WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = x ->> 'id')), '{{}}');
    BEGIN
        writes := crm_stamp_ended_roles(who, writes, adding);{judge_fresh.picked()}
{checks}
        FOR item IN SELECT * FROM jsonb_array_elements(entries) LOOP
            what := 'conflict ' || (item ->> 'id');
            IF NOT EXISTS (SELECT 1 FROM conflict WHERE id = item ->> 'id') THEN
                PERFORM crm_check_entry(who, item, writes, adding);
            END IF;
        END LOOP;
{writes}
{judge_approvals.after_writes(version)}
        what := 'the changes';  -- after the records: a field declared sensitive by this push
        PERFORM crm_write_events(who, events, max_text);  -- is scrubbed from its changes
        FOR item IN SELECT * FROM jsonb_array_elements(entries) LOOP
            what := 'conflict ' || (item ->> 'id');
            IF NOT EXISTS (SELECT 1 FROM conflict WHERE id = item ->> 'id') THEN
                PERFORM crm_write_conflict(who, item);  -- checked with the records
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
    RETURN crm_sent(sent, since);  -- `judge_sent.py`
END $$;
"""



PUSH_BEFORE_7 = "DROP FUNCTION IF EXISTS crm_push(bigint, jsonb, jsonb, jsonb, text[], bytea[]);\n"


def write_functions(version: int) -> str:
    """The SQL that creates every check and write function and `crm_push`, for the kinds
    of record schema `version` holds."""
    return ENTRIES + "".join(
        _check_function(entity, version) + _write_function(entity) for entity in kinds(version)
    ) + _push_function(version)


def rewritten_functions(version: int) -> str:
    """The same, replacing those a team database already has: how a later schema version
    brings a rule mended since to a database made by an earlier one. `crm_push` is
    dropped first: before schema version 7 it returned the change numbering's head, a
    type no CREATE OR REPLACE may change."""
    return PUSH_BEFORE_7 + write_functions(version).replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
