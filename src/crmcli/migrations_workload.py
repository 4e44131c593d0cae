"""Migration steps of the workload report (`repo/reports/workload.py`) and the SLA clock
it counts with, kept beside `migrations.py`, which lists them in order (and the same rule
holds: a step that has shipped is never edited; a later one changes what it made).
"""

from sqlalchemy import Connection


def m017_workload_indexes(conn: Connection) -> None:
    """Indexes the workload report (`repo/reports/workload.py`) counts over, each partial
    and holding every column its query reads (SQLite 3.40 reads the table for a column
    named only in an index's WHERE), so that a count per member reads no table row:
    customers by owner and stage; the deleted customers (few: `customer_lists.of_live`
    lists them rather than join every task to its customer); open tasks by assignee;
    assignments waiting for acknowledgement by holder; customers with an sla, and notes
    with a direction replacing ix_note_direction with their author, for the SLA clock."""
    for statement in (
        "CREATE INDEX ix_customer_owner_stage ON customer (owner, stage, deleted_at) "
        "WHERE deleted_at IS NULL",
        "CREATE INDEX ix_customer_deleted ON customer (id, deleted_at) "
        "WHERE deleted_at IS NOT NULL",
        "CREATE INDEX ix_task_open ON task (assignee, due, customer_id, status, deleted_at) "
        "WHERE status = 'open' AND deleted_at IS NULL",
        "CREATE INDEX ix_assignment_waiting ON assignment (user) "
        "WHERE until IS NULL AND acknowledged_at IS NULL AND deleted_at IS NULL",
        "CREATE INDEX ix_customer_sla ON customer "
        "(sla, owner, created_at, id, deleted_at, merged_into) "
        "WHERE deleted_at IS NULL AND sla IS NOT NULL AND merged_into IS NULL",
        "DROP INDEX ix_note_direction",
        "CREATE INDEX ix_note_answers ON note (customer_id, direction, at, author, deleted_at) "
        "WHERE direction IS NOT NULL AND deleted_at IS NULL",
    ):
        conn.exec_driver_sql(statement)



def m018_sla_scan_in_id_order(conn: Connection) -> None:
    """The SLA clock reads every customer with an sla in the order of their ids, so that
    their notes are read in the note index's own order (`ix_customer_waits`: a third less
    time at 100,000 customers than in the order of their slas, more as the index outgrows
    the cache); the slas in use are found by a few seeks into a slim `ix_customer_sla`;
    the roles other than owner held now (`ix_assignment_held`: a late customer counts for
    its role holders too) are read without the owners' roles, one per customer."""
    for statement in (
        "DROP INDEX ix_customer_sla",
        "CREATE INDEX ix_customer_sla ON customer (sla, deleted_at, merged_into) "
        "WHERE deleted_at IS NULL AND sla IS NOT NULL AND merged_into IS NULL",
        "CREATE INDEX ix_customer_waits ON customer "
        "(id, sla, owner, created_at, deleted_at, merged_into) "
        "WHERE deleted_at IS NULL AND sla IS NOT NULL AND merged_into IS NULL",
        "CREATE INDEX ix_assignment_held ON assignment "
        "(customer_id, user, role, until, deleted_at) "
        "WHERE until IS NULL AND deleted_at IS NULL AND role != 'owner'",
    ):
        conn.exec_driver_sql(statement)


def m019_sla_waits(conn: Connection) -> None:
    """When each waiting customer began to wait, kept (`repo/sla_waits.py`): derived from
    the notes, roles and customers, brought up to date with the audit trail past
    `sla_mark` before a report counts (-1: never built). Events deleted above every one
    left (a pull's view moved) take the mark back with them, so that SQLite handing their
    seq out again is seen. Local: nothing here is synced."""
    for statement in (
        "CREATE TABLE sla_wait (customer_id VARCHAR NOT NULL PRIMARY KEY, "
        "since DATETIME NOT NULL) WITHOUT ROWID",
        "CREATE TABLE sla_mark (events INTEGER NOT NULL)",
        "INSERT INTO sla_mark VALUES (-1)",
        """CREATE TRIGGER sla_mark_event_delete AFTER DELETE ON audit_event BEGIN
    UPDATE sla_mark SET events = (SELECT coalesce(max(seq), 0) FROM audit_event)
     WHERE events >= OLD.seq AND OLD.seq > (SELECT coalesce(max(seq), 0) FROM audit_event);
END""",
    ):
        conn.exec_driver_sql(statement)


def m020_sla_waits_with_owner(conn: Connection) -> None:
    """The kept waits hold their customer's owner and sla too (as the last catch-up saw
    them: a change of either is an event, so it is caught up with the wait), so that
    counting reads sla_wait alone, not each customer beside it; a customer deleted from
    the replica (a pull's view moved) takes its wait with it. Worked out again."""
    for statement in (
        "DROP TABLE sla_wait",
        "CREATE TABLE sla_wait (customer_id VARCHAR NOT NULL PRIMARY KEY, owner VARCHAR, "
        "sla INTEGER NOT NULL, since DATETIME NOT NULL) WITHOUT ROWID",
        "CREATE INDEX ix_sla_wait_owner ON sla_wait (owner)",
        "UPDATE sla_mark SET events = -1",
        """CREATE TRIGGER sla_wait_customer_delete AFTER DELETE ON customer BEGIN
    DELETE FROM sla_wait WHERE customer_id = OLD.id;
END""",
    ):
        conn.exec_driver_sql(statement)
