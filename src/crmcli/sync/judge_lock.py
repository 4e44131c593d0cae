"""Schema version 4 in SQL: nobody keeps the team's writer lock by leaving a push open.

`crm_push` takes the team's lock until its transaction ends. crmcli commits a push at
once, but a member in psql can call it inside a transaction they leave open, having
lowered their own timeouts to none (a member may change their session's settings), and
every other push would wait. So a push that finds the lock held by a session idle in its
transaction for more than `IDLE_SECONDS` ends that session first (the owner role may
signal members' sessions, `security.secure`); a push in progress is never touched.

Version 7 leaves a superuser's session alone: no role of ours may end it, and trying made
the member's push fail ("must be a superuser to terminate superuser process") where it
should wait, as for any administrator at work in psql.
"""

IDLE_SECONDS = 5

LOCK_BREAKER = f"""
CREATE OR REPLACE FUNCTION crm_break_idle_lock() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    key bigint := hashtext('crmcli:' || current_schema());
BEGIN
    PERFORM pg_terminate_backend(a.pid)
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    JOIN pg_roles r ON r.oid = a.usesysid
    WHERE l.locktype = 'advisory' AND l.granted AND a.pid <> pg_backend_pid()
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = ((key >> 32) & 4294967295)::oid AND l.objid = (key & 4294967295)::oid
      AND a.state LIKE 'idle in transaction%' AND NOT r.rolsuper
      AND a.state_change < clock_timestamp() - interval '{IDLE_SECONDS} seconds';
END $$;
"""
