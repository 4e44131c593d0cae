"""io.xlsx_cells: a typed cell reads back as exactly the value that was written."""

from datetime import datetime, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcli.io import xlsx_cells

AMOUNTS = st.builds(
    lambda digits, places, negative: Decimal(f"{'-' if negative else ''}{digits}").scaleb(-places),
    st.integers(min_value=0, max_value=10**15 - 1), st.integers(min_value=0, max_value=6),
    st.booleans(),
)


@given(AMOUNTS, st.sampled_from(["money", "number"]))
def test_a_number_of_at_most_15_digits_is_a_number_cell_that_reads_back_as_stored(amount, kind):
    stored = format(amount, "f")
    if amount.is_zero() and amount.is_signed():
        assert xlsx_cells.typed(stored, kind) is None  # -0 stays text: a cell has no -0
        return
    value, number_format = xlsx_cells.typed(stored, kind)
    assert isinstance(value, (int, float))
    assert xlsx_cells.text(value, number_format) == stored


def test_a_longer_number_or_one_that_is_no_number_stays_text():
    assert xlsx_cells.typed("1234567890123456", "money") is None
    assert xlsx_cells.typed("12.5kg", "number") is None
    assert xlsx_cells.typed("", "money") is None


def test_a_format_adds_the_zeros_a_float_drops_but_never_rounds_a_value_away():
    assert xlsx_cells.text(1234.5, "#,##0.00") == "1234.50"
    assert xlsx_cells.text(99.125, "#,##0.00") == "99.125"
    assert xlsx_cells.text(13800138000.0, "General") == "13800138000"
    assert xlsx_cells.text(0.15, "0.00%") == "0.15"
    assert xlsx_cells.text(7, '"¥"#,##0.00;[Red]-"¥"#,##0.00') == "7.00"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # utc: set once
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)))
def test_a_moment_is_a_local_date_cell_that_reads_back_to_the_second(utc, moment):
    moment = moment.replace(microsecond=0, tzinfo=timezone.utc)
    value, number_format = xlsx_cells.typed(moment.isoformat(), "moment")
    assert value.tzinfo is None
    shown = xlsx_cells.text(value, number_format)
    assert datetime.fromisoformat(shown).replace(tzinfo=timezone.utc) == moment


def test_a_midnight_moment_keeps_its_time_and_a_date_cell_is_its_day(utc):
    midnight = datetime(2026, 3, 1, tzinfo=timezone.utc)
    value, number_format = xlsx_cells.typed(midnight.isoformat(), "moment")
    assert xlsx_cells.text(value, number_format) == "2026-03-01 00:00:00"
    day, day_format = xlsx_cells.typed("2026-03-01", "date")
    assert xlsx_cells.text(datetime(2026, 3, 1), day_format) == "2026-03-01"
    assert day == midnight.date()
    assert xlsx_cells.typed("2026-03-01T08:00:00", "moment") is None  # no zone: not a moment
