"""How the shared database makes a synced record table: its columns beside the ones every
record has, and the triggers every synced table carries (`schema.py` explains them: the
writer lock, the change number, the view epoch when rows are deleted outright)."""

from __future__ import annotations

RECORD_COLUMNS = """
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version integer NOT NULL,
    deleted_at timestamptz,
    server_seq bigint NOT NULL"""


def triggers(table: str) -> str:
    """The change number's index and the triggers of one synced table."""
    return f"""
CREATE UNIQUE INDEX {table}_server_seq ON {table} (server_seq);
CREATE TRIGGER {table}_lock BEFORE INSERT OR UPDATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION crm_lock();
CREATE TRIGGER {table}_stamp BEFORE INSERT OR UPDATE ON {table}
    FOR EACH ROW EXECUTE FUNCTION crm_stamp();
CREATE TRIGGER {table}_narrow AFTER DELETE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION crm_narrow_view();
"""


def record_table(table: str, columns: str) -> str:
    """A new synced table: `id`, its own `columns` (SQL, one per line, each ending in a
    comma), the record columns, and the triggers."""
    return f"""
CREATE TABLE {table} (
    id text PRIMARY KEY,{columns}{RECORD_COLUMNS}
);
""" + triggers(table)
