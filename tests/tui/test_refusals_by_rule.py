"""The dashboard is held to the same record permissions as the command line (they live in
the repository): a refused save says the rule in the form, a refused action in a
notification, and nothing is written."""

import pytest
from textual.widgets import Static

from crmcli import config
from crmcli.errors import PermissionDenied
from crmcli.repo import customers, tasks
from crmcli.tui.data import open_workspace
from crmcli.tui.widgets.task_table import TaskTable

from .helpers import notifications, press, screen_text

RULE = ("bob may not change customer 李伟: its fields are changed by its owner (alice), its "
        "role holders, managers of sales and admins")


@pytest.fixture
def as_bob(demo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard opened by bob (alice, an admin, is the user `crm init` remembered)."""
    monkeypatch.setenv("CRM_USER", "bob")


async def refused_in_form(dashboard, pilot, key: str, **values: str) -> None:
    """Open the form `key` opens, fill in `values`, save: the form stays open, the rule
    in its banner."""
    await press(pilot, key)
    form = dashboard.screen
    for name, value in values.items():
        form.fields[name].control.value = value
    await press(pilot, "ctrl+s")
    assert dashboard.screen is form
    banner = form.query_one("#form-error", Static)
    assert banner.display and str(banner.render()) == RULE
    assert "bob may not change customer" in screen_text(dashboard)


async def test_an_edit_of_a_colleagues_customer_is_refused_in_the_form(
    as_bob, on_customer, database
):
    async with on_customer("李伟") as (dashboard, pilot, target):
        await refused_in_form(dashboard, pilot, "e", city="天津")
    with database() as s:
        stored = customers.by_id(s, target)
        assert (stored.city, stored.updated_by, stored.version) == ("北京", "alice", 1)


async def test_completing_a_colleagues_task_is_refused_in_a_notification(
    as_bob, on_customer, database
):
    seen: list = []
    async with on_customer("李伟", message_hook=seen.append) as (dashboard, pilot, target):
        dashboard.screen.query_one(TaskTable).focus()
        await press(pilot, "d")
        [message] = [n.message for n in notifications(seen) if n.severity == "error"]
        assert message.startswith("bob may not change task '准备校区报价单' of 李伟: a task is "
                                  "changed by its assignee (alice) and whoever may change")
    with database() as s:
        [task] = tasks.for_customer(s, target)
        assert task.status == "open"


def test_the_dashboard_acts_as_another_user_only_for_a_remembered_admin(demo, monkeypatch):
    config.remember_user(config.resolve().db_path, "bob")
    monkeypatch.setenv("CRM_USER", "alice")
    with pytest.raises(PermissionDenied, match="bob may not act as alice"):
        open_workspace(config.resolve())


async def test_a_hand_over_of_a_colleagues_customer_is_refused_in_the_form(
    as_bob, on_customer, database
):
    async with on_customer("李伟") as (dashboard, pilot, target):
        await refused_in_form(dashboard, pilot, "a", user="bob")
    with database() as s:
        assert customers.by_id(s, target).owner == "alice"
