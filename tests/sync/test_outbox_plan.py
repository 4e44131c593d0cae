"""The outbox is read through its partial index, never by reading the whole history.

Every page of a pull asks for the unpushed events, and a push asks for them batch by batch:
a replica holds its whole team's history, so a query of the outbox that scans it costs
as much as the history is long (a first sync of 100,000 customers spent a fifth of its
time there)."""

from __future__ import annotations

from sqlalchemy import event

from crmcli.sync import local


def test_every_query_of_the_outbox_reads_its_partial_index(crm, alice, database):
    assert crm("customer", "add", "Acme Trading").exit_code == 0  # an event to push
    with database() as s:
        run: list[tuple[str, tuple]] = []
        engine = s.get_bind()
        listener = lambda *args: run.append((args[2], tuple(args[3])))  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            outbox = local.unsynced(s)  # alice's own joining, then the customer
            pending = outbox[-1]
            assert local.count_unsynced(s) == len(outbox) > 1
            assert local.unsynced_after(s, outbox[0].seq, limit=10, upto=pending.seq)[-1].id \
                == pending.id
            assert [e.id for e in local.unsynced_about(s, [pending.entity_id], 0)] == [pending.id]
            assert local.last_change(s, [pending.entity_id], 0) == pending.seq
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        asked = [(sql, parameters) for sql, parameters in run if "audit_event" in sql]
        assert len(asked) == 5
        for sql, parameters in asked:
            plan = [row[3] for row in s.connection().exec_driver_sql(
                f"EXPLAIN QUERY PLAN {sql}", parameters)]
            read = [step for step in plan if "audit_event" in step]
            # the outbox's own index, or a record's events (unsynced_about: a few)
            assert read and all("ix_audit_unsynced" in step or "ix_audit_entity" in step
                                for step in read), (sql, plan)
