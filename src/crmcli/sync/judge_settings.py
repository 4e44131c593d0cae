"""Schema version 9 in SQL: the team settings (`models.Setting`, `repo/settings.py`).

A synced record like the others, so every replica reads the rules it routes leads by, the
working hours its SLA clock counts and the checklists its hand-overs ask for. Only an
admin writes one: `judge_writes.RULES["setting"]` refuses everyone else's push. Every
member reads them all (no read policy narrows them).
"""

from crmcli.sync.judge_tables import record_table

SETTINGS_TABLE = record_table("setting", """
    key text NOT NULL UNIQUE,
    value jsonb,""")
