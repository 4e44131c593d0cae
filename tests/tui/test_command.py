"""`crm tui` itself: help, the errors it shares with the CLI, and its place in the layers."""

from pathlib import Path

import crmcli.tui


def test_crm_tui_has_help(crm):
    result = crm("tui", "--help")
    assert result.exit_code == 0
    assert "dashboard" in result.stdout


def test_an_unknown_acting_user_stops_before_the_dashboard_opens(crm, alice):
    result = crm("tui", "--as", "nobody")
    assert result.exit_code == 3
    assert result.stderr.strip() == "error: no user 'nobody'"


def test_the_dashboard_builds_no_queries_of_its_own():
    """Everything the dashboard reads or writes goes through crmcli.repo, like the CLI."""
    tui = Path(crmcli.tui.__file__).parent
    for source in tui.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for forbidden in ("select(", "from sqlalchemy", "import sqlalchemy", ".exec("):
            assert forbidden not in text, f"{source.name} uses {forbidden}"
