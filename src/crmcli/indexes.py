"""Secondary indexes built once after a replica's first fill instead of row by row.

A fresh replica's first sync writes every customer, role and event of the team. Kept up
to date row by row, the secondary indexes of those tables (seven on customer, whose
phones, e-mails and ids land all over each index) cost more than the rows themselves;
built once over the filled table, SQLite sorts each in one pass. So a pull into a replica
that holds no customer yet drops them (`defer`) and records their definitions in meta,
both in one transaction; the pull's last transaction builds them again (`restore`).

A pull cut off in between (the connection lost, the process killed) leaves the
definitions recorded: whoever opens the database next builds them before anything else
(`Database.open`, as it applies migrations: the next command, the dashboard, the resumed
sync), so no query runs without its index for longer than the cut-off fill itself. What
the fill reads meanwhile stays indexed: records and events by id and users by handle
(unique constraints, never dropped) and the outbox (`KEPT`).
"""

from __future__ import annotations

import json

from sqlalchemy import Connection

KEY = "indexes_deferred"
# The tables a first fill brings by the tens of thousands. Not note or task: the search
# index reads a customer's notes by their customer while the notes arrive.
TABLES = ("customer", "assignment", "audit_event")
# Unpushed events: the pull reads them on every page (`pull_apply.unpushed`), and pulled
# events (synced) never enter this partial index anyway.
KEPT = frozenset({"ix_audit_unsynced"})
_CREATE = "CREATE INDEX "


def defer(conn: Connection) -> None:
    """In a replica holding no customer yet, drop the secondary indexes of TABLES and
    record how to build them again (call in the fill's first write transaction)."""
    if conn.exec_driver_sql("SELECT 1 FROM customer LIMIT 1").first():
        return
    places = ", ".join("?" * len(TABLES))
    found = conn.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({places}) "
        "AND sql LIKE 'CREATE INDEX %' ORDER BY name", TABLES).all()
    dropped = [(name, sql) for name, sql in found if name not in KEPT]
    if not dropped:
        return
    conn.exec_driver_sql("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                         (KEY, json.dumps([*recorded(conn), *(sql for _, sql in dropped)])))
    for name, _ in dropped:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')


def recorded(conn: Connection) -> list[str]:
    """The definitions of the indexes a fill dropped and nobody built again yet."""
    value = conn.exec_driver_sql("SELECT value FROM meta WHERE key = ?", (KEY,)).scalar()
    return json.loads(value) if value else []


def restore(conn: Connection) -> None:
    """Build every index a fill dropped (those that exist already are left as they are)."""
    statements = recorded(conn)
    for sql in statements:
        conn.exec_driver_sql(sql.replace(_CREATE, "CREATE INDEX IF NOT EXISTS ", 1))
    if statements:
        conn.exec_driver_sql("DELETE FROM meta WHERE key = ?", (KEY,))
