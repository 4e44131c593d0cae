"""Schema version 9 in SQL: approvals (`repo/approvals.py`), judged by the shared database.

The `approval` table is a synced record like a task (stamped, locked and numbered by the
same triggers as every table since version 1). Its rules, `RULE` in `crm_check_approval`
(`judge_writes.RULES`):

- a request is made by anyone who sees its customer (`crm_require_sees`), in their own
  name (`judge_writes.AUTHORS`);
- after that, only its decision changes (status, decided_by, decided_at, decision_reason):
  withdrawn by its requester while open, otherwise written by someone the request names
  (`crm_may_decide`, the same rule as `permissions.may_decide_approval`); who decided and
  when are the server's (`STAMPS`, `CREATED`), never the client's.

And the team setting `won_requires_approval` (a kind): a pushed change of a customer's
stage to `won` is refused unless an approval of that kind is approved for it, in the
shared database or by the same push (`crm_won_needs_approval` notes the customers during
the checks, `crm_require_won_approved` asks again once the push's records are written).
"""

from __future__ import annotations

from crmcli.sync.judge_tables import record_table

KINDS = ("contract", "discount", "quote", "refund", "payment", "other")  # `approvals.KINDS`
_KINDS = ", ".join(f"'{kind}'" for kind in KINDS)

TABLE = record_table("approval", f"""
    customer_id text NOT NULL REFERENCES customer (id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED,
    kind text NOT NULL CHECK (kind IN ({_KINDS})),
    amount text CHECK (amount ~ '^[0-9]{{1,15}}(\\.[0-9]{{1,6}})?$'),
    target text NOT NULL CHECK (target ~ '^(role:(manager|admin)|dept:.+|user:.+)$'),
    reason text,
    requested_by text NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'approved', 'rejected', 'withdrawn')),
    decided_by text,
    decided_at timestamptz,
    decision_reason text,""") + "CREATE INDEX approval_customer ON approval (customer_id);\n"

FUNCTIONS = """
-- Whether `who` decides this request: never its requester; admins any; role:manager, a
-- manager of the customer's department (its own, else its owner's; none: any manager);
-- dept:D, a manager of D; user:H, H.
CREATE FUNCTION crm_may_decide(who crm_who, approval jsonb) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    target text := approval ->> 'target';
    dept text;
BEGIN
    IF who.handle = approval ->> 'requested_by' THEN RETURN false; END IF;
    IF who.role = 'admin' THEN RETURN true; END IF;
    IF target = 'role:manager' THEN
        SELECT coalesce(nullif(c.department, ''), nullif(u.department, '')) INTO dept
        FROM customer c LEFT JOIN users u ON u.handle = c.owner
        WHERE c.id = approval ->> 'customer_id';
        RETURN coalesce(who.role = 'manager' AND (dept IS NULL OR who.department = dept), false);
    END IF;
    IF target LIKE 'dept:%' THEN
        RETURN coalesce(who.role = 'manager' AND who.department = substr(target, 6), false);
    END IF;
    RETURN coalesce(target = 'user:' || who.handle, false);
END $$;

-- Writing a decision (`status` from `was`): an open request is withdrawn by its requester;
-- anything else is written by someone the request names.
CREATE FUNCTION crm_require_decides(who crm_who, approval jsonb, was text, status text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF status = 'withdrawn' AND was = 'open' THEN
        IF who.handle = approval ->> 'requested_by' OR who.role = 'admin' THEN RETURN; END IF;
        PERFORM crm_refuse(who, format('withdraw approval %s', right(approval ->> 'id', 8)),
            'only its requester withdraws it');
    END IF;
    IF NOT crm_may_decide(who, approval) THEN
        PERFORM crm_refuse(who, format('decide approval %s', right(approval ->> 'id', 8)),
            format('it is decided by %s or admins, never by its requester', approval ->> 'target'));
    END IF;
END $$;

-- The kind of approval `won` waits for (the team setting), or NULL.
CREATE FUNCTION crm_won_requires() RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT s.value #>> '{}' FROM setting s
            WHERE s.key = 'won_requires_approval' AND s.deleted_at IS NULL);
END $$;

CREATE FUNCTION crm_won_approved(customer_id text, wanted text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM approval a WHERE a.customer_id = crm_won_approved.customer_id
                   AND a.kind = wanted AND a.status = 'approved' AND a.deleted_at IS NULL)
$$;

-- A customer's stage pushed to won: approved already, or noted for after the writes.
CREATE FUNCTION crm_won_needs_approval(old jsonb, new jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    wanted text := crm_won_requires();
BEGIN
    IF wanted IS NULL OR new ->> 'stage' IS DISTINCT FROM 'won' OR old ->> 'stage' = 'won'
       OR crm_won_approved(old ->> 'id', wanted) THEN
        RETURN;
    END IF;
    PERFORM set_config('crm.won_pending',
        coalesce(current_setting('crm.won_pending', true), '') || (old ->> 'id') || ' ', true);
END $$;

-- After a push's writes: every customer noted is approved now (by this push), or refused.
CREATE FUNCTION crm_require_won_approved(who crm_who) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    wanted text := crm_won_requires();
    pending text[] := string_to_array(trim(coalesce(current_setting('crm.won_pending', true), '')), ' ');
    missing record;
BEGIN
    PERFORM set_config('crm.won_pending', '', true);
    IF wanted IS NULL OR coalesce(cardinality(pending), 0) = 0 THEN RETURN; END IF;
    SELECT c.id, c.name INTO missing FROM customer c
    WHERE c.id = ANY (pending) AND c.stage = 'won' AND NOT crm_won_approved(c.id, wanted)
    LIMIT 1;
    IF FOUND THEN
        PERFORM crm_refuse(who, format('make customer %s (%s) won', right(missing.id, 8), missing.name),
            format('the team requires an approved %s approval first (won_requires_approval)', wanted));
    END IF;
END $$;
"""

# `crm_check_approval`'s body (`judge_writes.RULES`): `old`, `new`, `item`, `changed`.
RULE = """
        IF old IS NULL THEN
            PERFORM crm_require_sees(who, item ->> 'customer_id', adding);
            IF coalesce(new ->> 'status', 'open') <> 'open' THEN  -- decided before its push
                PERFORM crm_require_decides(who, new || jsonb_build_object('requested_by',
                    CASE WHEN who.role <> 'admin' THEN who.handle ELSE new ->> 'requested_by' END),
                    'open', new ->> 'status');
            END IF;
            RETURN;
        END IF;
        IF NOT changed <@ ARRAY['status', 'decided_by', 'decided_at', 'decision_reason'] THEN
            PERFORM crm_refuse(who, format('change approval %s', right(old ->> 'id', 8)),
                'a request never changes once made; only its decision is written');
        END IF;
        PERFORM crm_require_decides(who, old, old ->> 'status', new ->> 'status');"""

# `crm_write_approval`, of a stored request: a decision written is the pusher's, now.
STAMPS = [
    "IF (new.status, new.decided_by, new.decision_reason)",
    "   IS DISTINCT FROM (old.status, old.decided_by, old.decision_reason) THEN",
    "    new.decided_at := now();",
    "    IF who.role <> 'admin' THEN new.decided_by := who.handle; END IF;",
    "ELSE",
    "    new.decided_at := old.decided_at;",
    "END IF;",
]
# ... of a new one (decided before it was pushed): the same.
CREATED = {
    "decided_by": "CASE WHEN new.status = 'open' THEN NULL WHEN who.role <> 'admin' "
                  "THEN who.handle ELSE new.decided_by END",
    "decided_at": "CASE WHEN new.status = 'open' THEN NULL ELSE now() END",
}

V9 = TABLE + FUNCTIONS
SINCE = 9  # the schema version that brought approvals and the won gate


def customer_rule(entity: str, version: int | None) -> str:
    """What `crm_check_customer` adds from version 9 on: a stage pushed to won is noted
    for the gate (appended after the customer's rules, which never return early for a
    stored customer)."""
    if entity != "customer" or (version is not None and version < SINCE):
        return ""
    return """
    IF old IS NOT NULL AND changed && ARRAY['stage'] THEN
        PERFORM crm_won_needs_approval(old, new);  -- `judge_approvals.py`
    END IF;"""


def after_writes(version: int) -> str:
    """What `crm_push` asks once its records are written, from version 9 on."""
    if version < SINCE:
        return ""
    return """        what := 'the customers made won';
        PERFORM crm_require_won_approved(who);  -- `judge_approvals.py`"""
