"""The inbox (F5): my notifications, newest first, the new ones marked; read, unread,
all read; Enter opens the customer a notification is about."""

from contextlib import asynccontextmanager

from sqlmodel import select

from crmcli.models import Notification
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.inbox import UNREAD, InboxScreen

from .helpers import press, screen_text, settle
from .test_keys_and_palette import palette
from .test_my_work import column


@asynccontextmanager
async def inbox_open(app):
    """The dashboard on the inbox: `async with inbox_open(app) as (dashboard, pilot):`."""
    dashboard = app()
    async with dashboard.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "f5")
        yield dashboard, pilot


def unread_titles(database) -> list[str]:
    with database() as s:
        query = select(Notification.title).where(
            Notification.recipient == "alice", Notification.read_at.is_(None))
        return sorted(s.exec(query).all())


async def test_the_inbox_collects_my_notifications_and_marks_the_new_ones(demo, app):
    async with inbox_open(app) as (dashboard, pilot):
        assert isinstance(dashboard.screen, InboxScreen)
        table = dashboard.screen.table
        assert column(table, 0) == [UNREAD] * 3
        assert sorted(column(table, 3)) == [
            "Acknowledge: you are sales of 刘洋", "Due soon: Send the German invoice sample",
            "Overdue: 回访确认迁移方案"]
        text = screen_text(dashboard)
        assert "3 unread of 3 notifications" in text
        assert {"Inbox", "Read", "All read"} <= palette(dashboard)


async def test_read_unread_and_all_read_are_kept(demo, app, database):
    async with inbox_open(app) as (dashboard, pilot):
        first = str(dashboard.screen.table.get_row_at(0)[3])
        await press(pilot, "r")
        assert first not in unread_titles(database)
        assert len(unread_titles(database)) == 2
        assert "2 unread of 3" in screen_text(dashboard)
        assert "Unread" in palette(dashboard) and "Read" not in palette(dashboard)
        await press(pilot, "u")
        assert len(unread_titles(database)) == 3
        await press(pilot, "a")
        assert unread_titles(database) == []
        assert column(dashboard.screen.table, 0) == [""] * 3


async def test_enter_opens_the_customer_and_marks_the_notification_read(demo, app, database):
    async with inbox_open(app) as (dashboard, pilot):
        title = str(dashboard.screen.table.get_row_at(0)[3])
        await press(pilot, "enter")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert title not in unread_titles(database)
        await press(pilot, "escape")
        assert column(dashboard.screen.table, 0)[0] == ""
