"""The school's messaging rules (who may write to whom, quiet hours) and who a pupil or a
parent is to them: their teachers and classmates."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import ONLY_MODERATORS, enforce
from preau.actions.context import Services
from preau.adapters.sql.schema import (
    enrolments,
    groups,
    messaging_settings,
    parent_links,
    schools,
)
from preau.domain.access import messaging_settings_decision
from preau.domain.messages import SchoolMessaging, SenderCircle, check_school_messaging
from preau.domain.people import Actor, Profile
from preau.domain.zones import zone_named
from preau.i18n import lazy

UNKNOWN_GROUPS = lazy("This class or group does not exist or is not in your school.")


_RULE_COLUMNS = [
    column for column in messaging_settings.c if column.name not in ("school_id", "updated_at")
]
# The rules' columns (``rules_`` and the column's name) and the school's time zone
# (``rules_timezone``), for a query that reads them beside what it needs: join
# ``RULES_FROM`` and keep ``schools.id`` to the school.
RULES_COLUMNS: list[sa.ColumnElement[Any]] = [
    *(column.label(f"rules_{column.name}") for column in _RULE_COLUMNS),
    schools.c.timezone.label("rules_timezone"),
]
RULES_FROM = schools.outerjoin(messaging_settings, messaging_settings.c.school_id == schools.c.id)
_RULES = (
    sa.select(*RULES_COLUMNS)
    .select_from(RULES_FROM)
    .where(schools.c.id == sa.bindparam("school_id", type_=sa.Integer))
)


def rules_from(row: object | None) -> tuple[SchoolMessaging, ZoneInfo]:
    """The rules (defaults when the school never changed them) and the time zone, from a
    row carrying ``RULES_COLUMNS`` (None: no such school, the defaults)."""
    mapping = getattr(row, "_mapping", None)
    if mapping is None:
        return SchoolMessaging(), zone_named(None)
    zone = zone_named(mapping["rules_timezone"])
    if mapping["rules_pupils_write_to_class"] is None:
        return SchoolMessaging(), zone
    start, end = int(mapping["rules_quiet_from_minute"]), int(mapping["rules_quiet_until_minute"])
    return (
        SchoolMessaging(
            pupils_write_to_class=bool(mapping["rules_pupils_write_to_class"]),
            pupils_write_to_teachers=bool(mapping["rules_pupils_write_to_teachers"]),
            parents_write_to_teachers=bool(mapping["rules_parents_write_to_teachers"]),
            quiet_enabled=bool(mapping["rules_quiet_enabled"]),
            quiet_from=f"{start // 60:02d}:{start % 60:02d}",
            quiet_until=f"{end // 60:02d}:{end % 60:02d}",
            quiet_days=[
                int(day) for day in str(mapping["rules_quiet_days"]).split(",") if day.strip()
            ],
        ),
        zone,
    )


async def load_rules(
    connection: AsyncConnection, school_id: int
) -> tuple[SchoolMessaging, ZoneInfo]:
    """The school's messaging rules (defaults when it never changed them) and time zone."""
    return rules_from((await connection.execute(_RULES, {"school_id": school_id})).first())


async def get_messaging_settings(services: Services, actor: Actor) -> SchoolMessaging:
    enforce(
        messaging_settings_decision(actor, school_id=actor.school_id, change=False),
        UNKNOWN_GROUPS,
        ONLY_MODERATORS,
    )
    async with services.engine.connect() as connection:
        rules, _timezone = await load_rules(connection, actor.school_id)
    return rules


async def update_messaging_settings(
    services: Services, actor: Actor, rules: SchoolMessaging
) -> SchoolMessaging:
    enforce(
        messaging_settings_decision(actor, school_id=actor.school_id, change=True),
        UNKNOWN_GROUPS,
        ONLY_MODERATORS,
    )
    rules = check_school_messaging(rules)
    start_hours, start_minutes = (int(part) for part in rules.quiet_from.split(":"))
    end_hours, end_minutes = (int(part) for part in rules.quiet_until.split(":"))
    values = {
        "pupils_write_to_class": rules.pupils_write_to_class,
        "pupils_write_to_teachers": rules.pupils_write_to_teachers,
        "parents_write_to_teachers": rules.parents_write_to_teachers,
        "quiet_enabled": rules.quiet_enabled,
        "quiet_from_minute": start_hours * 60 + start_minutes,
        "quiet_until_minute": end_hours * 60 + end_minutes,
        "quiet_days": ",".join(str(day) for day in rules.quiet_days),
        "updated_at": services.now(),
    }
    async with services.engine.begin() as connection:
        updated = await connection.execute(
            messaging_settings.update()
            .where(messaging_settings.c.school_id == actor.school_id)
            .values(**values)
        )
        if updated.rowcount == 0:
            await connection.execute(
                messaging_settings.insert().values(school_id=actor.school_id, **values)
            )
    return rules


async def sender_circle(connection: AsyncConnection, actor: Actor) -> SenderCircle:
    """The teachers of the pupil's (or the parent's children's) groups, and the pupil's
    classmates: one indexed query, none for teachers and staff."""
    members: sa.ColumnElement[bool]
    if actor.profile is Profile.PUPIL:
        members = enrolments.c.person_id == actor.person_id
    elif actor.profile is Profile.PARENT:  # their children, read in the same statement
        members = enrolments.c.person_id.in_(
            sa.select(parent_links.c.child_id).where(
                parent_links.c.school_id == actor.school_id,
                parent_links.c.parent_id == actor.person_id,
            )
        )
    else:
        return SenderCircle()
    own_groups = (
        sa.select(enrolments.c.group_id)
        .where(enrolments.c.school_id == actor.school_id, members, enrolments.c.role == "pupil")
        .scalar_subquery()
    )
    rows = await connection.execute(
        sa.select(enrolments.c.person_id, enrolments.c.role, groups.c.kind)
        .join(groups, groups.c.id == enrolments.c.group_id)
        .where(
            enrolments.c.school_id == actor.school_id,
            groups.c.school_id == actor.school_id,
            groups.c.active.is_(True),
            enrolments.c.group_id.in_(own_groups),
        )
    )
    teachers: set[int] = set()
    classmates: set[int] = set()
    for row in rows:
        if row.role == "teacher":
            teachers.add(int(row.person_id))
        elif row.kind == "class" and actor.profile is Profile.PUPIL:
            classmates.add(int(row.person_id))
    classmates.discard(actor.person_id)
    return SenderCircle(teacher_ids=frozenset(teachers), classmate_ids=frozenset(classmates))
