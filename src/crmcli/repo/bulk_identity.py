"""Which rows of a customer import, and which stored customers, are one customer.

A row is a stored customer when the export `id` matches, or its phone or e-mail matches
*and* the names agree (`crmcli.names.same_name`: case, width, spaces and traditional
script folded away; a row giving no name agrees with any), or its name + company match
(case-folded). A phone or e-mail shared by differently named people is not identity: a
switchboard number, a department's mailbox. Such a row is a `Clash`, a possible duplicate
the import reports with both names; `--on-name-mismatch create` makes it a customer of
its own instead. Rows of one batch are grouped by the same rule (`grouped`): a row joins
the earlier rows it shares an id, name + company, or a phone or e-mail *under the same
name* with. Names are compared only where a phone or e-mail hit asks for it, and the
plain text first, so a bulk load pays the script conversion for almost no row.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from crmcli.models import User
from crmcli.names import name_key
from crmcli.repo import customers
from crmcli.repo.bulk import Row

CONTACTS = ("phone", "email")  # keys that only say "same customer" when the names agree


@dataclass
class Entry:
    """A parsed row: its values, the owner it names, and its duplicate keys in match order."""

    row: Row
    standard: dict[str, Any]
    extra: dict[str, Any]
    customer_id: str | None
    owner: User | None
    keys: list[tuple[str, str]]

    @property
    def name(self) -> str | None:
        return self.standard.get("name")

    @cached_property
    def name_key(self) -> str:
        return name_key(self.name)


@dataclass
class Group:
    """The rows of a batch that are one customer, in file order, and the stored customer
    its first row matches (`match`, found on key kind `kind`), if any."""

    rows: list[Entry]
    match: Any | None
    kind: str | None

    @property
    def first(self) -> Entry:
        return self.rows[0]

    @property
    def customer_id(self) -> str | None:
        return next((entry.customer_id for entry in self.rows if entry.customer_id), None)

    @property
    def name(self) -> str | None:
        """The customer's name: the first row's that gives one, else the stored one."""
        named = next((entry.name for entry in self.rows if entry.name), None)
        return named or (self.match.name if self.match is not None else None)


@dataclass
class Clash:
    """A row whose phone or e-mail (`kind`) is held by differently named customers
    (`stored`, described) or earlier rows (`lines`: where and name), and who is no one
    of them."""

    kind: str
    stored: list[str]
    lines: list[tuple[str, str]]

    def reason(self, entry: Entry) -> str:
        held = []
        if self.stored:
            plural = "s" if len(self.stored) > 1 else ""
            held.append(f"existing customer{plural} {' and '.join(self.stored)}")
        held += [f"{where} ({name})" for where, name in self.lines]
        if not entry.name:
            return (f"same {self.kind} as {' and '.join(held)}, who differ in name: give "
                    "the row's name to say which customer it is")
        return (f"same {self.kind} as {' and '.join(held)} but a different name "
                f"({entry.name}): a possible duplicate, not the same customer; "
                "--on-name-mismatch create adds it as a new customer")


def agree(entry: Entry, name: str | None) -> bool:
    """Whether the row's name agrees with `name` (a row giving no name agrees with any)."""
    if not entry.name or entry.name == name:
        return True
    return entry.name_key == name_key(name)


def _same_named(entry: Entry, holders: list[Any]) -> list[Any]:
    """Those of `holders` (of one phone or e-mail) the row may be: the same-named ones.
    A row with no name is none of them when they differ in name: which, it does not say."""
    if not entry.name and len({name_key(holder.name) for holder in holders}) > 1:
        return []
    return [holder for holder in holders if agree(entry, holder.name)]


def stored_match(
    entry: Entry, found: dict[tuple[str, str], list[Any]]
) -> tuple[Any | None, str | None, list[tuple[str, Any]]]:
    """The stored customer a row is, on the first of its keys that says so, and the key
    kind; else the (kind, customer) of the differently named ones holding its phone or
    e-mail."""
    others: list[tuple[str, Any]] = []
    for kind, value in entry.keys:
        candidates = found.get((kind, value), [])
        if kind in CONTACTS and candidates:
            same = _same_named(entry, candidates)
            others += [(kind, c) for c in candidates if c not in same]
            candidates = same
        if candidates:
            return candidates[0], kind, []
    return None, None, others


def grouped(
    entries: list[Entry], found: dict[tuple[str, str], list[Any]], *, separate_names: bool
) -> tuple[list[Group], list[Entry], list[tuple[Entry, Clash]]]:
    """The batch's rows as groups of one customer each, the rows that must wait, and the
    rows that clash: a phone or e-mail of differently named people, and no one else the
    row is (a new customer's rows are checked against both, a stored one's are left to
    the duplicate guard of its update).

    A row sharing a key with an earlier row joins its group (a phone or e-mail only under
    the same name); one sharing none starts a group, matching the stored customer
    `stored_match` finds. A row that would join two groups, or bring a group a second
    stored customer or a second id, waits for the next batch: by then its groups are in
    the database. With `separate_names` a clashing row is a customer of its own.
    """
    groups: list[Group] = []
    group_of: dict[tuple, Group] = {}  # a key (or stored pk) → the group holding it
    holders: dict[tuple[str, str], list[Group]] = {}  # a phone or e-mail → groups giving it
    deferred: list[Entry] = []
    clashes: list[tuple[Entry, Clash]] = []
    waiting: set[tuple] = set()  # the keys of deferred rows: who shares one waits
    for entry in entries:
        match, kind, others = stored_match(entry, found)
        tokens, strangers = _tokens(entry, holders)
        tokens += [("stored", match.pk)] if match else []
        plain = [*entry.keys, *tokens]
        joined = {id(group_of[token]): group_of[token] for token in tokens if token in group_of}
        group = None
        if not waiting.intersection(plain) and len(joined) <= 1:
            group = next(iter(joined.values()), None)
            if group is None:
                group = Group([], match, kind)
            elif not _fits(group, entry, match):
                group = None
        if group is None:
            deferred.append(entry)
            waiting.update(plain)
            continue
        if (others or strangers) and group.match is None and not separate_names:
            clashes.append((entry, _clash(others, strangers)))
            continue
        if not group.rows:
            groups.append(group)
        group.rows.append(entry)
        _hold(group, entry, tokens, group_of, holders)
    return groups, deferred, clashes


def _tokens(
    entry: Entry, holders: dict[tuple[str, str], list[Group]]
) -> tuple[list[tuple], list[tuple[str, Group]]]:
    """The keys a row joins groups by (a phone or e-mail: that of a same-named group),
    and the (kind, group) of the groups of other names holding its phone or e-mail."""
    tokens: list[tuple] = []
    strangers: list[tuple[str, Group]] = []
    for kind, value in entry.keys:
        if kind not in CONTACTS:
            tokens.append((kind, value))
            continue
        held = holders.get((kind, value), [])
        same = _same_named(entry, held)
        strangers += [(kind, group) for group in held if group not in same]
        tokens += [(kind, value, id(group)) for group in same]
    return tokens, strangers


def _hold(group: Group, entry: Entry, tokens: list[tuple], group_of: dict, holders: dict) -> None:
    """Record that `group` holds the row's keys, its phone and e-mail under its name."""
    group_of.update((token, group) for token in tokens)
    for kind, value in entry.keys:
        if kind in CONTACTS:
            group_of[(kind, value, id(group))] = group
            if group not in holders.setdefault((kind, value), []):
                holders[(kind, value)].append(group)


def _clash(others: list[tuple[str, Any]], strangers: list[tuple[str, Group]]) -> Clash:
    kind = (others or strangers)[0][0]
    stored = list(dict.fromkeys(customers.describe(c) for _kind, c in others))
    lines = list(dict.fromkeys((g.first.row.where, g.name or "") for _kind, g in strangers))
    return Clash(kind, stored, lines)


def _fits(group: Group, entry: Entry, match: Any) -> bool:
    """Whether `entry` may join `group`: no stored customer but the group's (a new group
    meeting a stored customer is left for the next batch) and no other id."""
    same_match = match is None or (group.match is not None and match.pk == group.match.pk)
    ids = {group.customer_id, entry.customer_id} - {None}
    return same_match and len(ids) <= 1
