"""What every bulk import shares: rows in, a report out, invalid rows told as they are met.

An import runs in the caller's one write transaction. It reads the rows in batches of
BATCH, so memory stays flat however long the input is, and writes each batch before the
next is read, so a row that repeats one of an earlier batch finds it in the database like
any other duplicate (no in-file index that would grow with the file); repeats within a
batch are the subclass's to reconcile (customers fold them into one record). Every invalid row is
reported through `on_invalid` with where it is, the field and the reason; the caller
decides whether to commit (all-or-nothing by default, `--partial`, `--dry-run`).
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cache
from itertools import islice
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Dialect, func, insert
from sqlmodel import Session

from crmcli.errors import CrmError, Invalid, PermissionDenied
from crmcli.repo import audit, search
from crmcli.repo.users import Actor

BATCH = 2000
BULK_CACHE_KIB = 32 * 1024
ON_DUPLICATE = ("update", "skip", "error")


@dataclass(frozen=True)
class Row:
    """One input record: `values` keyed by field name, or the `problem` that made it unreadable."""

    where: str
    values: dict[str, Any] = field(default_factory=dict)
    problem: Invalid | None = None


@dataclass(frozen=True)
class RowError:
    where: str
    field: str | None
    reason: str


@dataclass
class Report:
    kind: str  # customers | notes | tasks
    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    invalid: int = 0

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, int)}


class Importer:
    """The loop and the bookkeeping; subclasses say how a batch is parsed and written."""

    kind = ""

    def __init__(
        self,
        s: Session,
        *,
        by: Actor,
        source: str,
        on_duplicate: str = "update",
        on_invalid: Callable[[RowError], None] = lambda error: None,
    ):
        if on_duplicate not in ON_DUPLICATE:
            raise Invalid(f"{on_duplicate!r} is not one of {', '.join(ON_DUPLICATE)}", "on-duplicate")
        self.s = s
        self.by = by
        self.on_duplicate = on_duplicate
        self.on_invalid = on_invalid
        self.report = Report(self.kind, source)

    def run(self, rows: Iterable[Row]) -> Report:
        """Import every row; ends with one audit event for the import itself."""
        deferred: list[Any] = []
        with page_cache(self.s, BULK_CACHE_KIB), cyclic_gc_paused() as collect_cycles, \
                search.deferred(self.s):
            for batch in batched(rows, BATCH):
                parsed = [entry for entry in map(self._read, batch) if entry is not None]
                deferred = self.write(deferred + parsed)
                self.s.flush()
                collect_cycles()
            while deferred:
                deferred = self.write(deferred)
        audit.record(
            self.s, by=self.by.handle, action=f"import.{self.kind}", entity="import",
            detail={"file": self.report.source, **self.report.counts()},
        )
        return self.report

    def _read(self, row: Row) -> Any:
        if row.problem is not None:
            return self.refuse(row.where, [row.problem])
        try:
            return self.parse(row)
        except Invalid as error:
            return self.refuse(row.where, self.problems(row) or [error])

    def refuse(self, where: str, problems: list[Invalid]) -> None:
        """Count a row as invalid and report each of its problems."""
        self.report.invalid += 1
        for problem in problems:
            self.on_invalid(RowError(where, problem.field, problem.reason))

    def denied(self, row: Row, refusal: PermissionDenied) -> PermissionDenied:
        """A row the importing user has no right to write. Not an invalid value that
        `--partial` could leave out: the whole import is refused (exit 6), naming the row."""
        return PermissionDenied(f"{row.where}: {refusal}; nothing imported")

    def problems(self, row: Row) -> list[Invalid]:
        """Every bad value of a row that failed to parse, not just the first."""
        found = []
        for name, value in row.values.items():
            try:
                self.parse(Row(row.where, {name: value}), whole=False)
            except Invalid as problem:
                found.append(problem)
        return found

    # --- what each kind of record says -------------------------------------------------

    def parse(self, row: Row, whole: bool = True) -> Any:
        """The row's values parsed by the data dictionary; raises Invalid.

        `whole=False` checks a row holding a single value (to list every bad value)."""
        raise NotImplementedError

    def write(self, entries: list[Any]) -> list[Any]:
        """Store a batch of parsed rows; returns those that must wait for the next batch."""
        raise NotImplementedError


def parse_id(text: Any, what: str = "customer") -> str | None:
    """An `id` column (an export's): a full uuid. A new record keeps it, so an export
    imported into an empty database exports the same, and notes and tasks can point at
    their customer by it."""
    if text is None or not str(text).strip():
        return None
    try:
        return str(uuid.UUID(str(text).strip()))
    except ValueError:
        raise Invalid(f"{text!r} is not a full {what} id", "id") from None


def remembered(cache: dict[str, Any], key: str, lookup: Callable[[str], Any], field: str) -> Any:
    """`lookup(key)`, remembered for the batch or import, a refusal too (Invalid on `field`):
    a file naming the same owner or customer on every row looks it up once."""
    if key not in cache:
        try:
            cache[key] = lookup(key)
        except CrmError as error:
            cache[key] = Invalid(getattr(error, "reason", str(error)), field)
    found = cache[key]
    if isinstance(found, Invalid):
        raise found
    return found


@contextmanager
def cyclic_gc_paused() -> Iterator[Callable[[], None]]:
    """Run a bulk load with Python's cyclic garbage collector under our control.

    A load allocates millions of small dicts and strings that reference counting frees
    batch by batch, yet left alone the collector walks the growing heap every few thousand
    allocations: measured, that was half the time spent building rows. So it is paused,
    and the caller collects the young generation once per batch through the function this
    yields: cheap (only what the batch left alive is examined), and it frees the few
    reference cycles each batch does make (SQLAlchemy's per-statement objects), without
    which memory grew with the file (428 MiB at a million rows, against 120 MiB).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield lambda: gc.collect(0)
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def page_cache(s: Session, kib: int) -> Iterator[None]:
    """SQLite's page cache enlarged to `kib` for a bulk load, then as it was.

    A load touches every index of the tables it writes. With the default 2 MiB cache the
    pages spill into the write-ahead log before the commit and are written there again and
    again as later rows change them: measured into a database of 100,000 customers, a
    32 MiB cache halved the kernel time and wrote a sixth less. Durability is untouched
    (the journal and sync settings stay); the cache is memory, counted in the RSS budget.
    """
    connection = s.connection()
    was = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(was)}")


class JsonText:
    """A JSON column's value already serialized as the column stores it (`json_text`):
    `insert_rows` writes its text as it is. A pull prepares its events' values so in the
    thread that reads them (`sync.local.prepared`), while the writer is inside SQLite.
    (A holder, not a subclass of str: sqlite3 binds a subclass through its adapter
    lookup, which cost more than the serializing saved.)"""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def json_text(value: Any) -> JsonText:
    """`value` serialized as a JSON column's conversion does it (`db._dumps`)."""
    return JsonText(orjson.dumps(value).decode())


def insert_rows(s: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert new rows (dicts of every column, as `machine.new_row` builds them) at once.

    The statement is SQLAlchemy Core's INSERT for the table and each value goes through its
    column type's own bind processor, exactly what `connection.execute(insert(model), rows)`
    does; what is skipped is Core's per-parameter bookkeeping, which costs more than
    SQLite's own work at bulk sizes. The values are converted a column at a time (the rows
    transposed and back, in C): a column empty in every row is left as it is, a timestamp
    (one `now` per batch) or an empty JSON value is converted once for all its rows, and a
    JSON value given as `JsonText` is not converted again.
    """
    if not rows:
        return
    connection = s.connection()
    sql, pick, processed = _insert_plan(model, connection.dialect)
    columns = list(zip(*map(pick, rows), strict=True))
    for place, process, kind in processed:
        values = columns[place]
        if values.count(None) == len(values):
            continue
        if kind is datetime:  # one `now` per batch: each moment converted once
            converted: dict[Any, Any] = {None: None}
            columns[place] = [converted[value] if value in converted
                              else converted.setdefault(value, process(value)) for value in values]
        elif kind is JSON:  # unhashable, and mostly empty: {} and [] converted once each
            empty = {dict: process({}), list: process([]), type(None): None}
            columns[place] = [value.text if type(value) is JsonText
                              else process(value) if value or type(value) not in empty
                              else empty[type(value)] for value in values]
        else:
            columns[place] = [None if value is None else process(value) for value in values]
    connection.exec_driver_sql(sql, list(zip(*columns, strict=True)))


@cache
def _insert_plan(model: type, dialect: Dialect) -> tuple[str, Callable, list]:
    """Core's compiled INSERT for `model`, a getter of its parameters in order, and the
    (place, bind processor, JSON or the Python type) of the columns whose values need
    converting."""
    table = model.__table__
    compiled = insert(table).compile(dialect=dialect)
    names = compiled.positiontup
    processed = []
    for place, name in enumerate(names):
        kind = table.c[name].type
        process = kind._cached_bind_processor(dialect)
        if process is not None:
            processed.append((place, process, JSON if isinstance(kind, JSON) else kind.python_type))
    return str(compiled), itemgetter(*names), processed


def batched(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def listed(values: Iterable[Any]) -> Any:
    """The values as a table of one column (`value`) from one JSON parameter: a batch's
    thousands of keys as `IN (…)` are a bound parameter each, which SQLAlchemy expands
    into the statement every time at more cost than the lookup (the index is used alike)."""
    return func.json_each(orjson.dumps(list(values)).decode()).table_valued("value")
