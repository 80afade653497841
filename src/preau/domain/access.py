"""Who may do what to which object: the pure rules, over facts the actions load.

One ``*_decision`` per object type, in sections by area; :mod:`preau.actions.access` loads
the facts, asks the rule and raises. Every rule starts with the school: nobody acts across
schools, and an object of another school is hidden ("not found"), so its id leaks nothing.
The areas' own vocabulary (hand-in rights, conversation actions, room roles) stays in
their domain modules; none of them imports this one.
"""

from __future__ import annotations

import enum

from preau.domain.attendance import AttendanceAction
from preau.domain.classwork import HandInRight
from preau.domain.messages import MODERATORS, AnnouncementAction, ConversationAction
from preau.domain.people import STAFF_PROFILES, Actor, Profile
from preau.domain.virtual import Role


class Action(enum.StrEnum):
    READ = "read"
    CHANGE = "change"


class Decision(enum.Enum):
    ALLOW = "allow"
    FORBID = "forbid"  # the object exists for this actor but the action is not theirs
    HIDE = "hide"  # the actor may not even know the object exists


# -- the directory: people, classes and groups, the school's lists -------------------------


def person_decision(
    actor: Actor,
    action: Action,
    *,
    target_id: int,
    target_school_id: int,
    target_is_child_of_actor: bool,
) -> Decision:
    """May ``actor`` read or change the person ``target_id``?"""
    if actor.school_id != target_school_id:
        return Decision.HIDE
    visible = (
        actor.profile in STAFF_PROFILES
        or target_id == actor.person_id
        or (actor.profile is Profile.PARENT and target_is_child_of_actor)
    )
    if not visible:
        return Decision.HIDE
    if action is Action.CHANGE and actor.profile is not Profile.ADMIN:
        return Decision.FORBID
    return Decision.ALLOW


def group_decision(
    actor: Actor,
    action: Action,
    *,
    group_school_id: int,
    actor_or_child_is_member: bool,
) -> Decision:
    """May ``actor`` read or change a class or group?"""
    if actor.school_id != group_school_id:
        return Decision.HIDE
    if not (actor.profile in STAFF_PROFILES or actor_or_child_is_member):
        return Decision.HIDE
    if action is Action.CHANGE and actor.profile is not Profile.ADMIN:
        return Decision.FORBID
    return Decision.ALLOW


def directory_decision(actor: Actor, action: Action, *, school_id: int) -> Decision:
    """May ``actor`` list or manage the directory of ``school_id`` as a whole?"""
    if actor.school_id != school_id:
        return Decision.HIDE
    if action is Action.CHANGE:
        return Decision.ALLOW if actor.profile is Profile.ADMIN else Decision.FORBID
    return Decision.ALLOW if actor.profile in STAFF_PROFILES else Decision.FORBID


# Whose password the vie scolaire may reset with a new activation code, as administrators
# do: pupils, parents and teachers; never staff or an administrator (that would let one
# staff member take over a colleague's or the administrator's account).
STAFF_ISSUES_CODES_FOR = frozenset({Profile.PUPIL, Profile.PARENT, Profile.TEACHER})


def activation_code_profiles(actor: Actor) -> frozenset[Profile]:
    """The profiles ``actor`` may issue activation codes for, in their own school."""
    if actor.profile is Profile.ADMIN:
        return frozenset(Profile)
    if actor.profile is Profile.STAFF:
        return STAFF_ISSUES_CODES_FOR
    return frozenset()


def activation_code_decision(
    actor: Actor, *, school_id: int, target_profile: Profile | None
) -> Decision:
    """May ``actor`` issue an activation code (a password reset) for a person with
    ``target_profile`` of ``school_id`` (None: codes for the school's people at large)?"""
    if actor.school_id != school_id:
        return Decision.HIDE
    allowed = activation_code_profiles(actor)
    if not allowed:
        return Decision.FORBID
    if target_profile is not None and target_profile not in allowed:
        return Decision.FORBID
    return Decision.ALLOW


# -- classwork: homework, hand-ins, files ----------------------------------------------------


def homework_decision(
    actor: Actor,
    action: Action,
    *,
    school_id: int,
    teaches_group: bool,
    for_actor_or_child: bool,
    published: bool,
) -> Decision:
    """May ``actor`` read or change a homework?

    Teachers change the homework of the groups they teach; staff, administrators and
    other teachers read it; pupils and parents read published work set for them (or
    their child) and nothing else.
    """
    if actor.school_id != school_id:
        return Decision.HIDE
    if actor.profile in STAFF_PROFILES:
        if action is Action.CHANGE and not teaches_group:
            return Decision.FORBID
        return Decision.ALLOW
    if not (for_actor_or_child and published):
        return Decision.HIDE
    return Decision.ALLOW if action is Action.READ else Decision.FORBID


def hand_in_decision(  # noqa: PLR0911 - a decision table: one return per rule, in the order they apply
    actor: Actor,
    right: HandInRight,
    *,
    school_id: int,
    pupil_id: int,
    teaches_group: bool,
    is_parent_of_pupil: bool,
) -> Decision:
    """May ``actor`` read, turn in or review the hand-in of ``pupil_id``?"""
    if actor.school_id != school_id:
        return Decision.HIDE
    if actor.profile is Profile.PUPIL:
        if actor.person_id != pupil_id:
            return Decision.HIDE
        return Decision.FORBID if right is HandInRight.REVIEW else Decision.ALLOW
    if actor.profile is Profile.PARENT:
        if not is_parent_of_pupil:
            return Decision.HIDE
        return Decision.ALLOW if right is HandInRight.READ else Decision.FORBID
    if teaches_group:
        return Decision.FORBID if right is HandInRight.TURN_IN else Decision.ALLOW
    if actor.profile in (Profile.STAFF, Profile.ADMIN) and right is HandInRight.READ:
        return Decision.ALLOW
    return Decision.FORBID


def file_decision(actor: Actor, *, school_id: int, owner_id: int, reachable: bool) -> Decision:
    """May ``actor`` download a file? Its owner may, and whoever may read the homework or
    hand-in it is attached to (``reachable``, worked out by the action)."""
    if actor.school_id != school_id:
        return Decision.HIDE
    if actor.person_id == owner_id or reachable:
        return Decision.ALLOW
    return Decision.HIDE


# -- messages: conversations, announcements, the school's messaging settings --------------
# Who may write to whom is messaging policy, not access to an object: it stays in
# domain/messages.py (write_refusal, group_refusal, announcement_refusal).


def conversation_decision(  # noqa: PLR0911 - a decision table: one return per rule, in the order they apply
    actor: Actor,
    action: ConversationAction,
    *,
    school_id: int,
    is_participant: bool,
    started_by_actor: bool,
    replies_allowed: bool,
    has_open_report: bool,
) -> Decision:
    """Participants read, reply (unless the starter closed replies) and report; the
    school's staff see a conversation with an open report, to moderate it."""
    if actor.school_id != school_id:
        return Decision.HIDE
    moderator = actor.profile in MODERATORS
    if not (is_participant or (moderator and has_open_report)):
        return Decision.HIDE
    if action is ConversationAction.READ:
        return Decision.ALLOW
    if action is ConversationAction.MODERATE:
        return Decision.ALLOW if moderator else Decision.FORBID
    if not is_participant:
        return Decision.FORBID
    if action is ConversationAction.REPLY and not (replies_allowed or started_by_actor):
        return Decision.FORBID
    return Decision.ALLOW


def announcement_decision(
    actor: Actor,
    action: AnnouncementAction,
    *,
    school_id: int,
    is_author: bool,
    is_recipient: bool,
) -> Decision:
    """Recipients read and mark read; the author and the school's staff also see receipts."""
    if actor.school_id != school_id:
        return Decision.HIDE
    overseer = is_author or actor.profile in MODERATORS
    if not (overseer or is_recipient):
        return Decision.HIDE
    if action is AnnouncementAction.READ:
        return Decision.ALLOW
    if action is AnnouncementAction.MARK_READ:
        return Decision.ALLOW if is_recipient else Decision.FORBID
    return Decision.ALLOW if overseer else Decision.FORBID


def messaging_settings_decision(actor: Actor, *, school_id: int, change: bool) -> Decision:
    """Everyone reads their school's messaging rules; the school's staff change them."""
    if actor.school_id != school_id:
        return Decision.HIDE
    if change and actor.profile not in MODERATORS:
        return Decision.FORBID
    return Decision.ALLOW


# -- the timetable -------------------------------------------------------------------------


def lesson_decision(
    actor: Actor,
    action: Action,
    *,
    lesson_school_id: int,
    actor_teaches_lesson: bool,
    actor_or_child_in_group: bool,
) -> Decision:
    """Read a lesson: staff, its teacher, its pupils and their parents. Change one
    occurrence (cancel, move, replace, make it virtual): its teacher, staff and admins."""
    if actor.school_id != lesson_school_id:
        return Decision.HIDE
    visible = actor.profile in STAFF_PROFILES or actor_teaches_lesson or actor_or_child_in_group
    if not visible:
        return Decision.HIDE
    if action is Action.CHANGE and not (
        actor_teaches_lesson or actor.profile in (Profile.ADMIN, Profile.STAFF)
    ):
        return Decision.FORBID
    return Decision.ALLOW


# -- virtual classes -------------------------------------------------------------------------


def room_decision(
    actor: Actor,
    *,
    room_school_id: int,
    is_host: bool,
    is_pupil_of_group: bool,
    is_guest: bool,
) -> tuple[Decision, Role | None]:
    """Who enters a virtual class, and as what: pupils of the class, its host teacher and
    invited staff; nobody else, not even parents, learns the room exists."""
    if actor.school_id != room_school_id:
        return Decision.HIDE, None
    if is_host:
        return Decision.ALLOW, Role.TEACHER
    if is_guest and actor.profile in STAFF_PROFILES:
        return Decision.ALLOW, Role.GUEST
    if is_pupil_of_group and actor.profile is Profile.PUPIL:
        return Decision.ALLOW, Role.PUPIL
    return Decision.HIDE, None


# -- marks: evaluations, grids, report cards, the school's terms ---------------------------


def marks_decision(  # noqa: PLR0911 - a decision table: one return per rule, in the order they apply
    actor: Actor,
    action: Action,
    *,
    school_id: int,
    teaches_group: bool,
    actor_or_child_in_group: bool,
    whole_class: bool,
) -> Decision:
    """May ``actor`` read or change the marks of a class or group (``whole_class``: the
    grid of everyone's marks) or one evaluation of it (their own mark, or their child's)?

    Teachers of the group read and change them; staff and administrators read them;
    other teachers are refused. Pupils and parents read an evaluation of their (child's)
    group, never the whole grid; anything else is "not found" to them.
    """
    if actor.school_id != school_id:
        return Decision.HIDE
    if actor.profile in STAFF_PROFILES:
        if teaches_group:
            return Decision.ALLOW
        if actor.profile is Profile.TEACHER:
            return Decision.FORBID
        return Decision.ALLOW if action is Action.READ else Decision.FORBID
    if not actor_or_child_in_group:
        return Decision.HIDE
    if whole_class or action is not Action.READ:
        return Decision.FORBID
    return Decision.ALLOW


def report_card_decision(
    actor: Actor,
    *,
    pupil_id: int,
    pupil_school_id: int,
    is_child_of_actor: bool,
    teaches_pupil: bool,
) -> Decision:
    """A report card is read by the pupil, their parents, the teachers of any of their
    groups (as a class council does), staff and administrators."""
    if actor.school_id != pupil_school_id:
        return Decision.HIDE
    if actor.profile in (Profile.STAFF, Profile.ADMIN) or teaches_pupil:
        return Decision.ALLOW
    if actor.profile is Profile.TEACHER:
        return Decision.FORBID
    if actor.person_id == pupil_id or (actor.profile is Profile.PARENT and is_child_of_actor):
        return Decision.ALLOW
    return Decision.HIDE


def marks_settings_decision(actor: Actor, action: Action, *, school_id: int) -> Decision:
    """A school's terms and way of counting: everyone in it reads them (the report card
    names the terms), its administrators change them."""
    if actor.school_id != school_id:
        return Decision.HIDE
    if action is Action.CHANGE and actor.profile is not Profile.ADMIN:
        return Decision.FORBID
    return Decision.ALLOW


# -- attendance: roll calls, a pupil's absences, a class's figures (docs/attendance.md) ----


def roll_call_decision(
    actor: Actor,
    *,
    school_id: int,
    teaches_lesson: bool,
    actor_or_child_in_group: bool,
) -> Decision:
    """A lesson's roll call is taken by a teacher of the lesson (its teacher, or a teacher
    of its group) and read and corrected by the office (staff, administrators); other
    teachers are refused, its pupils and their parents see their own line elsewhere."""
    if actor.school_id != school_id:
        return Decision.HIDE
    if teaches_lesson or actor.profile in (Profile.STAFF, Profile.ADMIN):
        return Decision.ALLOW
    if actor.profile is Profile.TEACHER or actor_or_child_in_group:
        return Decision.FORBID
    return Decision.HIDE


def attendance_decision(  # noqa: PLR0911 - a decision table: one return per rule, in the order they apply
    actor: Actor,
    action: AttendanceAction,
    *,
    pupil_id: int,
    pupil_school_id: int,
    is_child_of_actor: bool,
    parent_access_limited: bool,
    teaches_pupil: bool,
) -> Decision:
    """A pupil's absences: the pupil reads them, their parents read and justify them
    (unless the school limited that parent's access), the teachers of the pupil's groups
    read them, the office (staff, administrators) reads, records and answers."""
    if actor.school_id != pupil_school_id:
        return Decision.HIDE
    if actor.profile in (Profile.STAFF, Profile.ADMIN):
        return Decision.FORBID if action is AttendanceAction.JUSTIFY else Decision.ALLOW
    if actor.profile is Profile.TEACHER:
        if teaches_pupil and action is AttendanceAction.READ:
            return Decision.ALLOW
        return Decision.FORBID
    if actor.profile is Profile.PARENT and is_child_of_actor and not parent_access_limited:
        return Decision.FORBID if action is AttendanceAction.RECORD else Decision.ALLOW
    if actor.person_id == pupil_id:
        return Decision.ALLOW if action is AttendanceAction.READ else Decision.FORBID
    return Decision.HIDE


def class_attendance_decision(
    actor: Actor, *, school_id: int, teaches_group: bool, actor_or_child_in_group: bool
) -> Decision:
    """A class's figures (every pupil's half-days): the office and the group's teachers."""
    if actor.school_id != school_id:
        return Decision.HIDE
    if teaches_group or actor.profile in (Profile.STAFF, Profile.ADMIN):
        return Decision.ALLOW
    if actor.profile is Profile.TEACHER or actor_or_child_in_group:
        return Decision.FORBID
    return Decision.HIDE


def parent_access_decision(actor: Actor, *, school_id: int) -> Decision:
    """Limiting what a parent sees of a child: the school's administrators."""
    if actor.school_id != school_id:
        return Decision.HIDE
    return Decision.ALLOW if actor.profile is Profile.ADMIN else Decision.FORBID


# -- exercises (docs/lessons.md) ------------------------------------------------------------
# An exercise is the content of a homework item and an attempt is a pupil's hand-in, so
# both follow homework_decision and hand_in_decision; only the question bank has its own.


def question_bank_decision(
    actor: Actor, action: Action, *, school_id: int, author_id: int
) -> Decision:
    """A teacher's question bank is shared with the school's staff, who read and reuse its
    questions; only its author changes or removes them. Pupils and parents never see it
    (it holds the answers)."""
    if actor.school_id != school_id or actor.profile not in STAFF_PROFILES:
        return Decision.HIDE
    if action is Action.CHANGE and actor.person_id != author_id:
        return Decision.FORBID
    return Decision.ALLOW


# -- skills: frameworks, a pupil's summary ---------------------------------------------------
# Levels are given on an evaluation: entering and reading them follow ``marks_decision``.


def skill_framework_decision(
    actor: Actor, action: Action, *, school_id: int, built_in: bool
) -> Decision:
    """A school's skill frameworks: everyone in it reads them (summaries name the skills);
    its administrators add their own and change them; nobody changes the socle commun,
    which the Ministry sets."""
    if actor.school_id != school_id:
        return Decision.HIDE
    if action is Action.CHANGE and (built_in or actor.profile is not Profile.ADMIN):
        return Decision.FORBID
    return Decision.ALLOW


def skill_summary_decision(
    actor: Actor,
    *,
    pupil_id: int,
    pupil_school_id: int,
    is_child_of_actor: bool,
    teaches_pupil: bool,
) -> Decision:
    """A pupil's skill summary has the report card's readers: the pupil, their parents,
    the teachers of any of their groups, staff and administrators."""
    return report_card_decision(
        actor,
        pupil_id=pupil_id,
        pupil_school_id=pupil_school_id,
        is_child_of_actor=is_child_of_actor,
        teaches_pupil=teaches_pupil,
    )
