"""The rules of conflict entries that more than one path applies (part of
`judge_writes`' SQL, kept apart for size): a deletion's unseen edit, a new entry's check,
what resolving an entry takes, and roles that arrive ended."""

from __future__ import annotations

from crmcli.sync.tables import SENSITIVE

ENTRIES = """
-- A deletion's unseen edit (`plan.unseen_conflict`): an entry about a customer this push
-- deletes, in the name of its last editor, holding the values the customer holds now.
CREATE FUNCTION crm_unseen_edit(item jsonb, writes jsonb) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT item ->> 'kind' = 'deleted' AND item ->> 'entity' = 'customer'
       AND jsonb_typeof(item -> 'mine') = 'object' AND EXISTS (
        SELECT 1 FROM customer c
        JOIN jsonb_array_elements(CASE WHEN jsonb_typeof(writes -> 'customer') = 'array'
                                       THEN writes -> 'customer' ELSE '[]' END) w
          ON w ->> 'id' = c.id
        WHERE c.id = item ->> 'entity_id' AND c.deleted_at IS NULL
          AND w ->> 'deleted_at' IS NOT NULL AND c.updated_by = item ->> 'actor'
          AND NOT EXISTS (
            SELECT 1 FROM jsonb_each(item -> 'mine') m
            WHERE m.key NOT IN SENSITIVE_FIELDS AND m.value IS DISTINCT FROM coalesce(
                to_jsonb(c) #> CASE WHEN m.key LIKE 'extra.%' THEN ARRAY['extra', substr(m.key, 7)]
                                    ELSE ARRAY[m.key] END, 'null')))
$$;

-- A new conflict entry: it arrives open, keeps a change of the pusher's own (an admin
-- pushes others' work; a deleter, the edit their deletion removes unseen) and is about a
-- customer the pusher sees.
CREATE FUNCTION crm_check_entry(who crm_who, item jsonb, writes jsonb, adding jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(item ->> 'resolution', item ->> 'resolved_by', item ->> 'resolved_at') IS NOT NULL THEN
        PERFORM crm_refuse(who, 'push a conflict entry resolved already',
            'an entry arrives open; its resolution is a change of its own');
    END IF;
    IF item ->> 'actor' IS DISTINCT FROM who.handle AND who.role <> 'admin'
       AND NOT crm_unseen_edit(item, writes) THEN
        PERFORM crm_refuse(who, format('keep a change by %s in a conflict entry', item ->> 'actor'),
            'members keep their own changes');
    END IF;
    IF item ->> 'customer_id' IS NOT NULL THEN
        PERFORM crm_require_sees(who, item ->> 'customer_id', adding);
    END IF;
    IF item ->> 'kind' = 'resolution' OR item ->> 'entity' = 'conflict' THEN
        PERFORM crm_check_resolution_entry(who, item);  -- `judge_resolutions.py`
    END IF;
END $$;

-- Resolving an entry takes what `crm conflicts resolve` takes (`repo/conflicts.py`): for a
-- user or a custom field, its command's role (--keep-current leaves it as it is: anyone);
-- for a record of a customer, the right to change that record (a note: `crm_require_note`;
-- --keep-current: that, or being the one whose change the entry keeps); for an entry
-- between two resolutions of another entry, what writing into that one's record takes.
CREATE FUNCTION crm_require_resolves(who crm_who, entry jsonb, resolution text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    about text := entry ->> 'entity_id';
    customer_id text;
    what text := format('resolve conflict entry %s', right(entry ->> 'id', 8));
BEGIN
    IF entry ->> 'entity' IN ('user', 'field_reader', 'field_def', 'setting') THEN
        IF resolution = 'theirs' OR who.role = 'admin'
           OR (entry ->> 'entity' = 'field_def' AND who.role = 'manager') THEN
            RETURN;
        END IF;
        PERFORM crm_refuse(who, what, CASE WHEN entry ->> 'entity' = 'field_def'
            THEN 'only an admin or a manager changes custom fields'
            ELSE 'only an admin changes users, who reads sensitive fields and team settings' END);
    END IF;
    IF resolution = 'theirs' AND entry ->> 'actor' = who.handle THEN
        RETURN;  -- giving up one's own change
    END IF;
    CASE entry ->> 'entity'
    WHEN 'customer' THEN
        customer_id := about;
    WHEN 'note' THEN  -- its author, its customer's owner, managers (`judge_notes.py`)
        IF EXISTS (SELECT 1 FROM note n WHERE n.id = about) THEN
            PERFORM crm_require_note(who, about);
            RETURN;
        END IF;
    WHEN 'attachment' THEN
        IF EXISTS (SELECT 1 FROM attachment a JOIN note n ON n.id = a.note_id
                   WHERE a.id = about AND n.author = who.handle) THEN
            RETURN;
        END IF;
        customer_id := (SELECT n.customer_id FROM attachment a JOIN note n ON n.id = a.note_id
                        WHERE a.id = about);
    WHEN 'task' THEN
        IF EXISTS (SELECT 1 FROM task t WHERE t.id = about
                   AND who.handle IN (t.assignee, t.created_by)) THEN
            RETURN;
        END IF;
        customer_id := (SELECT t.customer_id FROM task t WHERE t.id = about);
    WHEN 'assignment' THEN
        customer_id := (SELECT a.customer_id FROM assignment a WHERE a.id = about);
    WHEN 'approval' THEN  -- its decision: someone it names (`judge_approvals.py`)
        PERFORM crm_require_decides(who, a, 'approved', 'approved')
        FROM (SELECT to_jsonb(x) AS a FROM approval x WHERE x.id = about) found;
        RETURN;
    WHEN 'conflict' THEN  -- between two resolutions: what resolving that entry by writing takes
        PERFORM crm_require_resolves(who, (SELECT to_jsonb(c) FROM conflict c WHERE c.id = about),
                                     'value');
        RETURN;
    ELSE
        NULL;
    END CASE;
    PERFORM crm_require(who, coalesce(customer_id, entry ->> 'customer_id'), 'change');
END $$;

-- A role that arrives ended (a hand-over its pusher may not make, kept in a conflict
-- entry: `plan.end_unentitled_hand_overs`) gives nobody anything, and is no way to write
-- a customer's past either: unless its pusher may change the customer (or is an admin),
-- it began and ended when it arrived, handed over by its pusher.
CREATE FUNCTION crm_stamp_ended_roles(who crm_who, writes jsonb, adding jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    IF who.role = 'admin' OR jsonb_typeof(writes -> 'assignment') IS DISTINCT FROM 'array' THEN
        RETURN writes;
    END IF;
    RETURN jsonb_set(writes, '{assignment}', (
        SELECT coalesce(jsonb_agg(CASE
            WHEN x ->> 'until' IS NOT NULL AND NOT adding ? (x ->> 'customer_id')
                 AND NOT EXISTS (SELECT 1 FROM assignment a WHERE a.id = x ->> 'id')
                 AND NOT coalesce((SELECT crm_may_change(who, c) FROM customer c
                                   WHERE c.id = x ->> 'customer_id'), true)
            THEN x || jsonb_build_object('since', now(), 'until', now(), 'assigned_by', who.handle)
            ELSE x END ORDER BY n), '[]')
        FROM jsonb_array_elements(writes -> 'assignment') WITH ORDINALITY AS e(x, n)));
END $$;
""".replace("SENSITIVE_FIELDS", "(" + ", ".join(f"'{name}'" for name in SENSITIVE) + ")")
