"""Schema version 7 in SQL: `crm_push` says which of its rows it stored exactly as sent.

The pull that follows a push read back every record the push wrote (each got a new
`server_seq`) and every event it stored: at 100,000 imported customers, 40 % of the
client's time went to rows it already held. So `crm_push` returns the stamp of each
pushed record the shared database now holds with the values it was sent (every column but its stamp, `server_seq`, and `updated_at`, which must be
the push's own time), and of each event it stored; the replica may leave those out of
its pull (`sent.py`). Whatever the shared database changed in a row (a field it kept, a
stamp or author it set, a role it ended) makes it unequal, and so it is pulled.

The comparison is of what the pusher sent with what is stored, in the columns a member
reads anyway (the sensitive ones are left out: equal or not, they tell nothing a push
could not otherwise learn); what the replica does with the answer can only leave it
without rows it should have read, never hide anything from anyone else.
"""

from __future__ import annotations

from crmcli.sync import judge_writes
from crmcli.sync.tables import SENSITIVE

UNCOMPARED = frozenset({"updated_at", *SENSITIVE})


def _compared(entity: str) -> list[str]:
    return [f'"{name}"' for name in judge_writes.shared_columns(entity)
            if name not in UNCOMPARED]


def _sent_function(entity: str) -> str:
    table = judge_writes.TABLE_OF[entity]
    columns = _compared(entity)
    stored = ", ".join(f"t.{name}" for name in columns)
    sent = ", ".join(f"p.{name}" for name in columns)
    return f"""
CREATE OR REPLACE FUNCTION crm_sent_{entity}(items jsonb, stamped_after bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_object_agg(t.id, t.server_seq), '{{}}')
    FROM jsonb_array_elements(coalesce(items, '[]')) AS a(x)
    CROSS JOIN LATERAL jsonb_populate_record(NULL::{table}, a.x) AS p
    JOIN {table} t ON t.id = p.id
    WHERE t.server_seq > stamped_after AND t.updated_at = now()
      AND ({stored}) IS NOT DISTINCT FROM ({sent})
$$;
"""


def functions(version: int) -> str:
    """The SQL that creates `crm_sent_*`, one per kind of record schema `version` holds,
    and `crm_sent`."""
    kinds = "".join(
        f"""
    IF jsonb_typeof(writes -> '{entity}') = 'array' THEN
        found := found || jsonb_build_object('{entity}', crm_sent_{entity}(writes -> '{entity}', since));
    END IF;"""
        for entity in judge_writes.kinds(version)
    )
    return "".join(_sent_function(entity) for entity in judge_writes.kinds(version)) + f"""
-- What a push stamped after `since` (the stamp when it took the writer lock: every later
-- one is its own) exactly as sent: {{"records": {{entity: {{id: stamp}}}}, "events": {{id:
-- stamp}}}}, the events all those it stored (the replica knows which are its own).
CREATE OR REPLACE FUNCTION crm_sent(writes jsonb, since bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    found jsonb := '{{}}';
BEGIN{kinds}
    RETURN jsonb_build_object('records', found, 'events', (
        SELECT coalesce(jsonb_object_agg(e.id, e.server_seq), '{{}}')
        FROM audit_event e WHERE e.server_seq > since));
END $$;
"""
