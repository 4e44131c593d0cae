"""Schema version 9, the SLA clock's part: a note's direction.

A note went "in" (the customer reached us) or "out" (we answered), or neither (internal
notes and every note written before). The SLA clock (`repo/sla.py`) reads it on every
replica, so the shared database holds it for every writer: a closed list, and never on
an internal note (that one went nowhere). The column changes what a note's row holds, so
the functions generated from the tables' columns are written again (`schema.V9`).
"""

from __future__ import annotations

from crmcli import fields
from crmcli.sync.judge import _in

DIRECTION = f"""
ALTER TABLE note ADD COLUMN direction text;
ALTER TABLE note ADD CONSTRAINT note_direction_is_known
    CHECK (direction IS NULL OR (direction IN {_in(fields.NOTE_DIRECTIONS)} AND kind <> 'internal'));
"""
