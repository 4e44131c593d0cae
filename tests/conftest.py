"""Shared fixtures: every test gets its own CRM_HOME (settings, database, attachments).

`crm(...)` runs the real command line in-process (Typer's CliRunner) and returns the
result with separate stdout and stderr; `crm_process(...)` runs `python -m crmcli` in a
subprocess for cases where processes, pipes or imports matter. `database()` opens the
same file through the repository layer for assertions on what was stored.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import typer.testing
from hypothesis import settings
from typer.testing import CliRunner

from crmcli.cli.app import app

# Speed is measured in bench/, not asserted: a busy CI machine must not fail a property
# test because one example was slow (hypothesis' default deadline is 200 ms).
settings.register_profile("crm", deadline=None)
settings.load_profile("crm")

# Typer's CliRunner builds the click command tree of the whole app again on every invoke
# (about 20 ms for crm's hundred commands, a tenth of the suite's time); the tree does not
# change between invocations, so it is built once per app.
typer.testing._get_command = functools.cache(typer.testing._get_command)

CLEARED = ("CRM_DB", "CRM_USER", "CRM_FORMAT", "CRM_REGION", "CRM_NOW", "CRM_DEBUG", "NO_COLOR")


@pytest.fixture(autouse=True)
def crm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "crm-home"
    home.mkdir()
    monkeypatch.setenv("CRM_HOME", str(home))
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return home


def _local_zone(monkeypatch: pytest.MonkeyPatch, zone: str) -> Iterator[None]:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC for this test (and only this test: the zone is reset after)."""
    yield from _local_zone(monkeypatch, "UTC")


@pytest.fixture
def beijing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is China's (UTC+8) for this test, reset after."""
    yield from _local_zone(monkeypatch, "Asia/Shanghai")


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """`at("2026-03-02 09:00")`: freeze the clock there (China's time: `CRM_NOW`)."""
    def freeze(moment: str) -> None:
        monkeypatch.setenv("CRM_NOW", moment.replace(" ", "T") + ":00+08:00")
    return freeze


@pytest.fixture
def crm() -> Callable[..., object]:
    """Run `crm ARGS...` in-process; keyword `input` feeds stdin."""
    runner = CliRunner()

    def run(*args: str, input: str | bytes | None = None, env: dict | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input, env=env)

    return run


@pytest.fixture
def crm_process(crm_home: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run `python -m crmcli ARGS...` in a subprocess with this test's CRM_HOME."""

    def run(*args: str, input: str | None = None, env: dict | None = None, **kwargs):
        environment = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "crmcli", *map(str, args)],
            input=input, capture_output=True, text=True, env=environment, **kwargs,
        )

    return run


@pytest.fixture
def alice(crm) -> str:
    """An initialised database whose first user (admin) is alice, in sales."""
    result = crm("init", "--user", "alice", "--name", "Alice Wang", "--dept", "sales")
    assert result.exit_code == 0, result.output
    return "alice"


@pytest.fixture
def team(crm, alice) -> dict[str, str]:
    """alice (admin, sales), bob (member, service), carol (manager, marketing)."""
    for handle, name, dept, role in (
        ("bob", "Bob Li", "service", "member"),
        ("carol", "Carol Zhang", "marketing", "manager"),
    ):
        result = crm("user", "add", handle, "--name", name, "--dept", dept, "--role", role)
        assert result.exit_code == 0, result.output
    return {"alice": "admin", "bob": "member", "carol": "manager"}


@pytest.fixture
def database(crm_home: Path) -> Callable:
    """`with database() as s:` a read session on this test's database."""
    from crmcli import config
    from crmcli.db import Database, session_scope

    @contextmanager
    def open_session(write: bool = False) -> Iterator:
        db = Database.open(config.resolve())
        try:
            with session_scope(db, write=write) as s:
                yield s
        finally:
            db.dispose()

    return open_session


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get("CRM_TEST_PG_URL")
    if not url:
        pytest.skip("needs PostgreSQL: set CRM_TEST_PG_URL (CI sets it)")
    return url
