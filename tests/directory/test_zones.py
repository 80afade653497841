"""A school's stored zone name read as a zone, with Paris for a name the system lacks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from preau.domain.zones import zone_named


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Indian/Reunion", "Indian/Reunion"),
        ("America/Cayenne", "America/Cayenne"),
        ("Indian/Mayotte", "Indian/Mayotte"),
        ("Pacific/Noumea", "Pacific/Noumea"),
        ("Europe/Paris", "Europe/Paris"),
        ("Mars/Olympus_Mons", "Europe/Paris"),
        ("../../etc/passwd", "Europe/Paris"),
        ("", "Europe/Paris"),
        (None, "Europe/Paris"),
    ],
)
def test_a_stored_name_becomes_its_zone_or_paris(name: str | None, key: str) -> None:
    assert zone_named(name).key == key


def test_reunion_is_four_hours_ahead_of_utc_all_year() -> None:
    for month in (1, 7):
        noon = datetime(2025, month, 15, 12, 0, tzinfo=UTC)
        assert noon.astimezone(zone_named("Indian/Reunion")).hour == 16
