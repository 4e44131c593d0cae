"""Small helpers tests share (fixtures live in conftest.py)."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def add_customer(crm, name: str, *options: str) -> str:
    """Add a customer through the CLI and return its short id."""
    result = crm("customer", "add", name, *options)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def ok(result):
    """A CLI result that must have succeeded (its output in the failure otherwise)."""
    assert result.exit_code == 0, result.output
    return result


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
            team_roles = _team_roles(admin, name)
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')
            with admin.transaction():  # one team at a time touches the catalog's ACLs
                admin.execute("SELECT pg_advisory_xact_lock(hashtext('crmcli-secure'))")
                for role in team_roles:  # roles are cluster-wide: leave none behind
                    admin.execute(f'DROP OWNED BY "{role}"')
                    admin.execute(f'DROP ROLE "{role}"')


def _team_roles(admin, schema: str) -> list[str]:
    """The roles a test's team made: its member logins (named after the schema, see
    `login_for`), then the team's member and owner roles (`crm server init`)."""
    logins = [row[0] for row in admin.execute(
        "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", (schema + "_",)
    )]
    made = admin.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = %s "
        "AND table_name = 'crm_server' AND column_name = 'owner_role'", (schema,)
    ).fetchone()
    groups = []
    if made:
        groups = [r for r in admin.execute(
            f'SELECT member_role, owner_role FROM "{schema}".crm_server'
        ).fetchone() or () if r]
    return logins + groups


def login_for(schema: str, handle: str) -> str:
    """The PostgreSQL login a test gives a member of its team."""
    return f"{schema}_{handle}"


def as_login(url: str, login: str) -> str:
    """The test server's URL, connecting as `login` instead of the owner."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{login}@{rest.split('@', 1)[1]}"


@contextmanager
def schema_version(version: int) -> Iterator[pytest.MonkeyPatch]:
    """Within the block, crmcli makes and upgrades shared databases as the crmcli of shared
    schema `version` did (the later migrations left out); yields the patch context, for
    anything else that was different then."""
    from crmcli.sync import schema

    with pytest.MonkeyPatch.context() as earlier:
        earlier.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:version])
        earlier.setattr(schema, "LATEST", version)
        yield earlier
