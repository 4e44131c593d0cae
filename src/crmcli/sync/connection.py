"""Reaching the shared PostgreSQL: the URL a replica keeps, and connections with clear errors.

The URL (or libpq key=value string) is stored in the local database and never holds a
password: libpq finds that itself in PGPASSWORD, ~/.pgpass (PGPASSFILE) or a service file
(PGSERVICE / `service=` in the URL), so none of our files ever contains one. psycopg is
imported here, inside sync code paths only, so that no other command pays for it.
"""

from __future__ import annotations

from typing import Any

from crmcli.errors import Unavailable, UsageError

CONNECT_TIMEOUT_S = 10
APPLICATION = "crmcli sync"


def check_url(url: str) -> str:
    """The URL as it will be stored, or UsageError if it is not one or carries a password."""
    from psycopg.conninfo import conninfo_to_dict

    url = url.strip()
    try:
        parts = conninfo_to_dict(url)
    except Exception as error:  # psycopg raises ProgrammingError with libpq's reason
        raise UsageError(f"not a PostgreSQL URL: {first_line(error)}") from None
    if parts.get("password"):
        raise UsageError(
            "the URL holds a password and would be stored; leave it out and let libpq find "
            "it in ~/.pgpass, PGPASSWORD or a service file"
        )
    return url


def describe(url: str) -> str:
    """Where a URL points, for messages: host, port and database, never credentials."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return "the shared database"
    host = "{}:{}".format(parts.get("host", "localhost"), parts.get("port", 5432))
    where = parts.get("service") or host
    return f"{where}/{parts.get('dbname', '')}".rstrip("/")


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def connect(url: str) -> Any:
    """A psycopg connection, or Unavailable saying why not in one line.

    The connection is in autocommit mode: every transaction is an explicit
    `with conn.transaction():` block, so where one begins and commits is in plain sight.
    """
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(url)
    defaults = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": APPLICATION}
    try:
        return psycopg.connect(
            url, autocommit=True, **{k: v for k, v in defaults.items() if k not in given}
        )
    except psycopg.OperationalError as error:
        raise Unavailable(
            f"cannot reach the shared database {describe(url)}: {first_line(error)}"
        ) from None


def lost(error: BaseException, url: str) -> Unavailable:
    """The error to raise when the connection breaks in the middle of a sync."""
    return Unavailable(
        f"the connection to {describe(url)} broke during sync ({first_line(error)}); "
        "nothing was lost: run `crm sync` again"
    )


def failed(error: BaseException, url: str) -> Unavailable:
    """The error to raise when the shared database fails a sync for any other reason (a
    schema damaged by hand, a server fault): one line, and nothing lost."""
    return Unavailable(
        f"the shared database {describe(url)} failed during sync ({first_line(error)}); "
        "nothing was lost: run `crm sync` again once it is repaired"
    )
