"""User data on screen: always literal text, never markup, never a terminal escape.

Textual parses a plain `str` given to a DataTable cell, a Static or a notification as
markup, so `[@click=app.quit]` in a customer's name would become a live action. Everything
a user typed therefore reaches a widget as a `rich.text.Text` made here, after
`display.clean` has made control characters and bidi overrides visible.
"""

from __future__ import annotations

from rich.text import Text

from crmcli.display import clean


def literal(value: object, style: str = "") -> Text:
    """`value` as literal text (None is empty)."""
    return Text(clean("" if value is None else str(value)), style=style)


def cell(value: object, style: str = "") -> Text:
    """`value` as a one-line table cell, cut with an ellipsis when the column is narrower."""
    text = literal(value, style)
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


def joined(*parts: str | Text) -> Text:
    """Fixed words (str) and user data (Text from `literal`) in one line."""
    return Text.assemble(*parts)
