"""Small helpers tests share (fixtures live in conftest.py)."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager


def add_customer(crm, name: str, *options: str) -> str:
    """Add a customer through the CLI and return its short id."""
    result = crm("customer", "add", name, *options)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def customers_by_name(database) -> dict:
    """The live customers in the test's database, by name."""
    from sqlmodel import select

    from crmcli.models import Customer

    with database() as s:
        return {c.name: c for c in s.exec(select(Customer).where(Customer.deleted_at.is_(None)))}


@contextmanager
def scratch_schema(pg_url: str, prefix: str = "crm_t") -> Iterator[tuple[str, str]]:
    """A PostgreSQL schema of the caller's own: yields (URL that uses it, schema name).

    The URL selects the schema with `options=-csearch_path=…` and names the connection
    after it (application_name), so the caller can find its own backends. Afterwards the
    schema is dropped and any backend still using it is ended.
    """
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    url = f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{name}&application_name={name}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
        try:
            yield url, name
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')
