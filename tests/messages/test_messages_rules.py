"""Pure rules of messages: who may write to whom, who sees what, quiet hours, safe text."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preau.domain.access import Decision, announcement_decision, conversation_decision
from preau.domain.errors import InvalidInput
from preau.domain.messages import (
    NO_ANNOUNCEMENT,
    NOT_YOUR_GROUP,
    PARENT_TO_OTHERS,
    PARENT_TO_TEACHER,
    PUPIL_TO_PARENT,
    PUPIL_TO_PUPIL,
    PUPIL_TO_PUPIL_OUTSIDE_CLASS,
    PUPIL_TO_TEACHER,
    AnnouncementAction,
    Contact,
    ConversationAction,
    SchoolMessaging,
    SenderCircle,
    announcement_refusal,
    check_body,
    check_school_messaging,
    check_subject,
    group_refusal,
    is_quiet,
    split_links,
    write_refusal,
)
from preau.domain.people import Actor, Profile

SCHOOL = 1
PARIS = ZoneInfo("Europe/Paris")
MY_TEACHER, OTHER_TEACHER, CLASSMATE, OTHER_PUPIL, STAFF, PARENT = 10, 11, 20, 21, 30, 40
PROFILES = {
    MY_TEACHER: Profile.TEACHER,
    OTHER_TEACHER: Profile.TEACHER,
    CLASSMATE: Profile.PUPIL,
    OTHER_PUPIL: Profile.PUPIL,
    STAFF: Profile.STAFF,
    PARENT: Profile.PARENT,
}
CIRCLE = SenderCircle(teacher_ids=frozenset({MY_TEACHER}), classmate_ids=frozenset({CLASSMATE}))


def contact(person_id: int, *, school_id: int = SCHOOL, active: bool = True) -> Contact:
    return Contact(
        person_id=person_id,
        school_id=school_id,
        profile=PROFILES[person_id],
        active=active,
        name="X",
    )


def refusal(
    profile: Profile, target: int, rules: SchoolMessaging | None = None, **kwargs: object
) -> str | None:
    sender = Actor(person_id=99, school_id=SCHOOL, profile=profile)
    return write_refusal(sender, contact(target, **kwargs), CIRCLE, rules or SchoolMessaging())  # type: ignore[arg-type]  # contact()'s own keywords


@pytest.mark.parametrize(
    ("profile", "target", "expected"),
    [
        (Profile.TEACHER, CLASSMATE, None),
        (Profile.TEACHER, PARENT, None),
        (Profile.STAFF, OTHER_PUPIL, None),
        (Profile.ADMIN, PARENT, None),
        (Profile.PUPIL, MY_TEACHER, None),
        (Profile.PUPIL, OTHER_TEACHER, PUPIL_TO_TEACHER),
        (Profile.PUPIL, STAFF, None),
        (Profile.PUPIL, CLASSMATE, PUPIL_TO_PUPIL),
        (Profile.PUPIL, OTHER_PUPIL, PUPIL_TO_PUPIL),
        (Profile.PUPIL, PARENT, PUPIL_TO_PARENT),
        (Profile.PARENT, MY_TEACHER, None),
        (Profile.PARENT, OTHER_TEACHER, PARENT_TO_TEACHER),
        (Profile.PARENT, STAFF, None),
        (Profile.PARENT, CLASSMATE, PARENT_TO_OTHERS),
        (Profile.PARENT, PARENT, PARENT_TO_OTHERS),
    ],
)
def test_default_rules(profile: Profile, target: int, expected: str | None) -> None:
    assert refusal(profile, target) == expected


def test_a_school_may_let_pupils_write_within_their_class() -> None:
    rules = SchoolMessaging(pupils_write_to_class=True)
    assert refusal(Profile.PUPIL, CLASSMATE, rules) is None
    assert refusal(Profile.PUPIL, OTHER_PUPIL, rules) == PUPIL_TO_PUPIL_OUTSIDE_CLASS


def test_a_school_may_close_teachers_to_pupils_and_parents() -> None:
    rules = SchoolMessaging(pupils_write_to_teachers=False, parents_write_to_teachers=False)
    assert refusal(Profile.PUPIL, MY_TEACHER, rules) == PUPIL_TO_TEACHER
    assert refusal(Profile.PARENT, MY_TEACHER, rules) == PARENT_TO_TEACHER
    assert refusal(Profile.PUPIL, STAFF, rules) is None  # the staff stay reachable


@pytest.mark.parametrize("profile", list(Profile))
def test_nobody_writes_across_schools_or_to_inactive_accounts(profile: Profile) -> None:
    assert refusal(profile, STAFF, school_id=2) is not None
    assert refusal(profile, STAFF, active=False) is not None


def test_groups_and_announcements_are_for_teachers_and_staff() -> None:
    for profile in (Profile.PUPIL, Profile.PARENT):
        actor = Actor(1, SCHOOL, profile)
        assert group_refusal(actor) is not None
        assert announcement_refusal(actor, teaches_every_group=True) == NO_ANNOUNCEMENT
    teacher = Actor(1, SCHOOL, Profile.TEACHER)
    assert announcement_refusal(teacher, teaches_every_group=False) == NOT_YOUR_GROUP
    assert announcement_refusal(Actor(1, SCHOOL, Profile.STAFF), teaches_every_group=False) is None


@given(
    profile=st.sampled_from(list(Profile)),
    action=st.sampled_from(list(ConversationAction)),
    same_school=st.booleans(),
    is_participant=st.booleans(),
    started_by_actor=st.booleans(),
    replies_allowed=st.booleans(),
    has_open_report=st.booleans(),
)
def test_conversation_decisions(  # noqa: PLR0917 — hypothesis passes each fact by keyword
    profile: Profile,
    action: ConversationAction,
    same_school: bool,
    is_participant: bool,
    started_by_actor: bool,
    replies_allowed: bool,
    has_open_report: bool,
) -> None:
    decision = conversation_decision(
        Actor(1, SCHOOL, profile),
        action,
        school_id=SCHOOL if same_school else 2,
        is_participant=is_participant,
        started_by_actor=started_by_actor and is_participant,
        replies_allowed=replies_allowed,
        has_open_report=has_open_report,
    )
    moderator = profile in (Profile.STAFF, Profile.ADMIN)
    if not same_school or not (is_participant or (moderator and has_open_report)):
        assert decision is Decision.HIDE  # another school's or a stranger's: not even seen
    elif action is ConversationAction.MODERATE:
        assert decision is (Decision.ALLOW if moderator else Decision.FORBID)
    elif action is ConversationAction.REPLY:
        allowed = is_participant and (replies_allowed or started_by_actor)
        assert decision is (Decision.ALLOW if allowed else Decision.FORBID)
    elif action is ConversationAction.READ:
        assert decision is Decision.ALLOW
    else:
        assert decision is (Decision.ALLOW if is_participant else Decision.FORBID)


@given(
    profile=st.sampled_from(list(Profile)),
    action=st.sampled_from(list(AnnouncementAction)),
    same_school=st.booleans(),
    is_author=st.booleans(),
    is_recipient=st.booleans(),
)
def test_announcement_decisions(
    profile: Profile,
    action: AnnouncementAction,
    same_school: bool,
    is_author: bool,
    is_recipient: bool,
) -> None:
    decision = announcement_decision(
        Actor(1, SCHOOL, profile),
        action,
        school_id=SCHOOL if same_school else 2,
        is_author=is_author,
        is_recipient=is_recipient,
    )
    overseer = is_author or profile in (Profile.STAFF, Profile.ADMIN)
    if not same_school or not (overseer or is_recipient):
        assert decision is Decision.HIDE
    elif action is AnnouncementAction.READ:
        assert decision is Decision.ALLOW
    elif action is AnnouncementAction.MARK_READ:
        assert decision is (Decision.ALLOW if is_recipient else Decision.FORBID)
    else:
        assert decision is (Decision.ALLOW if overseer else Decision.FORBID)


# 2021-04-06 was a Tuesday; 2021-04-11 a Sunday.
@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (datetime(2021, 4, 6, 6, 59, tzinfo=PARIS), True),
        (datetime(2021, 4, 6, 7, 0, tzinfo=PARIS), False),
        (datetime(2021, 4, 6, 12, 0, tzinfo=PARIS), False),
        (datetime(2021, 4, 6, 19, 59, tzinfo=PARIS), False),
        (datetime(2021, 4, 6, 20, 0, tzinfo=PARIS), True),
        (datetime(2021, 4, 6, 23, 30, tzinfo=PARIS), True),
        (datetime(2021, 4, 11, 12, 0, tzinfo=PARIS), True),
    ],
)
def test_default_quiet_hours(moment: datetime, quiet: bool) -> None:
    assert is_quiet(SchoolMessaging(), moment) is quiet


def test_quiet_hours_can_be_changed_or_switched_off() -> None:
    daytime = SchoolMessaging(quiet_from="12:00", quiet_until="14:00", quiet_days=[])
    assert is_quiet(daytime, datetime(2021, 4, 11, 13, 0, tzinfo=PARIS))
    assert not is_quiet(daytime, datetime(2021, 4, 11, 21, 0, tzinfo=PARIS))
    assert not is_quiet(
        SchoolMessaging(quiet_enabled=False), datetime(2021, 4, 11, 3, 0, tzinfo=PARIS)
    )


def test_school_settings_are_checked() -> None:
    checked = check_school_messaging(SchoolMessaging(quiet_from="7:05", quiet_days=[7, 6, 7]))
    assert (checked.quiet_from, checked.quiet_days) == ("07:05", [6, 7])
    with pytest.raises(InvalidInput):
        check_school_messaging(SchoolMessaging(quiet_until="25:00"))
    with pytest.raises(InvalidInput):
        check_school_messaging(SchoolMessaging(quiet_days=[0]))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n ",
        "x" * 10_001,
        "<script>alert(1)</script>",
        "<SCRIPT src=//evil.example>",
        '<img src=x onerror="alert(1)">',
        "click javascript:alert(1)",
        "<iframe src=https://evil.example>",
        "bell \x07 inside",
    ],
)
def test_bad_bodies_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        check_body(text)


@pytest.mark.parametrize(
    "text", ["2 < 3 and 5 > 4", "Use <b> for bold", "Tab\there\nand a new line", "l’école"]
)
def test_ordinary_text_is_kept_as_written(text: str) -> None:
    assert check_body(text) == text


def test_subjects_are_one_line() -> None:
    assert check_subject("  Sortie \n au musée ") == "Sortie au musée"
    with pytest.raises(InvalidInput):
        check_subject("x" * 201)


def test_only_http_addresses_become_links() -> None:
    pieces = split_links("See https://example.org/a?b=1&c=2. Or ftp://x.example, www.example.org")
    assert pieces == [
        ("See ", False),
        ("https://example.org/a?b=1&c=2", True),
        (". Or ftp://x.example, www.example.org", False),
    ]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_links_cut_text_without_losing_any(text: str) -> None:
    pieces = split_links(text)
    assert "".join(piece for piece, _ in pieces) == text
    assert all(piece.lower().startswith(("http://", "https://")) for piece, link in pieces if link)
