"""Start-up: heavy modules stay out of commands that do not need them."""

import subprocess
import sys

PROBE = """
import sys
from crmcli.cli.app import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
heavy = ("sqlmodel", "sqlalchemy", "textual", "openpyxl", "psycopg", "httpx")
found = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in heavy})
print("LOADED:" + ",".join(found), file=sys.stderr)
"""


def loaded(*args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True)
    marker = result.stderr.strip().splitlines()[-1]
    assert marker.startswith("LOADED:"), result.stderr
    return set(filter(None, marker.removeprefix("LOADED:").split(",")))


def test_help_imports_no_database_tui_excel_postgres_or_http_code(alice):
    assert loaded("--help") == set()
    assert loaded("customer", "--help") == set()


def test_customer_show_imports_no_tui_excel_postgres_or_http_code(crm, alice):
    crm("customer", "add", "Acme")
    modules = loaded("customer", "show", "Acme")
    assert "sqlmodel" in modules  # it did read the database
    assert not modules & {"textual", "openpyxl", "psycopg", "httpx"}


GC_PROBE = """
import gc, sys
from crmcli.cli.app import main
sys.argv = ["crm", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("GC:" + str(gc.isenabled()), file=sys.stderr)
"""


def gc_enabled_after(*args: str) -> bool:
    result = subprocess.run([sys.executable, "-c", GC_PROBE, *args], capture_output=True, text=True)
    return result.stderr.strip().splitlines()[-1] == "GC:True"


def test_short_commands_skip_the_cycle_collector_and_long_ones_keep_it(crm, alice):
    crm("customer", "add", "Acme")
    assert gc_enabled_after("customer", "list") is False
    assert gc_enabled_after("export", "customers", "--format", "json") is True
