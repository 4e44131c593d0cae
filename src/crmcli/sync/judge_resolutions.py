"""Schema version 5 in SQL: an entry between two resolutions of another conflict entry.

When a member's push brings a resolution of an entry someone resolved otherwise first,
the push keeps a new entry of kind "resolution" about it (`crmcli.sync.resolutions`).
The shared database checks that such an entry tells the truth: it is about an entry
resolved already, on the same customer; its `theirs` names that entry's resolution, its
resolver and time exactly as the shared database holds them; its `mine` is the pusher's
own (the entry's `actor`); a value it keeps of a sensitive field is `restricted`. Any
entry about a conflict entry is of that kind. Resolving one takes what resolving the
entry it is about by writing takes, unless it gives up the resolver's own
(`crm_require_resolves`, `judge_writes.py`).
"""

from __future__ import annotations

RESOLUTION_ENTRIES = r"""
CREATE FUNCTION crm_check_resolution_entry(who crm_who, item jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    first conflict := (SELECT c FROM conflict c WHERE c.id = item ->> 'entity_id');
    what text := format('keep two resolutions of conflict entry %s', right(item ->> 'entity_id', 8));
BEGIN
    IF item ->> 'kind' IS DISTINCT FROM 'resolution' OR item ->> 'entity' IS DISTINCT FROM 'conflict'
       OR item ->> 'field' IS DISTINCT FROM 'resolution' OR jsonb_typeof(item -> 'base') <> 'null' THEN
        PERFORM crm_refuse(who, what, 'an entry about a conflict entry is of kind resolution, about its field resolution');
    END IF;
    IF first.id IS NULL OR first.resolved_at IS NULL THEN
        PERFORM crm_refuse(who, what, 'it is about an entry resolved already');
    END IF;
    IF item ->> 'customer_id' IS DISTINCT FROM first.customer_id THEN
        PERFORM crm_refuse(who, what, 'it is about the customer of the entry it is about');
    END IF;
    IF jsonb_typeof(item -> 'theirs') IS DISTINCT FROM 'object'
       OR item -> 'theirs' ->> 'resolution' IS DISTINCT FROM first.resolution
       OR item -> 'theirs' ->> 'by' IS DISTINCT FROM first.resolved_by
       OR (item -> 'theirs' ->> 'at')::timestamptz IS DISTINCT FROM first.resolved_at THEN
        PERFORM crm_refuse(who, what, format('the resolution that stands is %s''s', first.resolved_by));
    END IF;
    IF jsonb_typeof(item -> 'mine') IS DISTINCT FROM 'object'
       OR item -> 'mine' ->> 'by' IS DISTINCT FROM item ->> 'actor'
       OR NOT coalesce(item -> 'mine' ->> 'resolution' IN ('mine', 'theirs', 'value'), false) THEN
        PERFORM crm_refuse(who, what, 'the other resolution is the entry''s author''s own');
    END IF;
    IF regexp_replace(first.field, '^extra\.', '') = ANY(crm_sensitive_fields())
       AND coalesce(item -> 'mine' -> 'value', 'null') NOT IN ('null', '"restricted"') THEN
        PERFORM crm_refuse(who, what, format('%s is sensitive: its value stays out of entries', first.field));
    END IF;
END $$;
"""
