"""Schema version 5 in SQL: who changes or deletes a note.

Issue 10 narrowed the rule: a note is changed or deleted only by its author, its
customer's owner and those who may delete the customer (managers of the owner's
department, admins; of a customer with no owner, managers and admins) — the customer's
other role holders add notes but no longer rewrite anyone's (`permissions.may_change_note`).
`crm_require_note` is that rule with its sentence; version 5's rewritten checks
(`judge_writes.RULES["note"]`, `crm_require_resolves`) call it, so it comes before them.
"""

from __future__ import annotations

NOTE_RULE = r"""
CREATE FUNCTION crm_require_note(who crm_who, note_id text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n note := (SELECT x FROM note x WHERE x.id = note_id);
    c customer := (SELECT x FROM customer x WHERE x.id = n.customer_id);
    dept text := (SELECT u.department FROM users u WHERE u.handle = c.owner);
BEGIN
    IF n.id IS NULL OR n.author = who.handle OR coalesce(c.owner = who.handle, false)
       OR crm_may_delete(who, c) THEN
        RETURN;
    END IF;
    PERFORM crm_refuse(who, format('change a note on customer %s (%s)', right(c.id, 8), c.name),
        CASE WHEN c.owner IS NULL THEN format('a note on a customer with no owner is changed '
                 'or deleted only by its author (%s), managers and admins', n.author)
             ELSE format('a note is changed or deleted only by its author (%s), the '
                 'customer''s owner (%s)%s and admins', n.author, c.owner,
                 coalesce(', managers of ' || dept, '')) END);
END $$;
"""
