"""Which field each column of an import feeds.

A header names a field by its canonical name or any alias of the data dictionary,
ignoring case, surrounding space and full-width/half-width differences (fields.fold), or a
declared custom field by its name. A `--map` file says what other columns are (a field, or
"ignore"); `--ignore-unknown` drops the rest. Anything else stops the import with the list
of unknown columns, and two columns meaning the same field are an error too.

A column without a header (Excel leaves trailing ones) is fine while its cells are empty;
a value in one makes the row invalid, since nothing says what the value is and dropping
it would lose data silently. The same for a JSON value under an empty key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crmcli.errors import Invalid, UsageError
from crmcli.fields import fold, typed

IGNORE = "ignore"
NAME_IT = "name it, map it, or remove it"


class ColumnError(Invalid):
    """Unknown or duplicate columns: the whole import stops, not just a row."""

Vocabulary = Callable[[str], "str | None"]


def read_map(path: Path, vocabulary: Vocabulary) -> dict[str, str | None]:
    """A --map TOML file (`"手机号码" = "phone"`, `备注 = "ignore"`): folded column → field."""
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"--map {path}: {error}") from None
    mapping: dict[str, str | None] = {}
    for column, target in table.items():
        if not isinstance(target, str):
            raise UsageError(f"--map {path}: {column} = {target!r}: want a field name or \"ignore\"")
        field = None if fold(target) == IGNORE else vocabulary(target)
        if field is None and fold(target) != IGNORE:
            raise UsageError(f"--map {path}: {column} = {target!r}: there is no such field")
        mapping[fold(column)] = field
    return mapping


class Columns:
    """Maps the columns (or JSON keys) of an import to fields, and rows to {field: value}."""

    def __init__(
        self, vocabulary: Vocabulary, mapping: dict[str, str | None], ignore_unknown: bool
    ):
        self.vocabulary = vocabulary
        self.mapping = mapping
        self.ignore_unknown = ignore_unknown
        self.plan: list[tuple[int, str]] = []
        self.nameless: list[int] = []  # the indexes of columns without a header
        self.width = 0
        self.known: dict[str, str | None] = {}  # JSON key → field (None: ignored)
        self.column_of: dict[str, str] = {}  # field → the column it came from

    def _target(self, header: str) -> tuple[bool, str | None]:
        """(known?, field): a mapped, ignored or recognised column is known."""
        folded = fold(header)
        if folded in self.mapping:
            return True, self.mapping[folded]
        field = self.vocabulary(header)
        return field is not None or self.ignore_unknown, field

    def _resolve(self, headers: list[str]) -> list[str | None]:
        targets, unknown, seen = [], [], {}
        for header in headers:
            known, field = self._target(header) if header else (True, None)
            if not known:
                unknown.append(header)
            elif field in seen:
                raise ColumnError(
                    f"duplicate columns: {seen[field]!r} and {header!r} both mean {field}"
                )
            elif field:
                seen[field] = header
            targets.append(field)
        if unknown:
            raise ColumnError(
                f"unknown columns: {', '.join(unknown)}; declare custom fields first "
                "(`crm field add NAME --type TYPE`), say what columns are with --map FILE "
                '(column = "field" or "ignore"), or pass --ignore-unknown'
            )
        self.column_of.update({field: header for field, header in seen.items()})
        return targets

    def use_headers(self, headers: list[str]) -> None:
        """Check a tabular header: unknown or duplicate columns stop the import."""
        targets = self._resolve(headers)
        self.plan = [(index, field) for index, field in enumerate(targets) if field]
        self.nameless = [index for index, header in enumerate(headers) if not header.strip()]
        self.width = len(headers)

    def values(self, row: list[str] | dict[str, Any]) -> dict[str, Any]:
        """{field: value} for one row; Invalid if the row cannot be read as one record."""
        if isinstance(row, dict):
            return self._record(row)
        if len(row) > self.width and any(cell.strip() for cell in row[self.width:]):
            raise Invalid(f"has {len(row)} values but the header has {self.width} columns")
        for index in self.nameless:
            if index < len(row) and row[index].strip():
                raise Invalid(f"column {index + 1} has no header: {NAME_IT}")
        return {field: row[index] if index < len(row) else "" for index, field in self.plan}

    def _record(self, record: dict[str, Any]) -> dict[str, Any]:
        fresh = [key for key in record if key not in self.known]
        if fresh:
            for key, field in zip(fresh, self._resolve(fresh), strict=True):
                self.known[key] = field
        values: dict[str, Any] = {}
        for key, value in record.items():
            field = self.known[key]
            if field is None:
                if not key.strip() and value not in (None, ""):
                    raise Invalid(f"a value has an empty key: {NAME_IT}")
                continue
            if field in values:
                raise Invalid(f"{self.column_of.get(field, field)!r} and {key!r} both mean {field}")
            values[field] = typed(value, field)
        return values
