"""A roster file's dates are held to the school range like every other input (issue 20):
a session ending in 9999 is a rejected row with a sentence, not a stored date that breaks
the pages reading it."""

from __future__ import annotations

from datetime import date

import pytest

from preau.domain.roster.table import RowError, read_date


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "1999-08-31", "2101-01-01"])
def test_a_date_outside_the_school_range_is_a_rejected_row(value: str) -> None:
    with pytest.raises(RowError) as refused:
        read_date(value, "endDate")
    assert "2000" in refused.value.template


def test_dates_inside_the_range_are_read() -> None:
    assert read_date("2000-01-01", "startDate") == date(2000, 1, 1)
    assert read_date("2100-12-31", "endDate") == date(2100, 12, 31)
