"""Several crm processes writing to one database at once: all succeed, nothing is lost."""

import json
import subprocess
import sys

PROCESSES = 8
NOTES_EACH = 25

WRITER = """
import sys
from crmcli.cli.app import app
for i in range(int(sys.argv[2])):
    try:
        app(["note", "add", "Shared", f"writer {sys.argv[1]} note {i}"])
    except SystemExit as done:
        if done.code:
            sys.exit(f"note {i} failed with {done.code}")
"""


def test_eight_processes_adding_25_notes_each_to_one_customer_leave_200(crm, alice):
    assert crm("customer", "add", "Shared").exit_code == 0
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(n), str(NOTES_EACH)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for n in range(PROCESSES)
    ]
    failures = [w.communicate(timeout=300)[1] for w in writers if w.wait(timeout=300)]
    assert failures == []
    notes = json.loads(crm("note", "list", "Shared", "--format", "json").stdout)
    assert len(notes) == PROCESSES * NOTES_EACH
    assert len({n["body"] for n in notes}) == PROCESSES * NOTES_EACH
    history = json.loads(crm("history", "Shared", "--format", "json").stdout)
    assert sum(e["action"] == "note.create" for e in history) == PROCESSES * NOTES_EACH
    found = json.loads(crm("customer", "find", "writer 7 note 24", "--format", "json").stdout)
    assert [c["name"] for c in found] == ["Shared"]
