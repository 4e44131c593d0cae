"""Fixtures for the dashboard: a seeded database, a frozen clock, stable ids, and the app
built by the same factory `crm tui` uses.

Snapshots must not change from run to run, so the clock is frozen (CRM_NOW), the time
zone is UTC, and ids come from a counter instead of uuid7's random bits.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from types import SimpleNamespace

import pytest

from crmcli import config, ids
from crmcli.repo import customers
from crmcli.tui.app import CrmApp, make_app
from crmcli.tui.data import Workspace, create_workspace
from crmcli.tui.screens.customer import CustomerScreen

from .helpers import settle

SEEDED_AT = "2026-03-02T09:00:00+00:00"
NEXT_DAY = "2026-03-03T10:00:00+00:00"  # the seeded "today" tasks are overdue by then
FROZEN_NS = 1_772_442_000_000_000_000  # SEEDED_AT, for the ids' clock


@pytest.fixture(autouse=True)
def always_utc(utc) -> None:
    """Snapshots and seeded times read the same on every machine."""


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Freeze the clock at SEEDED_AT; call the fixture to move it."""

    def freeze(moment: str) -> None:
        monkeypatch.setenv("CRM_NOW", moment)

    freeze(SEEDED_AT)
    return freeze


@pytest.fixture
def stable_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """uuid7s from a counter: `crmcli.ids` gets a frozen clock and "random" bits 1, 2, 3…,
    so ids still grow in creation order and short ids read 00000001, 00000002…"""
    counter = iter(range(1, 10_000_000))
    each = ids._RANDOM_BYTES  # `ids` draws the randomness of many ids at once

    def urandom(size: int) -> bytes:
        return b"".join(next(counter).to_bytes(each, "big") for _ in range(size // each))

    monkeypatch.setattr(ids, "os", SimpleNamespace(urandom=urandom))
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: FROZEN_NS))
    monkeypatch.setattr(ids, "_last_ms", 0)
    monkeypatch.setattr(ids, "_counter", 0)
    monkeypatch.setattr(ids, "_pool", b"")
    monkeypatch.setattr(ids, "_taken", 0)


@pytest.fixture
def seeded(frozen, stable_ids) -> Callable[..., Workspace]:
    """The demo data, loaded as alice (admin, sales) at SEEDED_AT."""
    workspaces: list[Workspace] = []

    def seed(with_demo: bool = True) -> Workspace:
        workspace = create_workspace(config.resolve(), "alice", "Alice Wang", "sales", with_demo)
        workspaces.append(workspace)
        return workspace

    yield seed
    for workspace in workspaces:
        workspace.close()


@pytest.fixture
def demo(seeded) -> Workspace:
    return seeded()


@pytest.fixture
def app() -> Callable[..., CrmApp]:
    """The dashboard on this test's database, without the watch for outside changes unless
    asked (`app(watch_every=0.2)`)."""

    def build(watch_every: float | None = None) -> CrmApp:
        return make_app(config.resolve(), watch_every=watch_every)

    return build


@pytest.fixture
def on_customer(demo, app, database):
    """`async with on_customer("王芳") as (dashboard, pilot, customer_id):` the dashboard
    opened on that demo customer's screen."""

    @asynccontextmanager
    async def open_screen(name: str, **run_test):
        with database() as s:
            target = customers.resolve(s, name).id
        dashboard = app(watch_every=run_test.pop("watch_every", None))
        async with dashboard.run_test(**{"size": (100, 40), **run_test}) as pilot:
            await settle(pilot)
            await dashboard.push_screen(CustomerScreen(target))
            await settle(pilot)
            yield dashboard, pilot, target

    return open_screen
