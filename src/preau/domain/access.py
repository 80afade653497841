"""Who may do what to the directory: pure rules over facts the actions load.

Every rule starts with the school: nobody acts across schools. A refusal for an object
of another school is reported as "not found", so ids of other schools leak nothing.
"""

from __future__ import annotations

import enum

from preau.domain.people import STAFF_PROFILES, Actor, Profile


class Action(enum.StrEnum):
    READ = "read"
    CHANGE = "change"


class Decision(enum.Enum):
    ALLOW = "allow"
    FORBID = "forbid"  # the object exists for this actor but the action is not theirs
    HIDE = "hide"  # the actor may not even know the object exists


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
