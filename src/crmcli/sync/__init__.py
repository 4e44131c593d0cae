"""Team sync: each member's local SQLite replica against the team's shared PostgreSQL.

A member works on their replica (fast, offline); `crm sync` pushes what they changed
since their last sync and pulls what everyone else changed. The promise: every replica
converges to the same data, and no change is ever silently lost.

How (one module per step; each module's docstring has the details):

- The change log is the audit trail (`repo/audit.py`). Every write records an event with
  the acting member's handle and `changes = {field: [before, after]}`; events not pushed
  yet (`synced = False`) are the replica's outbox. `before` is what this replica had seen.
- Push (`push.py`, deciding in `plan.py`): the plan is prepared from what the shared
  database holds and handed to its `crm_push` function, which checks it against the
  pusher's rights, stamps and writes it in one transaction under the per-schema writer
  lock, or refuses it if anything arrived meanwhile (then it is prepared again). Events
  the shared database already holds are skipped, so a repeated push
  applies once; the rest are folded per record and judged field by field (`merge.py`):
  take the replica's value when the shared one is still what the replica had seen, do
  nothing when they are equal, otherwise keep the shared value and put the replica's
  into a conflict entry (who made it, when, what they had seen). Deletions, records
  gone from the shared database, records added to a customer merged or deleted
  elsewhere (`parents.py`), a deletion arriving after an edit it never saw (kept in a
  conflict, `merge.unseen`), a customer merge whose keeper was deleted or merged away
  elsewhere (refused whole, `merges.py`), one role handed over on two replicas at once
  (`roles.py`), users and custom fields known by handle or name are handled there too.
  Live work (a customer's owner, an open task, a current role) that a push would leave
  with a member deactivated elsewhere is handed over as `crm user deactivate` did, to the
  colleague the deactivation named (`handover.py`): the admin decided that already, so
  it is not a conflict, and `crm sync` reports how much it moved.
  Clocks never decide: only values are compared. The replica marks its events synced only after the
  shared commit. Values PostgreSQL cannot hold: NUL travels as U+FFFD
  (`tables.sendable`); anything else it refuses ends the push naming the record
  (`crm_push` says which), with nothing written. A change the pusher is no longer
  entitled to make is kept in a conflict entry instead (`rights.py`).
- Pull (`pull.py`): one REPEATABLE READ snapshot of the rows stamped after the replica's
  cursor (`schema.py` explains the stamps), written into the replica in one transaction
  with the new cursor. Unpushed local fields keep their values. Cost follows the changes:
  a no-op sync is four round trips whatever the size of the data (the schema check, then
  BEGIN, the newest stamp, COMMIT). The pull is a plain query over what the connected
  role can see, so row-level security (`security.py`, `visibility = own`) narrows it by
  itself; when the shared view epoch moves the replica drops what it may no longer see
  and receives what came into its view.
- Conflicts are records (`models.Conflict`, `repo/conflicts.py`): they reach every
  replica, and resolving one is an ordinary change that syncs.
- Identity and trust (`security.py`; its SQL in `judge.py` and `judge_writes.py`): the member connects with their own login, which the
  shared database maps to their handle (`crm server member add`, `members.py`); the
  replica syncs as that member only, and its local record of them is replaced by the
  shared one. Deactivated there, their login may no longer connect. The URL is kept in
  the replica's own database, never with a password (`connection.py`).

`run.py` strings the steps together; `state.py` keeps the replica's cursor and remote;
`tables.py` says what travels; `local.py` and `shared.py` move rows in bulk on each side.
"""
