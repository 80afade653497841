"""The timetable: lessons, one-off changes, holidays, week views and calendar feeds.

``lessons`` (reading lessons, changes and holidays, expanded into occurrences), ``weeks`` (a
week's view, and one's own week kept warm), ``writes`` (lessons, changes of one occurrence,
virtual classes, holidays) and ``feeds`` (secret calendar addresses). Weekly lessons are
written by school admins; an occurrence is changed by its teacher or by staff; a week is
read by its pupils, their parents, its teachers and staff. Import each name from the module
that owns it; the actions the pages and the API call as ``timetable.<verb>`` are also named
here.
"""

from preau.actions.timetable.feeds import (
    FEED_NOT_FOUND,
    feed_by_secret,
    has_feed,
    new_feed_secret,
    revoke_feed,
)
from preau.actions.timetable.weeks import week
from preau.actions.timetable.writes import (
    add_holiday,
    change_occurrence,
    create_lesson,
    set_virtual,
)

__all__ = [
    "FEED_NOT_FOUND",
    "add_holiday",
    "change_occurrence",
    "create_lesson",
    "feed_by_secret",
    "has_feed",
    "new_feed_secret",
    "revoke_feed",
    "set_virtual",
    "week",
]
