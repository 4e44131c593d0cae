"""Lead routing rules: who owns a new customer nobody named an owner for.

A rule is a team setting (`rule.NAME`, admins only, synced to every replica, judged by the
shared database like every setting): {"when": {field: value}, "to": "dept:NAME" or a list
of handles, "how": "round-robin" | "least-open" | a handle, "order": n}. Rules are tried
by order, then name; the first whose every `when` value the customer has wins. Values are
kept as the data dictionary stores them (a stage typed 线索 is `lead`) and compared folded
(case, width, surrounding space), so `--when city=上海` matches a row saying ` 上海 `.

Choosing the owner (`Router`): a handle is that user; least-open is the member of the
target with the fewest open customers (owned, not won, lost or churned), ties by handle;
round-robin is the target's active members in handle order, turn by turn. The turns come
from a `Turns`: on a local database `LocalTurns` keeps the last member served per rule in
Meta; a team replica's front end passes the shared database's turns (`sync.route_turns`),
so replicas importing at once get disjoint turns. Routing never queries per customer: a
batch asks each rule's members once and takes its turns in one call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import func
from sqlmodel import Session, col, select

from crmcli import fields
from crmcli.db import region
from crmcli.errors import Invalid, NotFound
from crmcli.models import Customer, Meta, User
from crmcli.repo import custom_fields, settings
from crmcli.repo.users import Actor

PREFIX = "rule."
HOWS = ("round-robin", "least-open")
CLOSED_STAGES = fields.CLOSED_STAGES
# What a rule may route by: what a lead *is*. Not who it is (name, phone, e-mail: one
# customer each), not its owner (a customer with one is not routed), never a sensitive
# value (a rule is read by every member).
ROUTABLE = ("company", "city", "industry", "source", "stage", "level", "sla", "department", "tags")
_NAME = re.compile(r"^\w[\w.-]{0,63}$")


@dataclass(frozen=True)
class Rule:
    name: str
    when: dict[str, Any]
    to: str | list[str]
    how: str
    order: int

    @property
    def value(self) -> dict[str, Any]:
        """The rule as its setting stores it."""
        return {"when": self.when, "to": self.to, "how": self.how, "order": self.order}

    def matches(self, standard: dict[str, Any], extra: dict[str, Any]) -> bool:
        return all(_same(standard.get(name, extra.get(name)), wanted, name)
                   for name, wanted in self.when.items())

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "order": self.order, "when": show_when(self.when),
                "to": show_to(self.to), "how": self.how}


# An import asks about the same few values (a source, a city) row after row.
_fold = lru_cache(maxsize=4096)(fields.fold)


def _city(text: str) -> str:
    """A city as a rule compares it: 上海市 is 上海 (the 市 people write or leave out)."""
    folded = _fold(text)
    return folded[:-1] if len(folded) > 1 and folded.endswith("市") else folded


def _same(value: Any, wanted: Any, name: str = "") -> bool:
    if value is None:
        return False
    if name == "city" and isinstance(wanted, str) and isinstance(value, str):
        return _city(value) == _city(wanted)
    if isinstance(wanted, list):  # tags: the customer carries every one the rule names
        have = {_fold(str(tag)) for tag in value or []}
        return all(_fold(str(tag)) in have for tag in wanted)
    if isinstance(wanted, str) and isinstance(value, str):
        return value == wanted or _fold(value) == _fold(wanted)
    return value == wanted


def show_when(when: dict[str, Any]) -> str:
    return ",".join(f"{name}={fields.show_value(name, value)}" for name, value in when.items())


def show_to(to: str | list[str]) -> str:
    return ",".join(to) if isinstance(to, list) else to


# --- the rules as settings ---------------------------------------------------------------


def rules(s: Session) -> list[Rule]:
    """Every rule, in the order they are tried (order, then name)."""
    found = (_stored(key.removeprefix(PREFIX), value)
             for key, value in settings.values(s, PREFIX).items())
    return sorted(filter(None, found), key=lambda rule: (rule.order, rule.name))


def _stored(name: str, value: Any) -> Rule | None:
    """The rule a stored value holds; None for one no `crm rule add` makes (stored by hand,
    or by a client that checked less): skipped, so customers are still created and owned
    by their creator rather than refused."""
    if not isinstance(value, dict):
        return None
    when, to, how, order = (value.get("when"), value.get("to") or "", value.get("how"),
                            value.get("order", 0))
    targets = to if isinstance(to, list) else [to]
    if not (isinstance(when, dict) and all(isinstance(k, str) for k in when)
            and all(isinstance(target, str) for target in targets)
            and isinstance(how, str) and how and isinstance(order, int)
            and (how not in HOWS or all(targets))):
        return None
    return Rule(name, dict(when), to, how, order)


def get(s: Session, name: str) -> Rule:
    for rule in rules(s):
        if rule.name == name:
            return rule
    raise _no_rule(name)


def _no_rule(name: str) -> NotFound:
    return NotFound(f"no rule named {name!r} (see `crm rule list`)")


def parse_name(text: str) -> str:
    name = fields.parse_text(text, "name", 64)
    if not _NAME.match(name):
        raise Invalid(f"{text!r}: a rule's name is letters, digits, '.', '_' or '-'", "name")
    return name


def parse_when(s: Session, text: str) -> dict[str, Any]:
    """`source=exhibition,city=上海` as {field: stored value}, each field and value
    checked by the data dictionary (`city=上海`, `stage=线索` → lead, `level=a` → A)."""
    when: dict[str, Any] = {}
    for key, value in when_pairs(text).items():
        standard, extra = fields.parse_customer({key: value}, region(s),
                                                custom_fields.declared(s))
        ((name, parsed),) = {**standard, **extra}.items()
        if name in standard and name not in ROUTABLE:
            raise Invalid(f"a rule routes by {', '.join(ROUTABLE)} or a custom field, "
                          f"not {name}", "when")
        if name in extra and custom_fields.declared(s)[name].sensitive:
            raise Invalid(f"{name} is sensitive: a rule is read by every member", "when")
        when[name] = parsed
    return when


def when_pairs(text: str) -> dict[str, str]:
    """`source=exhibition,city=上海` as {typed field: typed value} (, or ， between)."""
    pairs = {}
    for item in _items(text):
        key, equals, value = item.partition("=")
        if not equals or not key.strip() or not value.strip():
            raise Invalid(f"wants FIELD=VALUE, got {item!r}", "when")
        pairs[key.strip()] = value
    return pairs


def _items(text: str) -> list[str]:
    return [item.strip() for item in re.split(r"[,，]", text or "") if item.strip()]


def parse_to(s: Session, text: str) -> str | list[str]:
    """`dept:NAME` (that department's active members) or a list of handles."""
    text = fields.parse_text(text or "", "to", 200)
    if text.lower().startswith("dept:"):
        department = text[5:].strip()
        if not department:
            raise Invalid("dept: wants a department's name, like dept:sales", "to")
        return f"dept:{department}"
    handles = [fields.parse_handle(item, "to") for item in _items(text)]
    if not handles:
        raise Invalid("wants dept:NAME or handles (alice,bob)", "to")
    for handle in handles:
        _user(s, handle, "to")
    return sorted(set(handles))


def parse_how(s: Session, text: str, to: str | list[str] | None) -> str:
    how = fields.parse_text(text or "", "how", 64).lower()
    if how in HOWS:
        if to is None:
            raise Invalid(f"{how} needs --to dept:NAME or handles", "to")
        return how
    handle = fields.parse_handle(how, "how")
    user = _user(s, handle, "how")
    if to is not None and user.handle not in members(s, to, active=False):
        raise Invalid(f"{user.handle} is not among {show_to(to)}", "how")
    return user.handle


def _user(s: Session, handle: str, where: str) -> User:
    user = s.exec(select(User).where(User.handle == handle, col(User.deleted_at).is_(None))).first()
    if user is None:
        raise Invalid(f"no user {handle!r} (round-robin, least-open or a handle)"
                      if where == "how" else f"no user {handle!r}", where)
    return user


def add(s: Session, name: str, *, when: str, to: str | None, how: str,
        order: int | None = None, by: Actor) -> Rule:
    """Add or replace rule `name` (admins only: `settings.put` judges). Without `order`,
    a new rule is tried after every existing one; a replaced one keeps its place."""
    name = parse_name(name)
    target = parse_to(s, to) if to else None
    chosen = parse_how(s, how, target)
    existing = {rule.name: rule for rule in rules(s)}
    if order is None:
        order = existing[name].order if name in existing else max(
            [rule.order for rule in existing.values()], default=0) + 10
    rule = Rule(name, parse_when(s, when), target if target is not None else chosen, chosen, order)
    settings.put(s, PREFIX + name, rule.value, by=by)
    return rule


def remove(s: Session, name: str, *, by: Actor) -> None:
    """Remove rule `name` (admins only) and this database's turn of it."""
    if settings.get(s, PREFIX + name) is None:  # (a malformed one is removed too)
        raise _no_rule(name)
    settings.remove(s, PREFIX + name, by=by)
    turn = s.get(Meta, _turn_key(name))
    if turn is not None:
        s.delete(turn)


def test(s: Session, raw: dict[str, Any]) -> dict[str, Any]:
    """Which rule would route a new customer with these typed values, and to whom; writes
    nothing (a round-robin turn is shown as the next one here, not taken)."""
    return verdict(s, *fields.parse_customer(raw, region(s), custom_fields.declared(s)))


def test_customer(s: Session, customer: Customer) -> dict[str, Any]:
    """`test` for a new customer with the values of a stored one."""
    return verdict(s, {name: getattr(customer, name) for name in ROUTABLE}, customer.extra)


def verdict(s: Session, standard: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    rule = Router(s).first_match(standard, extra)
    if rule is None:
        return {"rule": None, "how": None, "to": None, "owner": None,
                "why": "no rule matches: the creator owns it"}
    team = members(s, rule.to) if rule.how in HOWS else [rule.how]
    if rule.how == "least-open" and team:
        owner = least_open(open_counts(s, team), 1)[0]
    elif rule.how == "round-robin" and team:
        turn = s.get(Meta, _turn_key(rule.name))
        owner = next_turns(team, json.loads(turn.value) if turn else None, 1)[0]
    else:
        owner = team[0] if team else None
    why = {"round-robin": f"next turn among {', '.join(team)} (on a team, the shared "
                          "database's turn decides)",
           "least-open": "fewest open customers"}.get(rule.how, "the rule names them")
    return {"rule": rule.name, "how": rule.how, "to": show_to(rule.to), "owner": owner,
            "why": why if team else f"nobody active in {show_to(rule.to)}: the creator owns it"}


# --- choosing owners ---------------------------------------------------------------------


def members(s: Session, to: str | list[str], *, active: bool = True) -> list[str]:
    """The handles a target names, in handle order (active ones only, by default)."""
    query = select(User.handle).where(col(User.deleted_at).is_(None))
    if active:
        query = query.where(col(User.active).is_(True))
    if isinstance(to, list):
        query = query.where(col(User.handle).in_(to))
    else:
        query = query.where(User.department == to.removeprefix("dept:"))
    return sorted(s.exec(query).all())


class Turns(Protocol):
    """Where round-robin turns come from: `take` gives the next `n` of `members` for rule
    `name`, in turn order, and remembers where it stopped."""

    def take(self, name: str, members: list[str], n: int) -> list[str]: ...


def _turn_key(name: str) -> str:
    return f"route.turn.{name}"


def next_turns(members: list[str], last: str | None, n: int) -> list[str]:
    """The `n` members after `last` in handle order, round and round (the shared
    database's `crm_route_take` does the same in SQL)."""
    start = next((place for place, handle in enumerate(members)
                  if last is None or handle > last), 0)
    return [members[(start + step) % len(members)] for step in range(n)]


class LocalTurns:
    """Turns kept in this database's Meta (local state, not synced): the last member each
    rule served. A local database's own; a team replica's only when the shared database
    cannot be reached, and then not coordinated with anyone."""

    def __init__(self, s: Session):
        self.s = s

    def take(self, name: str, members: list[str], n: int) -> list[str]:
        row = self.s.get(Meta, _turn_key(name))
        given = next_turns(members, json.loads(row.value) if row else None, n)
        if row is None:
            self.s.add(Meta(key=_turn_key(name), value=json.dumps(given[-1])))
        else:
            row.value = json.dumps(given[-1])
        return given


@dataclass
class Routed:
    owner: User
    rule: str


@dataclass
class Router:
    """Owners for new customers by the rules, a batch at a time. `warnings` collects what
    the front end should say (a rule whose target has nobody active)."""

    s: Session
    turns: Turns | None = None
    warnings: list[str] = field(default_factory=list)
    last: Routed | None = None  # the last customer routed, for a front end to tell
    _rules: list[Rule] | None = None
    _users: dict[str, User] = field(default_factory=dict)
    _open: dict[str, dict[str, int]] = field(default_factory=dict)  # least-open counts

    @property
    def rules(self) -> list[Rule]:
        if self._rules is None:
            self._rules = rules(self.s)
        return self._rules

    def first_match(self, standard: dict[str, Any], extra: dict[str, Any]) -> Rule | None:
        return next((rule for rule in self.rules if rule.matches(standard, extra)), None)

    def route(self, customers: Iterable[tuple[dict[str, Any], dict[str, Any]]]) -> list[Routed | None]:
        """For each (standard, extra) of a new customer without an owner: the owner its
        first matching rule gives, or None (no rule matches, or its target has nobody
        active: then the creator owns it, as without rules)."""
        wanted = list(customers)
        if not self.rules:
            return [None] * len(wanted)
        by_rule: dict[str, list[int]] = {}
        matched: dict[str, Rule] = {}
        for place, (standard, extra) in enumerate(wanted):
            rule = self.first_match(standard, extra)
            if rule is not None:
                by_rule.setdefault(rule.name, []).append(place)
                matched[rule.name] = rule
        routed: list[Routed | None] = [None] * len(wanted)
        for name, places in by_rule.items():
            handles = self._owners(matched[name], len(places))
            for place, handle in zip(places, handles, strict=False):
                routed[place] = self.last = Routed(self._user(handle), name)
        return routed

    def _owners(self, rule: Rule, n: int) -> list[str]:
        if rule.how not in HOWS:
            user = self.s.exec(select(User).where(User.handle == rule.how)).first()
            if user is None or not user.active or user.deleted_at is not None:
                self.warnings.append(f"rule {rule.name}: {rule.how} is not an active user; "
                                     "the new customer stays yours")
                return []
            return [rule.how] * n
        team = members(self.s, rule.to)
        if not team:
            self.warnings.append(f"rule {rule.name}: nobody active in {show_to(rule.to)}; "
                                 "the new customer stays yours")
            return []
        if rule.how == "least-open":
            if rule.name not in self._open:  # counted once, then kept up to date here
                self._open[rule.name] = open_counts(self.s, team)
            return least_open(self._open[rule.name], n)
        return (self.turns or LocalTurns(self.s)).take(rule.name, team, n)

    def _user(self, handle: str) -> User:
        if handle not in self._users:
            user = self.s.exec(select(User).where(User.handle == handle)).first()
            if user is None:
                raise Invalid(f"the shared database's turn went to {handle!r}, unknown here: "
                              "run `crm sync` and try again", "owner")
            self._users[handle] = user
        return self._users[handle]


def open_counts(s: Session, handles: list[str]) -> dict[str, int]:
    """How many live, open customers (not won, lost or churned) each of `handles` owns."""
    query = (select(Customer.owner, func.count())
             .where(col(Customer.owner).in_(handles), col(Customer.deleted_at).is_(None),
                    col(Customer.stage).not_in(CLOSED_STAGES))
             .group_by(Customer.owner))
    counts = dict.fromkeys(handles, 0)
    counts.update({owner: count for owner, count in s.exec(query).all()})
    return counts


def least_open(counts: dict[str, int], n: int) -> list[str]:
    """`n` owners, each the member with the fewest open customers at that moment, ties by
    handle; `counts` (`open_counts`) goes up with each one given, so a router counts
    once for a whole import."""
    given = []
    for _ in range(n):
        handle = min(counts, key=lambda member: (counts[member], member))
        counts[handle] += 1
        given.append(handle)
    return given
