"""The stage history: every time a customer's stage was set, as the audit trail says.

An entry is an audit event of a customer whose `changes` set its stage (`stage: [old,
new]`): its creation (a create lists every field it was made with), an edit, an import,
a conflict resolved, an event pulled from the team. Each entry holds what the funnel asks
of it (table `stage_entry`, migrations m015 and m016):
- `stage` as its place in `fields.STAGES` counted from 1 (lead 1 ... won 5, lost 6,
  churned 7) and `at` in whole seconds (unix time);
- `left_at`: when the customer's next entry came; `stay`: `left_at - at` when that entry
  changed its stage (not when it set the stage it was in: two members' edits crossing);
- `prev_same_at`: the customer's previous entry into the same stage (none: its first);
- `reached`: the furthest funnel stage (lead..won) the customer entered after it;
- `who`: the customer's owner, department and source as they are now, as the number of
  that combination in `stage_who` (kept once each, NULL as ''), or NULL when the customer
  is not live (not held here, deleted, merged into another): a filter reads the few
  combinations, then the entries by number, with no look-up of the customer per entry.
A customer's entries are in the order of their events' time, then their seq (events of
one moment come from one write, made in that order).

The table is derived state, brought up to date by `catch_up` (events past the mark, new
customers, customers whose entries changed) in a write transaction before a report reads
it; the triggers of m015 and m016 keep it right when events are deleted or rewritten and when a
customer's owner, department, source or liveness changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import column, table
from sqlmodel import Session

from crmcli import fields

ENTRY = table("stage_entry", *(column(name) for name in (
    "seq", "customer_id", "stage", "at", "left_at", "stay", "prev_same_at", "reached", "who")))
WHO = table("stage_who", column("id"), column("owner"), column("department"), column("source"))

# a stage's number in stage_entry: its place in fields.STAGES, from 1
RANK = {stage: place for place, stage in enumerate(fields.STAGES, start=1)}
FUNNEL = fields.STAGES[:5]  # lead, qualified, proposal, negotiation, won
WON = RANK["won"]

# A stage as stored, by its name or an alias (an older client, a sheet loaded by hand:
# `crm report quality` lists them as invalid), ignoring case, as its number.
NAMES = {**{stage: stage for stage in fields.STAGES}, **fields.STAGE_ALIASES}
_RANK_OF = "CASE lower(trim({})) " + " ".join(
    f"WHEN '{name}' THEN {RANK[stage]}" for name, stage in NAMES.items()) + " END"
# The entries of the events past the mark (instr first: a test of the text costs less
# than reading the JSON, and most events do not name the stage).
_NEW = f"""
CREATE TEMP TABLE stage_new AS
SELECT seq, customer_id, stage, CAST(strftime('%s', at) AS INTEGER) AS at
  FROM (SELECT seq, customer_id, at, {_RANK_OF.format("json_extract(changes, '$.stage[1]')")}
               AS stage
          FROM audit_event
         WHERE seq > :after AND seq <= :upto AND entity = 'customer'
           AND customer_id IS NOT NULL AND instr(changes, '"stage"'))
 WHERE stage IS NOT NULL"""
# Customers to work out again: those with new entries, and those that arrived after their
# entries were made (a pull brings events and records in pages of their own).
_DIRTY = """
INSERT OR IGNORE INTO stage_dirty SELECT customer_id FROM temp.stage_new;
INSERT OR IGNORE INTO stage_dirty SELECT c.id FROM customer c
 WHERE c.pk > :after AND c.pk <= :upto
   AND EXISTS (SELECT 1 FROM stage_entry e WHERE e.customer_id = c.id)"""
# Every entry of those customers, the ones held (but those the new ones replace) and the
# new ones, in each customer's order (its key: each entry finds its neighbours by it).
_WORK = """
CREATE TEMP TABLE stage_work (customer_id, at, seq, stage, PRIMARY KEY (customer_id, at, seq))
WITHOUT ROWID;
INSERT INTO temp.stage_work
SELECT customer_id, at, seq, stage FROM stage_entry
 WHERE customer_id IN (SELECT customer_id FROM stage_dirty) AND seq <= :after
 UNION ALL SELECT customer_id, at, seq, stage FROM temp.stage_new ORDER BY 1, 2, 3"""
_LATER = "n.customer_id = w.customer_id AND (n.at, n.seq) > (w.at, w.seq)"
_WHO = """
INSERT OR IGNORE INTO stage_who (owner, department, source)
SELECT DISTINCT coalesce(owner, ''), coalesce(department, ''), coalesce(source, '')
  FROM customer WHERE id IN (SELECT customer_id FROM stage_dirty)"""
_WORKED_OUT = f"""
INSERT INTO stage_entry (seq, customer_id, stage, at, left_at, stay, prev_same_at, reached,
                         who)
SELECT w.seq, w.customer_id, w.stage, w.at, w.left_at,
       CASE WHEN w.next_stage != w.stage THEN w.left_at - w.at END, w.prev_same_at, w.reached,
       CASE WHEN c.deleted_at IS NULL AND c.merged_into IS NULL THEN who.id END
  FROM (SELECT w.*,
               (SELECT n.at FROM temp.stage_work n WHERE {_LATER}
                 ORDER BY n.at, n.seq LIMIT 1) AS left_at,
               (SELECT n.stage FROM temp.stage_work n WHERE {_LATER}
                 ORDER BY n.at, n.seq LIMIT 1) AS next_stage,
               (SELECT max(n.stage) FROM temp.stage_work n WHERE {_LATER}
                   AND n.stage <= {RANK["won"]}) AS reached,
               (SELECT max(n.at) FROM temp.stage_work n WHERE n.customer_id = w.customer_id
                   AND n.stage = w.stage AND (n.at, n.seq) < (w.at, w.seq)) AS prev_same_at
          FROM temp.stage_work w) w
  LEFT JOIN customer c ON c.id = w.customer_id
  LEFT JOIN stage_who who ON who.owner = coalesce(c.owner, '')
        AND who.department = coalesce(c.department, '') AND who.source = coalesce(c.source, '')
 ORDER BY w.seq"""
# Past this share of the table, its indexes are built again after the writes rather than
# kept up to date row by row (one sort instead of a random write per row and index).
REBUILD_SHARE = 0.25


def behind(s: Session) -> int:
    """How many events were recorded past the mark (a front end says it is working when
    there are many: after an upgrade or a first sync, the whole history)."""
    return s.connection().exec_driver_sql(
        "SELECT coalesce(max(seq), 0) - (SELECT events FROM stage_mark) FROM audit_event"
    ).scalar_one()


def catch_up(s: Session) -> None:
    """Bring the stage history up to date with the audit trail and the customers (call in
    a write transaction; nothing to do costs three look-ups)."""
    run = s.connection().exec_driver_sql
    s.flush()
    events, customers = run("SELECT events, customers FROM stage_mark").one()
    top_event = run("SELECT coalesce(max(seq), 0) FROM audit_event").scalar_one()
    top_customer = run("SELECT coalesce(max(pk), 0) FROM customer").scalar_one()
    if (top_event, top_customer) == (events, customers) and not run(
            "SELECT 1 FROM stage_dirty LIMIT 1").first():
        return
    run(_NEW, {"after": events, "upto": top_event})
    for statement in _DIRTY.split(";"):
        run(statement, {"after": customers, "upto": top_customer})
    for statement in _WORK.split(";"):
        run(statement, {"after": events})
    work = run("SELECT count(*) FROM temp.stage_work").scalar_one()
    held = run("SELECT count(*) FROM stage_entry").scalar_one()
    with _indexes_aside(s, work > held * REBUILD_SHARE):
        run("DELETE FROM stage_entry WHERE customer_id IN (SELECT customer_id FROM stage_dirty)")
        run(_WHO)
        run(_WORKED_OUT)
    for name in ("temp.stage_new", "temp.stage_work"):
        run(f"DROP TABLE {name}")
    run("DELETE FROM stage_dirty")
    run("UPDATE stage_mark SET events = ?, customers = ?", (top_event, top_customer))


@contextmanager
def _indexes_aside(s: Session, aside: bool) -> Iterator[None]:
    """With `aside`, drop stage_entry's indexes for the block and build them after."""
    run = s.connection().exec_driver_sql
    made = run("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
               "AND tbl_name = 'stage_entry' AND sql IS NOT NULL").all() if aside else []
    for name, _ in made:
        run(f'DROP INDEX "{name}"')
    yield
    for _, sql in made:
        run(sql)
