"""A filter that takes several of a few known values (stage, level, owner), meaning any of
them, as a repeated `--stage` does on the command line.

Closed, it is one line like a compact `Select`: the chosen values, or the filter's name
dimmed when none is chosen. Enter (or space, ↓, a click) drops down a list to tick values
in, opened on the first chosen one (space or Enter ticks and unticks, a letter jumps to
the next choice starting with it, Esc or Tab closes); Delete clears the filter. Each
tick posts `Changed` at once, as a `Select` does when a value is chosen, so the list
follows while the drop-down is open.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import SelectionList, Static


class ChoiceTicks(SelectionList[str]):
    """The drop-down: closes on Esc (back to the control) and when it loses focus; a letter
    jumps to the next choice starting with it (an owner among many) and, as in a `Select`,
    is never taken as the screen's key (`a` would open the add form)."""

    BINDINGS = [Binding("escape", "close", "Close", show=False)]

    class Closed(Message):
        def __init__(self, lost_focus: bool) -> None:
            super().__init__()
            self.lost_focus = lost_focus

    def action_close(self) -> None:
        self.post_message(self.Closed(lost_focus=False))

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        return character is not None and character.isprintable() and not character.isspace()

    def _on_key(self, event: events.Key) -> None:
        if not self.check_consume_key(event.key, event.character) or not self.option_count:
            return
        event.stop()
        event.prevent_default()
        letter = str(event.character).casefold()
        start = -1 if self.highlighted is None else self.highlighted
        for step in range(1, self.option_count + 1):
            index = (start + step) % self.option_count
            if str(self.get_option_at_index(index).prompt).casefold().startswith(letter):
                self.highlighted = index
                return

    def _on_blur(self, event: events.Blur) -> None:
        self.post_message(self.Closed(lost_focus=True))
        self.suppress_click()  # a click on the control that took the focus only closes


class ChoiceShown(Horizontal):
    """The closed control: what is chosen and an arrow; a click opens the drop-down."""

    class Clicked(Message):
        pass

    def _on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Clicked())


class ChoiceFilter(Vertical, can_focus=True):
    """Several of `choices` (strings shown as typed, never as markup); `chosen` is in the
    order of the choices, whatever the order they were ticked in."""

    BINDINGS = [
        Binding("enter,down,space", "open", "Choose", show=False),
        Binding("delete,backspace", "clear", "Clear filter", show=False),
    ]

    DEFAULT_CSS = """
    ChoiceFilter {
        height: auto;
        & > ChoiceShown {
            height: 1;
            padding: 0 1 0 0;
            background: $surface;
            pointer: pointer;
        }
        &:focus > ChoiceShown {
            background-tint: $foreground 5%;
        }
        #shown {
            width: 1fr;
            height: 1;
            text-wrap: nowrap;
            text-overflow: ellipsis;
            color: $foreground 50%;
        }
        &.-chosen #shown {
            color: $foreground;
        }
        .arrow {
            width: 2;
            height: 1;
            padding: 0 0 0 1;
            color: $foreground 50%;
        }
        & > ChoiceTicks {
            display: none;
            width: auto;
            min-width: 100%;
            height: auto;
            max-height: 12;
            overlay: screen;
            constrain: none inside;
            border: tall $border-blurred;
            background: $surface;
            &:focus {
                background-tint: $foreground 5%;
            }
        }
        &.-open > ChoiceTicks {
            display: block;
        }
    }
    """

    class Changed(Message):
        """The chosen values changed (a tick, a clear, or a choice that went away)."""

        def __init__(self, choice_filter: ChoiceFilter, chosen: tuple[str, ...]) -> None:
            super().__init__()
            self.choice_filter, self.chosen = choice_filter, chosen

        @property
        def control(self) -> ChoiceFilter:
            return self.choice_filter

    def __init__(self, name: str, choices: Iterable[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.filter_name = name
        self._choices = tuple(choices)
        self._chosen: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        with ChoiceShown():
            yield Static(Text(self.filter_name), id="shown")
            yield Static("▼", classes="arrow")
        yield ChoiceTicks(*((Text(choice), choice) for choice in self._choices))

    @property
    def ticks(self) -> ChoiceTicks:
        return self.query_one(ChoiceTicks)

    # --- the values ----------------------------------------------------------------------

    @property
    def chosen(self) -> tuple[str, ...]:
        return self._chosen

    @chosen.setter
    def chosen(self, values: Iterable[str]) -> None:
        self._fill(self._choices, set(values))

    def set_choices(self, choices: Iterable[str]) -> None:
        """Other values to choose from (the team changed); chosen values still among them
        stay chosen, the others are dropped (a `Changed` says so)."""
        choices = tuple(choices)
        if choices != self._choices:  # most reloads: leave the control (an open list) alone
            self._fill(choices, set(self._chosen))

    def _fill(self, choices: tuple[str, ...], ticked: set[str]) -> None:
        self._choices = choices
        self.ticks.clear_options()
        self.ticks.add_options((Text(choice), choice, choice in ticked) for choice in choices)
        self._settle()

    @on(SelectionList.SelectedChanged)
    def _ticked(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        self._settle()

    def _settle(self) -> None:
        """Read the ticks into `chosen`; show them and announce a change."""
        ticked = set(self.ticks.selected)
        chosen = tuple(choice for choice in self._choices if choice in ticked)
        if chosen == self._chosen:
            return
        self._chosen = chosen
        self.set_class(bool(chosen), "-chosen")
        self.query_one("#shown", Static).update(Text(", ".join(chosen) or self.filter_name))
        self.post_message(self.Changed(self, chosen))

    # --- opening and closing -------------------------------------------------------------

    def action_open(self) -> None:
        """Drop the list down on the first chosen value (the first choice if none), as a
        `Select` opens on its value: the same keys always reach the same choice."""
        self.add_class("-open")
        ticks = self.ticks
        ticks.focus(scroll_visible=False)
        if ticks.option_count:
            first = self._choices.index(self._chosen[0]) if self._chosen else 0
            ticks.highlighted = first
            ticks.scroll_to_highlight()

    def action_clear(self) -> None:
        self.chosen = ()

    @on(ChoiceShown.Clicked)
    def _clicked(self, event: ChoiceShown.Clicked) -> None:
        event.stop()
        if self.has_class("-open"):
            self.remove_class("-open")
            self.focus()
        else:
            self.action_open()

    @on(ChoiceTicks.Closed)
    def _closed(self, event: ChoiceTicks.Closed) -> None:
        event.stop()
        self.remove_class("-open")
        if not event.lost_focus:
            self.focus()
