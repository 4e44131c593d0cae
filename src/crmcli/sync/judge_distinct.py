"""Schema version 10 in SQL: "not the same" marks (`repo/distinct_pairs.py`), judged by the
shared database.

The `distinct_pair` table is a synced record (stamped, locked and numbered by the same
triggers as every table). Its rules, `RULE` in `crm_check_distinct_pair`
(`judge_writes.RULES`):

- a mark names two different customers in their canonical order (a CHECK), both of which
  the pusher sees (`crm_require_sees_pair`: with `visibility = own`, customers they own
  or hold a role on, or that the same push creates; managers and admins see all), and is
  made in the pusher's own name (`judge_writes.AUTHORS`); when it was made is the
  server's time of its arrival (`CREATED`), never the client's;
- after that nothing of it changes: it is only withdrawn (`deleted_at` set, never
  cleared), by whoever made it or an admin.

A member reads a mark only when they see both of its customers (`security.VISIBLE`).
"""

from __future__ import annotations

from crmcli.sync.judge_tables import record_table

_CUSTOMER = "text NOT NULL REFERENCES customer (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"

TABLE = record_table("distinct_pair", f"""
    first_id {_CUSTOMER},
    second_id {_CUSTOMER},
    marked_by text NOT NULL,
    reason text,""") + """
ALTER TABLE distinct_pair ADD CONSTRAINT distinct_pair_in_order
    CHECK (first_id COLLATE "C" < second_id COLLATE "C");
CREATE INDEX distinct_pair_first ON distinct_pair (first_id);
CREATE INDEX distinct_pair_second ON distinct_pair (second_id);
"""

FUNCTIONS = """
-- A mark is made only about two customers the pusher sees (`crm_require_sees`'s rule:
-- with visibility = own, those they own or hold a role on, or that this push creates).
CREATE FUNCTION crm_require_sees_pair(who crm_who, pair jsonb, adding jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    customer_id text;
BEGIN
    IF who.role IN ('admin', 'manager') OR NOT crm_visibility_own() THEN
        RETURN;
    END IF;
    FOREACH customer_id IN ARRAY ARRAY[pair ->> 'first_id', pair ->> 'second_id'] LOOP
        IF NOT adding ? customer_id AND NOT EXISTS (
                SELECT 1 FROM customer c WHERE c.id = customer_id AND (c.owner = who.handle
                OR EXISTS (SELECT 1 FROM assignment a WHERE a.customer_id = c.id
                           AND a."user" = who.handle AND a.until IS NULL
                           AND a.deleted_at IS NULL))) THEN
            PERFORM crm_refuse(who, format('say customers %s and %s are not the same',
                    right(pair ->> 'first_id', 8), right(pair ->> 'second_id', 8)),
                'with visibility = own, members mark only customers they own or hold a role on');
        END IF;
    END LOOP;
END $$;
"""

# `crm_check_distinct_pair`'s body (`judge_writes.RULES`): `old`, `new`, `item`, `changed`.
RULE = """
        IF old IS NULL THEN
            PERFORM crm_require_sees_pair(who, item, adding);
            RETURN;
        END IF;
        IF NOT changed <@ ARRAY['deleted_at'] OR new ->> 'deleted_at' IS NULL THEN
            PERFORM crm_refuse(who, format('change the "not the same" mark %s', right(old ->> 'id', 8)),
                'a mark never changes once made; it is only withdrawn');
        END IF;
        IF who.handle <> old ->> 'marked_by' AND who.role <> 'admin' THEN
            PERFORM crm_refuse(who, format('withdraw the "not the same" mark %s', right(old ->> 'id', 8)),
                format('only %s, who made it, or an admin withdraws it', old ->> 'marked_by'));
        END IF;"""

# `crm_write_distinct_pair`, of a new mark: made now, whatever time the client sent.
CREATED = {"created_at": "now()"}

V10 = TABLE + FUNCTIONS
