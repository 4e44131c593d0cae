"""The columns of `crm import/export notes|tasks`: names, Chinese headers and aliases.

Customers' columns are the data dictionary's fields (`fields.CUSTOMER_FIELDS`); notes and
tasks have a short fixed list of their own, kept here so both directions read one list.
"""

from __future__ import annotations

from dataclasses import dataclass

from crmcli.fields import fold


@dataclass(frozen=True)
class RecordColumn:
    """A column of `crm import/export notes|tasks`: its name, Chinese header and aliases."""

    name: str
    label: str
    aliases: tuple[str, ...] = ()


NOTE_COLUMNS = (
    RecordColumn("id", "id"),  # an export's: import matches the record by it
    RecordColumn("customer", "客户", ("客户名称", "联系人")),
    RecordColumn("kind", "类型", ("跟进方式",)),
    RecordColumn("direction", "方向", ("呼叫方向", "来去")),  # in/out: the SLA clock's
    RecordColumn("body", "内容", ("跟进内容",)),
    RecordColumn("quote", "客户原话", ("原话",)),
    RecordColumn("author", "记录人", ()),
    RecordColumn("at", "时间", ("跟进时间",)),
)
TASK_COLUMNS = (
    RecordColumn("id", "id"),
    RecordColumn("customer", "客户", ("客户名称", "联系人")),
    RecordColumn("title", "任务", ("标题",)),
    RecordColumn("assignee", "执行人", ()),
    RecordColumn("due", "截止时间", ()),
    RecordColumn("priority", "优先级", ()),
    RecordColumn("status", "状态", ()),
)


def canonical_column(columns: tuple[RecordColumn, ...], header: str) -> str | None:
    """The column of `columns` a header means (name, label or alias, folded), or None."""
    folded = fold(header)
    for column in columns:
        if folded in (fold(column.name), fold(column.label), *map(fold, column.aliases)):
            return column.name
    return None
