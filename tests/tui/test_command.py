"""`crm tui` itself: help, the errors it shares with the CLI, and start-up cost for others."""

import subprocess
import sys


def test_crm_tui_has_help(crm):
    result = crm("tui", "--help")
    assert result.exit_code == 0
    assert "dashboard" in result.stdout


def test_an_unknown_acting_user_stops_before_the_dashboard_opens(crm, alice):
    result = crm("tui", "--as", "nobody")
    assert result.exit_code == 3
    assert result.stderr.strip() == "error: no user 'nobody'"


def test_the_command_line_does_not_import_textual():
    code = "import sys, crmcli.cli.app; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
