"""Every command explains itself, and the exit codes are documented where users look."""

from pathlib import Path

import pytest
from typer.main import get_command

from crmcli.cli.app import app

ROOT = Path(__file__).resolve().parents[1]


def all_commands(group=None, path=()):
    group = group or get_command(app)
    for name, command in group.commands.items():
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from all_commands(command, (*path, name))


@pytest.mark.parametrize("path", [p for p, _ in all_commands()], ids=" ".join)
def test_every_command_has_help_text(crm, path):
    command = dict(all_commands())[path]
    assert (command.help or "").strip(), f"crm {' '.join(path)} has no help"
    result = crm(*path, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_the_exit_codes_are_in_crm_help_and_the_readme(crm):
    help_text = " ".join(crm("--help").stdout.split())
    readme = (ROOT / "README.md").read_text()
    for code, meaning in ((2, "usage"), (3, "not found"), (4, "invalid"), (5, "conflict"),
                          (6, "permission denied")):
        assert f"{code} {meaning}" in help_text
        assert f"| {code} |" in readme


def test_the_readme_begins_with_the_two_command_quick_start():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Quick start")
    block = readme[start:].split("```")[1]
    commands = [line for line in block.splitlines()[1:] if line.strip()]
    assert len(commands) == 2
    assert commands[0].rstrip().endswith("crm tui")
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1].strip() in ci
