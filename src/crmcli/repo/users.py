"""Team members: who may act, in which role, and what happens when someone leaves."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from crmcli import fields, permissions
from crmcli.errors import Invalid, NotFound, PermissionDenied, UsageError
from crmcli.models import Meta, User
from crmcli.repo import audit, entities
from crmcli.repo.machine import to_dict


@dataclass(frozen=True)
class Actor:
    """The acting user as a write needs it: who (for the audit trail) and their role."""

    handle: str
    role: str
    department: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


USER_FIELDS = ("handle", "name", "department", "role", "active", "created_at")


def as_dict(user: User) -> dict:
    return to_dict(user, USER_FIELDS)


def get(s: Session, handle: str) -> User:
    user = s.exec(select(User).where(User.handle == fields.normal_handle(handle))).first()
    if user is None:
        raise NotFound(f"no user {handle!r}")
    return user


def get_active(s: Session, handle: str) -> User:
    user = get(s, handle)
    if not user.active:
        raise Invalid(f"user {user.handle!r} is deactivated", "user")
    return user


def named(s: Session, text: str, *, active: bool = True) -> User:
    """The user a spreadsheet cell names: by handle, or else by name, since a sheet made
    by people says 王芳 or "Alice Wang" where the CLI says alice. Names compare as
    `names.same_name` folds them (case, width, spaces, script); a name two users share
    names neither. `active`: a deactivated user is refused (an author may have left)."""
    user = s.exec(select(User).where(User.handle == fields.normal_handle(text))).first()
    if user is None:
        from crmcli.names import name_key

        key = name_key(text)
        found = [u for u in s.exec(select(User).order_by(User.handle)) if name_key(u.name) == key]
        if len(found) > 1:
            handles = ", ".join(u.handle for u in found)
            raise Invalid(f"{text!r} is the name of {len(found)} users ({handles}); give the handle")
        user = found[0] if found else None
    if user is None:
        raise NotFound(f"no user {text!r}")
    if active and not user.active:
        raise Invalid(f"user {user.handle!r} is deactivated", "user")
    return user


def owner(s: Session, handle: str, *, or_name: bool = False) -> User:
    """The active user `handle` names as a customer's owner (`or_name`: or whose name it
    is, see `named`; imports). An unknown or deactivated one is a bad value of the owner
    field (Invalid on "owner", exit 4), not a reference to something missing: `customer
    add`, `customer edit`, imports and the dashboard's form all refuse it naming the field
    the user typed it in."""
    try:
        return named(s, handle) if or_name else get_active(s, handle)
    except NotFound as error:
        raise Invalid(str(error), "owner") from None
    except Invalid as error:
        raise Invalid(error.reason, "owner") from None


def acting(s: Session, handle: str | None) -> Actor:
    """The Actor for `handle` (from --as, CRM_USER or the settings file)."""
    if not handle:
        raise UsageError("no acting user: pass --as HANDLE, set CRM_USER, or run `crm init`")
    user = get(s, handle)
    if not user.active:
        raise PermissionDenied(f"user {user.handle!r} is deactivated and cannot act")
    return Actor(user.handle, user.role, user.department)


def check_acting_as(s: Session, handle: str | None, remembered: str | None) -> None:
    """Whether this command may act as `handle` (from --as or CRM_USER) on this database,
    whose `crm init` remembered `remembered`: acting as someone else is for a remembered
    user who is an active admin; with nobody remembered, anyone may be named.

    On a database linked to a team, who acts is the shared database's login: the replica
    acts as its own member only (the one its first sync was recognised as, or until then
    the one `crm init` remembered), admin or not.

    Nothing is read unless a user is named: the common case costs nothing."""
    if not handle:
        return
    member = _linked_member(s, remembered)
    if member and fields.normal_handle(handle) != fields.normal_handle(member):
        raise PermissionDenied(
            f"this database is a replica of a team's shared database: it acts as its own "
            f"member ({member}) only; --as another user is for a local-only database"
        )
    if remembered is None:
        return
    if fields.normal_handle(handle) == fields.normal_handle(remembered):
        return
    user = s.exec(select(User).where(User.handle == fields.normal_handle(remembered))).first()
    admin = user is not None and user.active and user.role == "admin"
    if not permissions.may_act_as(handle, remembered, admin):
        raise PermissionDenied(permissions.act_as_refusal(handle, remembered))


def _linked_member(s: Session, remembered: str | None) -> str | None:
    """The member a replica linked to a team acts as (None: not linked). The sync state
    lives in `meta` (`crmcli.sync.state` writes it)."""
    state = dict(s.exec(select(Meta.key, Meta.value).where(
        col(Meta.key).in_(("sync.remote", "sync.member")))).all())
    if "sync.remote" not in state:
        return None
    return state.get("sync.member") or remembered


def require_role(by: Actor, roles: tuple[str, ...], what: str) -> None:
    if by.role not in roles:
        allowed = " or ".join(f"an {r}" if r[0] in "aeiou" else f"a {r}" for r in roles)
        raise PermissionDenied(f"only {allowed} may {what}; {by.handle} is a {by.role}")


def require_admin(by: Actor, what: str) -> None:
    require_role(by, entities.WRITERS["user"], what)


def any_exist(s: Session) -> bool:
    return s.exec(select(User.id).limit(1)).first() is not None


def create_first_admin(s: Session, handle: str, *, name: str, department: str | None) -> User:
    """The database's first user, an admin: who `crm init` sets up."""
    if any_exist(s):
        raise Invalid("this database has users already; an admin adds more", "user")
    return add(s, handle, name=name, department=department, role="admin", by=None)


def add(
    s: Session,
    handle: str,
    *,
    name: str,
    department: str | None,
    role: str = "member",
    by: Actor | None,
) -> User:
    """Add a member; `by` is None only for the first admin, created by `crm init`."""
    if by is not None:
        require_admin(by, "add users")
    handle = fields.parse_handle(handle)
    if s.exec(select(User).where(User.handle == handle)).first():
        raise Invalid(f"a user {handle!r} exists already", "handle")
    user = User(
        handle=handle,
        name=fields.parse_name(name, "name"),
        department=fields.parse_text(department or "", "department", 100) or None,
        role=fields.parse_user_role(role),
    )
    s.add(user)
    audit.record(
        s,
        by=by.handle if by else handle,
        action="user.create",
        entity="user",
        entity_id=user.id,
        changes=audit.snapshot(user),
    )
    return user


def edit(
    s: Session,
    handle: str,
    *,
    by: Actor,
    name: str | None = None,
    department: str | None = None,
    role: str | None = None,
) -> tuple[User, dict[str, list]]:
    """Correct a member's name, department (empty: none) or role (admins only; the last
    active admin stays one). Returns the user and what changed (one `user.update` event)."""
    require_admin(by, "change users")
    user = get(s, handle)
    values: dict = {}
    if name is not None:
        values["name"] = fields.parse_name(name, "name")
    if department is not None:
        values["department"] = fields.parse_text(department, "department", 100) or None
    if role is not None:
        values["role"] = fields.parse_user_role(role)
        if user.role == "admin" and values["role"] != "admin" and user.active \
                and not other_active_admins(s, user.handle):
            raise Invalid(f"{user.handle} is the last active admin; make someone else an admin "
                          "first", "role")
    changes = audit.apply(user, values, by.handle)
    if changes:
        audit.record(s, by=by.handle, action="user.update", entity="user", entity_id=user.id,
                     changes=changes)
    return user, changes


def reactivate(s: Session, handle: str, *, by: Actor) -> User:
    """Let a deactivated member act again (admins only); their work stays with whoever
    took it over. On a team, their login may connect again once this reaches the shared
    database."""
    require_admin(by, "reactivate users")
    user = get(s, handle)
    if user.active:
        raise Invalid(f"user {user.handle!r} is active already", "user")
    changes = audit.apply(user, {"active": True}, by.handle)
    audit.record(s, by=by.handle, action="user.reactivate", entity="user", entity_id=user.id,
                 changes=changes)
    return user


def list_(s: Session, *, include_inactive: bool = True) -> list[User]:
    query = select(User).where(User.deleted_at.is_(None))
    if not include_inactive:
        query = query.where(col(User.active).is_(True))
    return list(s.exec(query.order_by(User.handle)).all())


def other_active_admins(s: Session, handle: str) -> int:
    query = select(func.count()).select_from(User).where(
        User.role == "admin", col(User.active).is_(True), User.handle != handle
    )
    return s.exec(query).one()
