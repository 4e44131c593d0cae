"""A DataTable of records keyed by id that keeps its cursor on the same record when the
rows are refilled (a live update must not throw the reader back to the top)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable


class RecordTable(DataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Open")]
    DEFAULT_CSS = """
    RecordTable {
        height: 1fr;
    }
    """

    def __init__(self, columns: Sequence[tuple[str, int | None]], **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._column_specs = columns

    def on_mount(self) -> None:
        self.set_up_columns()

    def set_up_columns(self) -> None:
        for label, width in self._column_specs:
            self.add_column(label, width=width)

    @property
    def selected_key(self) -> str | None:
        """The id of the record under the cursor, or None for an empty table."""
        if not self.row_count:
            return None
        row_key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key
        return row_key.value

    def fill(self, rows: Iterable[tuple[str, Sequence[Text]]]) -> None:
        """Replace the rows; the cursor stays on the same record if it is still there."""
        keep, index = self.selected_key, self.cursor_row
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if keep is not None and keep in self.rows:
            index = self.get_row_index(keep)
        if self.row_count:
            self.move_cursor(row=min(index, self.row_count - 1), animate=False)
