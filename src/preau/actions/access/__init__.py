"""The only place objects are fetched for an actor: one ``access_<thing>_by_id`` per object
type, and the filters that keep lists to what the actor may see.

Each function loads the facts the pure rule in :mod:`preau.domain.access` needs, asks it
and returns the row, or raises :class:`NotFound` / :class:`Forbidden` through
:func:`enforce`. An object of another school, or one the actor may not know about, is "not
found". Handlers and actions never check permissions by hand. Sections follow the object
types: people and the directory, classes and groups, classwork, messages, the timetable,
virtual classes, the platform, marks, skills, attendance.

One package a reviewer reads to know who may see what: a module per section, the shared
facts in :mod:`.core`, everything re-exported here so callers import from
``preau.actions.access``. A new area adds its module and its line below.
"""

from preau.actions.access.attendance import (
    access_absence_by_id,
    access_class_attendance_by_id,
    access_parent_link,
    access_pupil_attendance_by_id,
    access_roll_call_by_lesson,
)
from preau.actions.access.classwork import (
    access_file_by_id,
    access_hand_in_by_id,
    access_hand_ins_by_homework_id,
    access_homework_by_id,
    access_own_hand_in,
    is_set_for,
)
from preau.actions.access.core import (
    ANNOUNCEMENT_NOT_FOUND,
    ATTACHMENT_NOT_FOUND,
    CONVERSATION_NOT_FOUND,
    GROUP_NOT_FOUND,
    MESSAGE_NOT_FOUND,
    NOT_A_PARTICIPANT,
    NOT_OPERATOR,
    NOT_YOUR_VIRTUAL_CLASS,
    NOT_YOURS,
    ONLY_MODERATORS,
    ONLY_OVERSEERS,
    ONLY_RECIPIENTS,
    PERSON_NOT_FOUND,
    REPLIES_CLOSED,
    Row,
    child_ids,
    enforce,
    teaches,
)
from preau.actions.access.directory import (
    access_group_by_id,
    access_group_for_teaching,
    access_group_for_virtual_class,
    access_groups_for_announcement,
    access_groups_for_conversation,
    access_person_by_id,
    access_person_for_activation_code,
    access_school_directory,
    visible_groups,
)
from preau.actions.access.exercises import (
    access_attempt_by_id,
    access_bank_question_by_id,
    access_exercise_by_id,
)
from preau.actions.access.lessons import access_video_by_id
from preau.actions.access.marks import (
    access_evaluation_by_id,
    access_marks_group_by_id,
    access_marks_settings,
    access_report_card_by_pupil_id,
)
from preau.actions.access.messages import (
    ConversationAccess,
    access_announcement_by_id,
    access_attachment_by_id,
    access_conversation_by_id,
    access_message_by_id,
)
from preau.actions.access.platform import access_platform_operator
from preau.actions.access.skills import (
    access_skill_framework_by_id,
    access_skill_frameworks,
    access_skill_summary_by_pupil_id,
)
from preau.actions.access.timetable import access_lesson_by_id
from preau.actions.access.virtual import (
    access_chat_message_by_id,
    access_poll_by_id,
    access_room_by_id,
    joinable_rooms,
)

__all__ = [
    "ANNOUNCEMENT_NOT_FOUND",
    "ATTACHMENT_NOT_FOUND",
    "CONVERSATION_NOT_FOUND",
    "GROUP_NOT_FOUND",
    "MESSAGE_NOT_FOUND",
    "NOT_A_PARTICIPANT",
    "NOT_OPERATOR",
    "NOT_YOURS",
    "NOT_YOUR_VIRTUAL_CLASS",
    "ONLY_MODERATORS",
    "ONLY_OVERSEERS",
    "ONLY_RECIPIENTS",
    "PERSON_NOT_FOUND",
    "REPLIES_CLOSED",
    "ConversationAccess",
    "Row",
    "access_absence_by_id",
    "access_announcement_by_id",
    "access_attachment_by_id",
    "access_attempt_by_id",
    "access_bank_question_by_id",
    "access_chat_message_by_id",
    "access_class_attendance_by_id",
    "access_conversation_by_id",
    "access_evaluation_by_id",
    "access_exercise_by_id",
    "access_file_by_id",
    "access_group_by_id",
    "access_group_for_teaching",
    "access_group_for_virtual_class",
    "access_groups_for_announcement",
    "access_groups_for_conversation",
    "access_hand_in_by_id",
    "access_hand_ins_by_homework_id",
    "access_homework_by_id",
    "access_lesson_by_id",
    "access_marks_group_by_id",
    "access_marks_settings",
    "access_message_by_id",
    "access_own_hand_in",
    "access_parent_link",
    "access_person_by_id",
    "access_person_for_activation_code",
    "access_platform_operator",
    "access_poll_by_id",
    "access_pupil_attendance_by_id",
    "access_report_card_by_pupil_id",
    "access_roll_call_by_lesson",
    "access_room_by_id",
    "access_school_directory",
    "access_skill_framework_by_id",
    "access_skill_frameworks",
    "access_skill_summary_by_pupil_id",
    "access_video_by_id",
    "child_ids",
    "enforce",
    "is_set_for",
    "joinable_rooms",
    "teaches",
    "visible_groups",
]
