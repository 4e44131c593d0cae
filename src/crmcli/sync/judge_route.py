"""Schema version 9 in SQL: round-robin turns shared by every replica of a team.

`crm_route_turn` holds, per routing rule, the last member served; it is no record (it
does not sync, has no history and no read policy) and members hold no privilege on it.
The only way to take a turn is `crm_route_take(rule, n)`, SECURITY DEFINER: it reads the
rule from the shared `setting` table (never what the client says it is), its target's
active members from `users` in handle order, and, under the counter row's lock, hands out
the next `n` of them and moves the counter past them. Two replicas importing at once
queue on that row, so their turns are disjoint: nobody skipped, nobody served twice.

What a member can do with it is take turns of an existing round-robin rule, as many as an
import would (`n` at most MAX_TURNS a call): nothing else is written, nothing is read but
the handles a rule routes to (which every member reads in `users` anyway).
"""

MAX_TURNS = 10_000

ROUTE_TURNS = f"""
CREATE TABLE crm_route_turn (
    rule text PRIMARY KEY,
    last_handle text,
    taken bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION crm_route_take(rule_name text, n integer) RETURNS text[]
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
DECLARE
    who crm_who := crm_actor();
    spec jsonb;
    target jsonb;
    team text[];
    last text;
    start integer;
    given text[];
BEGIN
    IF NOT who.active THEN
        PERFORM crm_refuse(who, 'take routing turns', 'a deactivated member routes nothing');
    END IF;
    IF n IS NULL OR n < 1 OR n > {MAX_TURNS} THEN
        RAISE EXCEPTION 'turns are taken 1 to {MAX_TURNS} at a time, not %', n
            USING ERRCODE = '22023';
    END IF;
    SELECT s.value INTO spec FROM setting s
        WHERE s.key = 'rule.' || rule_name AND s.deleted_at IS NULL;
    IF spec IS NULL OR spec ->> 'how' IS DISTINCT FROM 'round-robin' THEN
        RAISE EXCEPTION 'the shared database has no round-robin rule %', rule_name
            USING ERRCODE = 'P0002';
    END IF;
    target := spec -> 'to';
    IF jsonb_typeof(target) = 'array' THEN
        team := ARRAY(SELECT u.handle FROM users u
            WHERE u.handle IN (SELECT jsonb_array_elements_text(target))
              AND u.active AND u.deleted_at IS NULL ORDER BY u.handle COLLATE "C");
    ELSIF target #>> '{{}}' LIKE 'dept:%' THEN
        team := ARRAY(SELECT u.handle FROM users u
            WHERE u.department = substr(target #>> '{{}}', 6)
              AND u.active AND u.deleted_at IS NULL ORDER BY u.handle COLLATE "C");
    END IF;
    IF coalesce(cardinality(team), 0) = 0 THEN
        RETURN '{{}}';
    END IF;
    INSERT INTO crm_route_turn (rule) VALUES (rule_name) ON CONFLICT (rule) DO NOTHING;
    SELECT t.last_handle INTO last FROM crm_route_turn t WHERE t.rule = rule_name FOR UPDATE;
    start := coalesce((SELECT min(i) FROM generate_subscripts(team, 1) AS i
                       WHERE last IS NULL OR team[i] > last COLLATE "C"), 1);
    given := ARRAY(SELECT team[((start - 1 + k) % cardinality(team)) + 1]
                   FROM generate_series(0, n - 1) AS k ORDER BY k);
    UPDATE crm_route_turn SET last_handle = given[n], taken = taken + n
        WHERE crm_route_turn.rule = rule_name;
    RETURN given;
END $$;
"""
