"""Schema version 6 in SQL: records new to the shared database, written set-based.

A push of imported customers brings thousands of new customers and their owner roles.
Judged and written one by one (`judge_writes`), each costs two PL/pgSQL calls, a lookup,
and an INSERT of its own: most of a push's server time. So `crm_push` first picks out the
new records whose check cannot refuse them (`crm_fresh_*`, the conditions below, each of
which implies that `crm_check_*` passes), and writes those in one INSERT … SELECT per
table with the stamps a one-by-one write gives (`judge_writes.created_values`). Every
other record goes the one-by-one way, as before. If the set-based INSERT is refused (a
value the data dictionary refuses, a constraint), it is undone and the records are
written one by one, so the refusal names the record as before.

A record is fresh when its id is given once in the push, no stored record has it, its
text as a whole is within max_text (so no value is longer: `crm_check_sizes`), and
`PASSES[entity]` holds (`x` the pushed row, `who` the pusher, `adding` the customers the
push creates, `sensitive` every sensitive field). A kind of record not named in PASSES
is always judged one by one.
"""

from __future__ import annotations

from crmcli.sync import judge_writes  # (which imports this: names read when called)

# Each implies that the rules of `judge_writes.RULES` (and `SENT`) let a new record pass.
PASSES = {
    # sends no sensitive value (standard or custom, beside the record or in `extra`): no
    # readers to ask, no secret to keep apart (asked of the keys in place: until schema
    # version 8, of two arrays made of them, 4 µs of CPU a customer)
    "customer": """NOT (x ?| sensitive)
         AND NOT (jsonb_typeof(x -> 'extra') = 'object' AND x -> 'extra' ?| sensitive)""",
    # acknowledged by nobody, by its holder or by an admin; on a customer the push creates,
    # ended on arrival, or pushed by an admin (who may change every customer)
    "assignment": """(x ->> 'acknowledged_at' IS NULL OR x ->> 'user' = who.handle
             OR who.role = 'admin')
         AND (adding ? (x ->> 'customer_id') OR x ->> 'until' IS NOT NULL
              OR who.role = 'admin')""",
    # added to a customer the pusher sees (`crm_require_sees`)
    "note": "(who.role IN ('admin', 'manager') OR adding ? (x ->> 'customer_id') "
            "OR NOT crm_visibility_own())",
}
PASSES["task"] = PASSES["note"]
FRESH = tuple(PASSES)


def _fresh_function(entity: str) -> str:
    table = judge_writes.TABLE_OF[entity]
    return f"""
CREATE OR REPLACE FUNCTION crm_fresh_{entity}(who crm_who, items jsonb, adding jsonb,
                                               max_text bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    sensitive text[] := crm_sensitive_fields();
BEGIN
    RETURN (SELECT coalesce(jsonb_object_agg(x ->> 'id', true), '{{}}')
    FROM (SELECT x, count(*) OVER (PARTITION BY x ->> 'id') AS times
          FROM jsonb_array_elements(coalesce(items, '[]')) x) pushed
    WHERE times = 1 AND x ->> 'id' IS NOT NULL AND octet_length(x::text) <= max_text
      AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = x ->> 'id')
      AND {PASSES[entity]});
END $$;
"""


def _insert_function(entity: str) -> str:
    table = judge_writes.TABLE_OF[entity]
    names = judge_writes.shared_columns(entity)
    stamped = judge_writes.created_values(entity)
    values = ", ".join(stamped.get(name, f'new."{name}"') for name in names)
    return f"""
CREATE OR REPLACE FUNCTION crm_insert_fresh_{entity}(who crm_who, items jsonb, fresh jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {table} ({", ".join(f'"{name}"' for name in names)})
    SELECT {values}
    FROM jsonb_array_elements(coalesce(items, '[]')) WITH ORDINALITY AS a(x, n),
         LATERAL jsonb_populate_record(NULL::{table}, a.x) AS new
    WHERE fresh ? (a.x ->> 'id')
    ORDER BY a.n;
END $$;
"""


def functions() -> str:
    """The SQL that creates the fresh-record functions `crm_push` calls."""
    return "".join(_fresh_function(entity) + _insert_function(entity) for entity in FRESH)


def one_by_one(entity: str) -> str:
    """The WHERE clause that leaves to `crm_push`'s loops over pushed rows `x` those it
    checks and writes one by one (every one, for a kind without a set-based path)."""
    if entity not in PASSES:
        return ""
    return f"\n                    WHERE NOT coalesce(fresh_{entity} ? (x ->> 'id'), false)"


def declarations() -> str:
    """`crm_push`'s variables: the ids of each kind's fresh records (a jsonb set)."""
    return "".join(f"\n    fresh_{entity} jsonb := '{{}}';" for entity in FRESH)


def picked() -> str:
    """`crm_push`'s statements that pick out the fresh records (before any check)."""
    return "".join(  # (a table the push does not write is not even read: not locked)
        f"\n        IF jsonb_typeof(writes -> '{entity}') = 'array' THEN"
        f"\n            fresh_{entity} := crm_fresh_{entity}(who, writes -> '{entity}', adding,"
        " max_text);\n        END IF;"
        for entity in FRESH
    )


def written(entity: str) -> str:
    """`crm_push`'s statements that write a kind's fresh records at once (or one by one,
    to name the one refused)."""
    if entity not in PASSES:
        return ""
    return f"""
        IF fresh_{entity} <> '{{}}' THEN
            what := 'the new {entity} records';
            BEGIN
                PERFORM crm_insert_fresh_{entity}(who, writes -> '{entity}', fresh_{entity});
            EXCEPTION WHEN OTHERS THEN  -- undone: name the record refused
                FOR item IN SELECT x FROM jsonb_array_elements(writes -> '{entity}') x
                            WHERE fresh_{entity} ? (x ->> 'id') LOOP
                    what := '{entity} ' || (item ->> 'id');
                    PERFORM crm_write_{entity}(who, item);
                END LOOP;
            END;
        END IF;"""
