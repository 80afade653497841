"""Attendance (vie scolaire): ``roll_calls`` (a lesson's roll call, read and saved),
``absences`` (periods the office records, parents' justifications, the office's answers,
documents, a parent's limited access), ``reads`` (a pupil's and a class's figures, the
office's desk, a teacher's lessons of the day), ``common`` (occurrences, audit, notices to
parents). docs/attendance.md."""

from preau.actions.attendance.absences import (
    answer,
    justify,
    limit_parent_access,
    open_document,
    record_period,
)
from preau.actions.attendance.reads import (
    class_attendance,
    history,
    lessons_of_day,
    office,
    pupil_attendance,
)
from preau.actions.attendance.roll_calls import get_roll_call, save_roll_call

__all__ = [
    "answer",
    "class_attendance",
    "get_roll_call",
    "history",
    "justify",
    "lessons_of_day",
    "limit_parent_access",
    "office",
    "open_document",
    "pupil_attendance",
    "record_period",
    "save_roll_call",
]
