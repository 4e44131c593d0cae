"""Schema version 3 in SQL: how a pushed record is judged and written.

One pair of PL/pgSQL functions per kind of record, made from its columns: `crm_check_*`
checks it against the record permissions (`RULES`, the same as `crmcli.permissions`) on
the shared state before the push, `crm_write_*` writes it with the server's stamps. And
`crm_push`, the only way a member writes: it checks every record before writing any.
"""

from __future__ import annotations

from crmcli.repo.entities import MODELS
from crmcli.sync.tables import LOCAL_ONLY, SENSITIVE

TABLE_OF = {
    "user": "users", "field_def": "field_def", "field_reader": "field_reader",
    "customer": "customer", "note": "note",
    "attachment": "attachment", "task": "task", "assignment": "assignment",
    "conflict": "conflict",
}
ORDER = tuple(TABLE_OF)  # a record's parent first
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
    "customer": """
        IF old IS NULL THEN RETURN; END IF;  -- its sensitive values are checked above
        IF changed && ARRAY['deleted_at', 'merged_into'] THEN
            PERFORM crm_require(who, old ->> 'id', 'delete');
        END IF;
        IF NOT changed <@ ARRAY['deleted_at', 'merged_into'] THEN
            PERFORM crm_require(who, old ->> 'id', 'change');
        END IF;""",
    "note": MOVED + """
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
    "conflict": "",  # the record a resolution writes is checked as that record
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
    "assignment": ("assigned_by",),
}


def shared_columns(entity: str) -> tuple[str, ...]:
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
    PERFORM crm_check_sizes(item, max_text);{SENT.get(entity, "")}
    IF old - {BOOKKEEPING} = new - {BOOKKEEPING} THEN
        RETURN;  -- written back as it is
    END IF;
    changed := crm_changed(old, new);
    IF old IS NOT NULL AND cardinality(changed) = 0 THEN RETURN; END IF;{RULES[entity]}
END $$;
"""


def _write_function(entity: str) -> str:
    table = TABLE_OF[entity]
    names = shared_columns(entity)
    quoted = [f'"{name}"' for name in names]
    stamps = ["new.created_at := old.created_at;"]
    created = ["new.created_at := least(new.created_at, now());"]
    if "updated_by" in names:
        stamps.append("new.created_by := old.created_by;")
        stamps.append("new.updated_by := CASE WHEN moved THEN who.handle ELSE old.updated_by END;")
        created.append("new.updated_by := who.handle;")
    for name in AUTHORS.get(entity, ()):
        created.append(f"IF who.role <> 'admin' THEN new.{name} := who.handle; END IF;")
        if name != "created_by" or "updated_by" not in names:  # (kept above)
            stamps.append(f"new.{name} := old.{name};")  # who wrote it never changes
    kept = ""
    if entity == "customer":  # a sensitive value not sent (a replica holds none) stays;
        kept = " ".join(  # one sent as null was cleared by a reader
            f"new.{name} := CASE WHEN item ? '{name}' THEN new.{name} ELSE old.{name} END;"
            for name in SENSITIVE)
    if entity == "conflict":
        created += [
            "new.base := crm_scrub_entry(new.field, new.base);",
            "new.mine := crm_scrub_entry(new.field, new.mine);",
            "new.theirs := crm_scrub_entry(new.field, new.theirs);",
        ]
        stamps += created[-3:]
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
    PERFORM crm_break_idle_lock();
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
{writes}
        what := 'the changes';  -- after the records: a field declared sensitive by this push
        PERFORM crm_write_events(who, events, max_text);  -- is scrubbed from its changes
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



def write_functions() -> str:
    """The SQL that creates every check and write function and `crm_push`."""
    return "".join(
        _check_function(entity) + _write_function(entity) for entity in ORDER
    ) + _push_function()


def rewritten_functions() -> str:
    """The same, replacing those a team database already has: how a later schema version
    brings a rule mended since to a database made by an earlier one."""
    return write_functions().replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
