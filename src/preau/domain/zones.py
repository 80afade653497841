"""A school's time zone: the name stored with the school, read as a ``ZoneInfo``. Every
local time a person sees (due dates, message times, the timetable, quiet hours) uses it."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE_NAME = "Europe/Paris"  # the schema's default for a new school


def zone_named(name: str | None) -> ZoneInfo:
    """The zone called ``name``, or Paris when the name is empty or unknown to this
    system's time zone database: a bad name must not take the school's pages down."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(DEFAULT_ZONE_NAME)
