"""Schema version 4 in SQL: custom fields declared sensitive, on a team.

A custom field is sensitive when it has reader rules (`crm field add NAME --sensitive`
writes them; the same test as `repo.sensitive.custom_sensitive`). Its values live in
`customer_secret`, which no member may SELECT, never in `customer.extra`, which every
member reads: `crm_store_secrets` takes them out of a pushed customer, whether they come
inside its `extra` or beside it (as a replica sends them, a null clearing the value, like
the standard sensitive fields). Everything that judges or hides sensitive values here
(readers, scrubbing of the audit trail and conflict entries, reveals) takes the custom
ones too, through `crm_sensitive_fields`.
"""

from __future__ import annotations

from crmcli.sync.tables import SENSITIVE

STANDARD = "ARRAY[" + ", ".join(f"'{name}'" for name in SENSITIVE) + "]"

# Schema version 3 made it too (`judge.py`), with only the standard fields.
REVEAL = r"""
-- A cleared reader's sensitive values, recorded in the audit trail before they are read.
CREATE FUNCTION crm_reveal(customer_id text, wanted text[]) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    who crm_who := crm_actor();
    field text;
    c customer := (SELECT c FROM customer c WHERE c.id = customer_id AND c.deleted_at IS NULL
                   AND (NOT crm_visibility_own() OR crm_sees(c.id, c.owner)));
BEGIN
    IF NOT who.active THEN
        RAISE EXCEPTION '% is deactivated in the shared database', who.handle
            USING ERRCODE = '42501';
    END IF;
    IF c.id IS NULL THEN  -- one out of sight is no customer either (`visibility = own`)
        RAISE EXCEPTION 'no customer %', customer_id USING ERRCODE = 'P0002';
    END IF;
    FOREACH field IN ARRAY wanted LOOP
        IF NOT field = ANY(crm_sensitive_fields()) THEN
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
    RETURN (SELECT jsonb_object_agg(key, value #>> '{}') FROM (
        SELECT key, value FROM jsonb_each(to_jsonb(c)) WHERE key = ANY(wanted)
        UNION ALL
        SELECT s.field, s.value FROM customer_secret s
        WHERE s.customer_id = c.id AND s.field = ANY(wanted)) AS found);
END $$;
"""

CUSTOM_SECRETS = r"""
CREATE TABLE customer_secret (
    customer_id text NOT NULL,
    field text NOT NULL,
    value jsonb NOT NULL,
    PRIMARY KEY (customer_id, field)
);

-- Every sensitive field: the standard ones, then the declared custom fields with readers.
-- A push asks for every record and event it writes, so the answer is kept for the rest of
-- the transaction, until a write to field_reader or field_def forgets it.
CREATE FUNCTION crm_sensitive_fields() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    kept text := current_setting('crm.sensitive_fields', true);
    found text[];
BEGIN
    IF kept <> '' THEN
        RETURN kept::text[];
    END IF;
    found := STANDARD || ARRAY(
        SELECT DISTINCT r.field FROM field_reader r
        JOIN field_def d ON d.name = r.field AND d.deleted_at IS NULL
        WHERE r.deleted_at IS NULL AND NOT r.field = ANY(STANDARD) ORDER BY 1);
    PERFORM set_config('crm.sensitive_fields', found::text, true);
    RETURN found;
END $$;

CREATE FUNCTION crm_forget_sensitive_fields() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('crm.sensitive_fields', '', true);
    RETURN NULL;
END $$;
CREATE TRIGGER field_reader_sensitive_fields AFTER INSERT OR UPDATE OR DELETE ON field_reader
    FOR EACH STATEMENT EXECUTE FUNCTION crm_forget_sensitive_fields();
CREATE TRIGGER field_def_sensitive_fields AFTER INSERT OR UPDATE OR DELETE ON field_def
    FOR EACH STATEMENT EXECUTE FUNCTION crm_forget_sensitive_fields();

-- Keep a pushed customer's custom sensitive values apart; returns its `extra` without them.
CREATE FUNCTION crm_store_secrets(of_customer text, item jsonb, extra jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    custom text[] := ARRAY(SELECT unnest(crm_sensitive_fields()) EXCEPT SELECT unnest(STANDARD));
    name text;
    value jsonb;
BEGIN
    FOREACH name IN ARRAY custom LOOP
        IF item ? name THEN
            value := item -> name;  -- sent beside the record: a value, or null to clear it
        ELSIF jsonb_typeof(extra) = 'object' AND extra ? name THEN
            value := extra -> name;
        ELSE
            CONTINUE;  -- not sent: a replica holds none, the stored value stays
        END IF;
        IF value = 'null' THEN
            DELETE FROM customer_secret s WHERE s.customer_id = of_customer AND s.field = name;
        ELSE
            INSERT INTO customer_secret AS s VALUES (of_customer, name, value)
                ON CONFLICT (customer_id, field) DO UPDATE SET value = EXCLUDED.value;
        END IF;
    END LOOP;
    RETURN CASE WHEN jsonb_typeof(extra) = 'object' THEN extra - custom ELSE extra END;
END $$;

CREATE OR REPLACE FUNCTION crm_require_readers(who crm_who, changed text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    field text;
BEGIN
    FOREACH field IN ARRAY ARRAY(
            SELECT unnest(changed) INTERSECT SELECT unnest(crm_sensitive_fields())) LOOP
        IF NOT crm_may_read(who, field) THEN
            PERFORM crm_refuse(who, 'write ' || field, 'only its readers write it');
        END IF;
    END LOOP;
END $$;

-- The sensitive fields the connected member may not read (nor write), as this database
-- judges: a push leaves out a value typed before its author lost the right to it.
CREATE FUNCTION crm_unreadable() RETURNS text[] LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT ARRAY(SELECT f FROM unnest(crm_sensitive_fields()) AS f
                 WHERE NOT crm_may_read(crm_actor(), f))
$$;

-- A value as the audit trail and conflict entries keep it: `restricted` unless empty.
CREATE FUNCTION crm_restricted(value jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL OR value = 'null' THEN value ELSE '"restricted"' END
$$;

-- `found` ({field: value}, or [before, after] of them) with sensitive values restricted.
CREATE FUNCTION crm_scrub_values(found jsonb, sensitive text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN jsonb_typeof(found) = 'array' THEN (
            SELECT jsonb_agg(crm_scrub_values(x, sensitive)) FROM jsonb_array_elements(found) x)
        WHEN jsonb_typeof(found) = 'object' THEN (
            SELECT coalesce(jsonb_object_agg(key, CASE
                WHEN key = ANY(sensitive) AND jsonb_typeof(item) = 'array' THEN (
                    SELECT jsonb_agg(crm_restricted(x)) FROM jsonb_array_elements(item) x)
                WHEN key = ANY(sensitive) THEN crm_restricted(item)
                WHEN key = 'extra' THEN crm_scrub_values(item, sensitive)
                ELSE item END), '{}')
            FROM jsonb_each(found) AS e(key, item))
        ELSE found END
$$;

-- Sensitive values never reach an event's changes or a conflict entry. Most changes hold
-- none (an edit of a city, a snapshot whose sensitive fields are empty): those are kept
-- as they are without being rebuilt.
CREATE OR REPLACE FUNCTION crm_scrub(value jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    sensitive text[] := crm_sensitive_fields();
BEGIN
    IF jsonb_typeof(value) <> 'object' OR NOT EXISTS (
        SELECT 1 FROM jsonb_each(value) AS e(key, item)
        WHERE (e.key = ANY(sensitive) AND item NOT IN ('null', '[null, null]'))
           OR (e.key = 'extra' AND item::text LIKE ANY (
               ARRAY(SELECT '%"' || s || '":%' FROM unnest(sensitive) AS s)))) THEN
        RETURN value;
    END IF;
    RETURN crm_scrub_values(value, sensitive);
END $$;

CREATE OR REPLACE FUNCTION crm_scrub_entry(field text, value jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN regexp_replace(field, '^extra\.', '') = ANY(crm_sensitive_fields())
            THEN crm_restricted(value)
        WHEN field = 'extra' THEN crm_scrub_values(value, crm_sensitive_fields())
        ELSE crm_scrub(value) END
$$;

REVEAL_REPLACED
""".replace("REVEAL_REPLACED", REVEAL.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")).replace(
    "STANDARD", STANDARD)
