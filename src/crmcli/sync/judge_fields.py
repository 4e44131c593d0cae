"""Schema version 5 in SQL: a custom field's label.

`crm field edit NAME --label TEXT` gives a custom field the label people read in place of
its name; like the field's choices it travels with the field (`field_def`), judged as
every change of a custom field is (admins and managers: `judge_writes.RULES`). The
column comes before `judge_writes.rewritten_functions()` in version 5, whose
`crm_write_field_def` writes it.
"""

from __future__ import annotations

FIELD_LABELS = """
ALTER TABLE field_def ADD COLUMN label text;
"""
