"""The dashboard app: five views (customers, my work, what changed, reports, the inbox), the
first-run screen, the watch that brings in changes made by other processes, and the
crash handler: an unexpected error ends the app with a report file (`crash.py`), never a
traceback of local variables on the terminal.

`make_app` is the one way to build it: `crm tui`, the tests and the snapshot tests all
use it, so they all see the same app.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

from crmcli.config import Settings
from crmcli.db import FAILURES
from crmcli.display import clean
from crmcli.tui import crash
from crmcli.tui.data import Workspace, open_workspace
from crmcli.tui.messages import DataChanged
from crmcli.tui.screens.base import DataScreen
from crmcli.tui.screens.changes import ChangesScreen
from crmcli.tui.screens.customers import CustomersScreen
from crmcli.tui.screens.first_run import FirstRunScreen
from crmcli.tui.screens.inbox import InboxScreen
from crmcli.tui.screens.my_work import MyWorkScreen
from crmcli.tui.screens.reports import ReportsScreen

WATCH_EVERY = 1.0  # seconds between looks for changes made elsewhere (target: seen within 3 s)
THEMES = ("textual-dark", "textual-light")
VIEWS = Binding.Group("Views")


class CrmApp(App[None]):
    TITLE = "crm"
    # Every screen's styles, read once at start (a screen's own CSS_PATH would make Textual
    # re-parse every stylesheet the first time that screen opens).
    CSS_PATH = [
        "app.tcss",
        *(f"screens/{name}.tcss" for name in ("first_run", "customers", "customer", "my_work",
                                              "changes", "reports", "inbox", "forms",
                                              "duplicates")),
    ]
    MODES = {"customers": CustomersScreen, "work": MyWorkScreen, "changes": ChangesScreen,
             "reports": ReportsScreen, "inbox": InboxScreen}
    BINDINGS = [
        Binding("f1", "switch_mode('customers')", "Customers", key_display="F1", group=VIEWS),
        Binding("f2", "switch_mode('work')", "My work", key_display="F2", group=VIEWS),
        Binding("f3", "switch_mode('changes')", "What changed", key_display="F3", group=VIEWS),
        # not in the footer, which has no room for them at 80 columns; in the palette
        Binding("f4", "switch_mode('reports')", "Reports", key_display="F4", show=False),
        Binding("f5", "switch_mode('inbox')", "Inbox", key_display="F5", show=False),
        Binding("ctrl+t", "toggle_theme", "Light/dark", show=False),
    ]

    def __init__(
        self, settings: Settings, workspace: Workspace | None, watch_every: float | None
    ) -> None:
        super().__init__()
        self.settings = settings
        self.workspace: Workspace = workspace  # type: ignore[assignment]  # set by first run
        self.watch_every = watch_every
        self.marker: tuple[int, int] | None = None
        self.crash: tuple[BaseException, str] | None = None  # the error and where its report is

    def on_mount(self) -> None:
        if self.workspace is None:
            self.push_screen(FirstRunScreen(self.settings), self.begin)
        else:
            self.begin(self.workspace)

    def begin(self, workspace: Workspace | None) -> None:
        self.workspace = workspace
        self.marker = workspace.change_marker()
        if self.watch_every:
            self.set_interval(self.watch_every, self.check_for_changes)
        self.switch_mode("customers")

    def on_unmount(self) -> None:
        if self.workspace is not None:
            self.workspace.close()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_mode":
            return self.workspace is not None
        return True

    # --- live updates --------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="watch")
    def check_for_changes(self) -> None:
        """Post DataChanged when anything was committed since the last look (any process).
        A look the database fails is skipped: the next one tries again."""
        try:
            marker = self.workspace.change_marker()
        except FAILURES:
            return
        if marker != self.marker:
            self.post_message(DataChanged(marker))

    def on_data_changed(self, message: DataChanged) -> None:
        self.marker = message.marker
        if isinstance(self.screen, DataScreen):
            self.screen.reload()
        # Screens underneath reload when they are shown again (DataScreen.on_screen_resume).

    # --- the crash handler ---------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        """Every unexpected error of the app, its screens and workers comes here (Textual's
        one funnel, then it ends the app): the first is written to a report first."""
        if self.crash is None:
            cause = getattr(error, "error", error)  # a failed worker carries the error
            try:
                where = str(crash.write_report(cause, [type(s).__name__ for s in self.screen_stack]))
            except OSError as failure:
                where = f"nowhere: the report could not be written ({failure})"
            self.crash = (cause, where)
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        """What the terminal shows as the app ends: what happened and where the report is,
        instead of Textual's traceback, which shows every frame's local variables."""
        from rich.text import Text

        cause, where = self.crash or (None, "nowhere")
        self.bell()
        self.panic(Text(clean(
            f"crm tui stopped on an unexpected error ({type(cause).__name__}: {cause}).\n"
            f"A report (without local variables) is in {where}")))

    # --- keys and commands ---------------------------------------------------------------

    def action_toggle_theme(self) -> None:
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette lists every action of the dashboard that can run here, then
        Textual's own: those the footer shows and those it leaves out for room (Reverse,
        First/Last page, Light/dark), but not the keys Textual's widgets bring (cursor
        moves, text editing), which are not actions of ours."""
        listed = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not (active.enabled and binding.description) or binding.description in listed:
                continue
            if binding.show or _declared_here(active.node, binding):
                listed.add(binding.description)
                run = partial(self.run_action, binding.action, active.node)
                yield SystemCommand(binding.description, f"key: {binding.key}", run)
        yield from super().get_system_commands(screen)


def _declared_here(node: DOMNode, binding: Binding) -> bool:
    """Whether `binding` is one the dashboard declares (in a crmcli class's BINDINGS),
    not one a Textual widget brings along. Compared by action: Textual splits a binding
    for several keys ("home,ctrl+home") into one per key."""
    return any(declared.action == binding.action
               for cls in type(node).__mro__ if cls.__module__.startswith("crmcli.")
               for declared in vars(cls).get("BINDINGS", ()))


def make_app(settings: Settings, *, watch_every: float | None = WATCH_EVERY) -> CrmApp:
    """The dashboard on the configured database (or its first-run screen if there is none).

    Raises the command line's errors (no acting user, newer schema…) before anything is
    drawn. `watch_every=None` turns the watch for outside changes off (snapshot tests).
    """
    return CrmApp(settings, open_workspace(settings), watch_every)
