"""Migration steps of the stage history the funnel reads (`repo/reports/stage_history.py`),
kept beside `migrations.py`, which lists them in order (and the same rule holds: a step
that has shipped is never edited; a later one changes what it made).
"""

from sqlalchemy import Connection

# --- m015: the stage history the funnel reads (`repo/reports/stage_history.py`) ----------
# One row per audit event that set a customer's stage, with what the funnel asks of it
# worked out once (when the customer's next entry came, how long it stayed if that entry
# changed its stage, its previous entry into the same stage, the furthest funnel stage it
# entered afterwards) and the customer's current owner, department, source and whether it
# is live. Nothing here is synced: it is derived from the history and the customers.
_STAGE_HISTORY = [
    """CREATE TABLE stage_entry (
    seq INTEGER NOT NULL PRIMARY KEY,
    customer_id VARCHAR NOT NULL,
    stage INTEGER NOT NULL,
    at INTEGER NOT NULL,
    left_at INTEGER,
    stay INTEGER,
    prev_same_at INTEGER,
    reached INTEGER,
    live BOOLEAN NOT NULL,
    owner VARCHAR,
    department VARCHAR,
    source VARCHAR)""",
    "CREATE INDEX ix_stage_entry_customer ON stage_entry (customer_id)",
    # entered per stage in a period (first entries), and how far they went
    "CREATE INDEX ix_stage_entry_entered ON stage_entry (stage, at, prev_same_at, reached, "
    "owner, department, source) WHERE live",
    # stays per stage in the order of their length: the median and 90th percentile
    "CREATE INDEX ix_stage_entry_stay ON stage_entry (stage, stay, left_at, owner, department, "
    "source) WHERE live AND stay IS NOT NULL",
    # how far the entries were made: events up to seq `events`, customers up to pk `customers`
    "CREATE TABLE stage_mark (events INTEGER NOT NULL, customers INTEGER NOT NULL)",
    "INSERT INTO stage_mark VALUES (0, 0)",
    # customers whose entries changed other than by new events: worked out again
    "CREATE TABLE stage_dirty (customer_id VARCHAR NOT NULL PRIMARY KEY) WITHOUT ROWID",
    # An event gone (a pull's view moved): its entry goes, its customer is worked out again;
    # a seq SQLite may hand out again (above every one left) is made again next time.
    """CREATE TRIGGER stage_entry_event_delete AFTER DELETE ON audit_event BEGIN
    INSERT OR IGNORE INTO stage_dirty SELECT customer_id FROM stage_entry WHERE seq = OLD.seq;
    DELETE FROM stage_entry WHERE seq = OLD.seq;
    UPDATE stage_mark SET events = (SELECT coalesce(max(seq), 0) FROM audit_event)
     WHERE events >= OLD.seq AND OLD.seq > (SELECT coalesce(max(seq), 0) FROM audit_event);
END""",
    # An event rewritten (nothing does today): made again next time from its seq on.
    """CREATE TRIGGER stage_entry_event_update AFTER UPDATE OF at, entity, customer_id, changes
    ON audit_event BEGIN
    INSERT OR IGNORE INTO stage_dirty SELECT customer_id FROM stage_entry WHERE seq = OLD.seq;
    DELETE FROM stage_entry WHERE seq = OLD.seq;
    UPDATE stage_mark SET events = OLD.seq - 1 WHERE events >= OLD.seq;
END""",
    # (a customer's id never changes: only users, custom fields and settings are re-keyed)
    """CREATE TRIGGER stage_entry_customer_update AFTER UPDATE OF owner, department, source,
    deleted_at, merged_into ON customer
    WHEN OLD.owner IS NOT NEW.owner OR OLD.department IS NOT NEW.department
      OR OLD.source IS NOT NEW.source OR OLD.deleted_at IS NOT NEW.deleted_at
      OR OLD.merged_into IS NOT NEW.merged_into BEGIN
    UPDATE stage_entry SET owner = NEW.owner, department = NEW.department, source = NEW.source,
           live = NEW.deleted_at IS NULL AND NEW.merged_into IS NULL
     WHERE customer_id = NEW.id;
END""",
    """CREATE TRIGGER stage_entry_customer_delete AFTER DELETE ON customer BEGIN
    UPDATE stage_entry SET live = 0 WHERE customer_id = OLD.id;
    UPDATE stage_mark SET customers = (SELECT coalesce(max(pk), 0) FROM customer)
     WHERE customers >= OLD.pk AND OLD.pk > (SELECT coalesce(max(pk), 0) FROM customer);
END""",
    # the customers per stage now, under any of the report filters
    "CREATE INDEX ix_customer_funnel ON customer (stage, owner, department, source) "
    "WHERE deleted_at IS NULL AND merged_into IS NULL",
]


def m015_stage_history(conn: Connection) -> None:
    """The stage history the funnel report reads (`repo/reports/stage_history.py`).

    Counting the funnel from the audit trail itself meant reading every event's JSON
    (a third of a second per 100,000 customers for the simplest figure, before pairing
    each entry with the next). This table holds each stage entry once, worked out; it is
    filled from the trail when a report asks (events past `stage_mark`), not by triggers
    on every insert: a trigger on audit_event would slow every bulk import and pull
    (`search.deferred` measured what an idle insert trigger costs). Deleting or rewriting
    an event and changing a customer's owner, department, source or liveness are kept up
    by the triggers here; those writes are one at a time.
    """
    for statement in _STAGE_HISTORY:
        conn.exec_driver_sql(statement)


# --- m016: the customer's filters folded into one number per entry -----------------------
# m015 copied the customer's owner, department and source beside every entry: the
# indexes carried them (two thirds of their size) and `--dept` compared them per entry.
# Now the combinations are kept once each in stage_who (NULL as ''), and an entry holds
# the number of its customer's combination, or NULL when the customer is not live (not
# held, deleted, merged into another). A filter finds its combinations in stage_who, then
# the entries by number. The entries are made again at the next report (mark back to 0).
_WHO = "(SELECT id FROM stage_who WHERE owner = coalesce({0}.owner, '') AND " \
    "department = coalesce({0}.department, '') AND source = coalesce({0}.source, ''))"
_FOLDED = [
    "DROP TRIGGER stage_entry_customer_update",
    "DROP TRIGGER stage_entry_customer_delete",
    "DROP INDEX ix_stage_entry_entered",
    "DROP INDEX ix_stage_entry_stay",
    "DELETE FROM stage_entry",
    *(f"ALTER TABLE stage_entry DROP COLUMN {name}"
      for name in ("live", "owner", "department", "source")),
    "ALTER TABLE stage_entry ADD COLUMN who INTEGER",
    """CREATE TABLE stage_who (
    id INTEGER NOT NULL PRIMARY KEY,
    owner VARCHAR NOT NULL,
    department VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    UNIQUE (owner, department, source))""",
    "CREATE INDEX ix_stage_entry_entered ON stage_entry (stage, at, prev_same_at, reached, who) "
    "WHERE who IS NOT NULL",
    "CREATE INDEX ix_stage_entry_stay ON stage_entry (stage, stay, left_at, who) "
    "WHERE who IS NOT NULL AND stay IS NOT NULL",
    "UPDATE stage_mark SET events = 0, customers = 0",
    "DELETE FROM stage_dirty",
    f"""CREATE TRIGGER stage_entry_customer_update AFTER UPDATE OF owner, department, source,
    deleted_at, merged_into ON customer
    WHEN OLD.owner IS NOT NEW.owner OR OLD.department IS NOT NEW.department
      OR OLD.source IS NOT NEW.source OR OLD.deleted_at IS NOT NEW.deleted_at
      OR OLD.merged_into IS NOT NEW.merged_into BEGIN
    INSERT OR IGNORE INTO stage_who (owner, department, source) VALUES
        (coalesce(NEW.owner, ''), coalesce(NEW.department, ''), coalesce(NEW.source, ''));
    UPDATE stage_entry SET who = CASE WHEN NEW.deleted_at IS NULL AND NEW.merged_into IS NULL
        THEN {_WHO.format("NEW")} END
     WHERE customer_id = NEW.id;
END""",
    """CREATE TRIGGER stage_entry_customer_delete AFTER DELETE ON customer BEGIN
    UPDATE stage_entry SET who = NULL WHERE customer_id = OLD.id;
    UPDATE stage_mark SET customers = (SELECT coalesce(max(pk), 0) FROM customer)
     WHERE customers >= OLD.pk AND OLD.pk > (SELECT coalesce(max(pk), 0) FROM customer);
END""",
]


def m016_stage_history_folded(conn: Connection) -> None:
    """The stage history's copies of owner, department and source become one number per
    entry (`stage_who`): indexes a third the size, filters read once per combination."""
    for statement in _FOLDED:
        conn.exec_driver_sql(statement)
