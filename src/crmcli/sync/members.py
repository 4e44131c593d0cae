"""The team's members as PostgreSQL logins, managed with the owner's URL (`crm server member`).

Adding a member creates their login (if it does not exist), grants it the team's member
role with the member settings (`security.MEMBER_SETTINGS`), adds the user record (or
keeps the one an admin's replica already pushed: that is how a team made before logins
maps its members) and maps the login to the handle in `crm_member`. Changes to the user
record itself (role, deactivation with its hand-over, reactivation) go through
`crm_push` as the owner (`@login`, an admin), so they are recorded, stamped and handed
over exactly as an admin's own push would; the trigger behind `users.active` makes the
login NOLOGIN and ends its sessions, or lets it in again.

A login that exists already must be one the team's rules bind (`_check_existing_login`):
never a superuser, the owner's role or logins, or a group role. Everything is checked
before anything is created, and all of it happens in one transaction.
"""

from __future__ import annotations

import re
from typing import Any

from crmcli import fields
from crmcli.errors import Invalid, NotFound, PermissionDenied, UsageError
from crmcli.models import User
from crmcli.repo import audit
from crmcli.repo.machine import new_row
from crmcli.sync import handover, schema, security, shared
from crmcli.sync.plan import Plan
from crmcli.sync.push import send
from crmcli.sync.tables import BY_ENTITY

USERS = BY_ENTITY["user"]
COLUMNS = ("handle", "name", "department", "role", "active", "login", "can_login")


LOGIN = re.compile(r"[a-z_][a-z0-9_.-]{0,62}")
RESERVED = ("public", "none")  # PostgreSQL's own, like every name starting with pg_


def _login(login: str) -> str:
    if not LOGIN.fullmatch(login):
        raise Invalid(
            f"{login!r} is not a login name we create (lowercase letters, digits, _ . -, "
            "at most 63 characters, not starting with a digit)", "login",
        )
    if login in RESERVED or login.startswith("pg_"):
        raise Invalid(f"{login!r} is a name PostgreSQL reserves", "login")
    return login


def owner(conn: Any, doing: str = "managing members") -> schema.Who:
    """Who the connected login is, refused unless it is one of the team's owner role."""
    who = schema.check(conn).who
    if not who.handle.startswith("@"):
        raise PermissionDenied(
            f"{doing} needs the owner's URL (--url with a login of the team's owner role, "
            f"such as the one that ran `crm server init`); {conn.info.user} is the member "
            f"{who.handle}"
        )
    return who


def _check_existing_login(conn: Any, login: str, handle: str, owner_role: str) -> bool:
    """Whether `login` exists already; refuses one that is no ordinary login the team's
    rules could bind: a superuser, one that bypasses row-level security, the owner role or
    one of its logins (as a member it would lose the owner's rights), or a group role that
    cannot log in (the team's own, another team's, PostgreSQL's) unless it is this
    member's deactivated login."""
    found = conn.execute(
        "SELECT rolsuper, rolbypassrls, pg_has_role(oid, %s, 'MEMBER'), rolcanlogin, "
        "EXISTS (SELECT 1 FROM crm_member WHERE login = rolname AND handle = %s) "
        "FROM pg_roles WHERE rolname = %s", (owner_role, handle, login),
    ).fetchone()
    if found is None:
        return False
    superuser, bypasses, owns, can_login, mapped_here = found
    if superuser or bypasses:
        why = "a superuser" if superuser else "a login that bypasses row-level security"
        raise Invalid(f"{login} is {why}: the team's rules would not bind it", "login")
    if owns:
        raise Invalid(f"{login} is the team's owner role or one of its logins", "login")
    if not can_login and not mapped_here:
        raise Invalid(f"{login} is a group role that cannot log in, not a member's login",
                      "login")
    return True


def _user(conn: Any, handle: str) -> dict:
    found = shared.rows_by(conn, USERS, "handle", [fields.normal_handle(handle)])
    if not found:
        raise NotFound(f"no member {handle!r} in the shared database")
    return next(iter(found.values()))


def add(
    conn: Any, handle: str, *, name: str | None, department: str | None, role: str | None,
    login: str, password: str | None,
) -> dict:
    """Add (or map) a member; returns their record as `list_` shows it."""
    from psycopg import sql

    who = owner(conn)
    handle = fields.parse_handle(handle)
    login = _login(login)
    member_role, owner_role = conn.execute(
        "SELECT member_role, owner_role FROM crm_server").fetchone()
    with conn.transaction():
        mapped = conn.execute(
            "SELECT handle FROM crm_member WHERE login = %s", (login,)
        ).fetchone()
        if mapped and mapped[0] != handle:
            raise Invalid(f"the login {login} is {mapped[0]}'s already", "login")
        other = conn.execute(
            "SELECT login FROM crm_member WHERE handle = %s AND login <> %s", (handle, login)
        ).fetchone()
        if other:
            raise Invalid(f"{handle} logs in as {other[0]} already", "login")
        known = shared.rows_by(conn, USERS, "handle", [handle])
        if not known and not name:
            raise UsageError(f"{handle} is not a member yet: --name is required for a new member")
        exists = _check_existing_login(conn, login, handle, owner_role)
        name_sql = sql.Identifier(login)
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name_sql))
        if known and not known[handle]["active"]:  # like their other logins, it cannot connect
            conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(name_sql))
        if password is not None:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                name_sql, sql.Literal(_encrypted(conn, password, login))))
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(member_role), name_sql))
        for setting, value in security.MEMBER_SETTINGS.items():
            conn.execute(sql.SQL("ALTER ROLE {} IN DATABASE {} SET {} = {}").format(
                name_sql, sql.Identifier(conn.info.dbname), sql.Identifier(setting),
                sql.Literal(value)))
        if not known:
            _write_user(conn, who, None, {
                "handle": handle, "name": fields.parse_name(name, "name"),
                "department": fields.parse_text(department or "", "department", 100) or None,
                "role": fields.parse_user_role(role or "member"), "active": True,
            })
        else:
            changes = {}
            if name:
                changes["name"] = fields.parse_name(name, "name")
            if department is not None:
                changes["department"] = fields.parse_text(department, "department", 100) or None
            if role:
                changes["role"] = fields.parse_user_role(role)
            if changes:
                _write_user(conn, who, known[handle], changes)
        conn.execute(
            "INSERT INTO crm_member (login, handle) VALUES (%s, %s) "
            "ON CONFLICT (login) DO NOTHING", (login, handle),
        )
    return next(member for member in list_(conn) if member["handle"] == handle)


def _encrypted(conn: Any, password: str, login: str) -> str:
    """The password as the server stores it (its `password_encryption`, SCRAM by default),
    hashed here as psql's \\password does: the plain text never reaches the server's logs."""
    return conn.pgconn.encrypt_password(password.encode(), login.encode()).decode()


def _write_user(conn: Any, who: schema.Who, current: dict | None, values: dict,
                action: str | None = None, detail: dict | None = None) -> None:
    """Create or change a user record through `crm_push`, as the owner, with its event."""
    now = conn.execute("SELECT now()").fetchone()[0]
    plan = Plan(who.handle, now, who.role)
    if current is None:
        row = new_row(User, {**values, "created_at": now, "updated_at": now})
        row = {name: row[name] for name in USERS.columns}
        changes = audit.snapshot_values(row)
        action = action or "user.create"
    else:
        row = {**current, **values, "version": current["version"] + 1}
        changes = {
            name: [current[name], value] for name, value in values.items()
            if current[name] != value
        }
        action = action or "user.update"
        if not changes:
            return
    plan.writes["user"][row["id"]] = row
    event = audit.event_row(
        by=who.handle, action=action, entity="user", entity_id=row["id"], changes=changes,
        detail=detail, at=now,
    )
    handover.settle(conn, plan, [event])
    send(conn, plan, [event], {}, None)


def set_role(conn: Any, handle: str, role: str) -> tuple[str, str]:
    """Change a member's role; returns their handle and the role as stored."""
    who = owner(conn)
    user, role = _user(conn, handle), fields.parse_user_role(role)
    _write_user(conn, who, user, {"role": role})
    return user["handle"], role


def deactivate(conn: Any, handle: str, transfer_to: str) -> None:
    """Deactivate a member: their login can no longer connect and their live work goes to
    `transfer_to`, as `crm user deactivate --transfer-to` would hand it over."""
    who = owner(conn)
    leaving, heir = _user(conn, handle), _user(conn, transfer_to)
    if not leaving["active"]:
        raise Invalid(f"{leaving['handle']} is already deactivated", "user")
    if not heir["active"] or heir["handle"] == leaving["handle"]:
        raise Invalid(f"{heir['handle']} cannot take over (not an active colleague)", "transfer-to")
    _write_user(conn, who, leaving, {"active": False}, "user.deactivate",
                {"transfer_to": heir["handle"]})


def reactivate(conn: Any, handle: str) -> None:
    who = owner(conn)
    user = _user(conn, handle)
    if user["active"]:
        raise Invalid(f"{user['handle']} is active already", "user")
    _write_user(conn, who, user, {"active": True}, "user.reactivate")


def list_(conn: Any) -> list[dict]:
    """Every member with their login (if any) and whether it may connect now."""
    owner(conn)
    rows = conn.execute(
        "SELECT u.handle, u.name, u.department, u.role, u.active, m.login, r.rolcanlogin "
        "FROM users u LEFT JOIN crm_member m ON m.handle = u.handle "
        "LEFT JOIN pg_roles r ON r.rolname = m.login "
        "WHERE u.deleted_at IS NULL ORDER BY u.handle"
    ).fetchall()
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]
