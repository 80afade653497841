"""Pure rules of the directory: names, usernames, passwords, and who may see what."""

from __future__ import annotations

import itertools

import pytest

from preau.domain.access import Action, Decision, group_decision, person_decision
from preau.domain.errors import InvalidInput
from preau.domain.people import (
    Actor,
    Profile,
    check_name,
    check_new_password,
    check_uai,
    check_username,
    normalise_activation_code,
    username_base,
)


def test_uai() -> None:
    assert check_uai(" 0751234a ") == "0751234A"
    for bad in ("075123A", "07512345", "ABCDEFGH", ""):
        with pytest.raises(InvalidInput):
            check_uai(bad)


def test_names_are_cleaned_and_checked() -> None:
    assert check_name("  Jean   Pierre ", "given_name") == "Jean Pierre"
    for bad in ("", "   ", "x" * 101, "a\u200bb\x07"):
        with pytest.raises(InvalidInput):
            check_name(bad, "given_name")


def test_usernames() -> None:
    assert username_base("Zoé", "Lefèvre-Dupont") == "zoe.lefevre-dupont"
    assert username_base("Æsa", "O'Neil") == "aesa.o.neil"
    assert check_username(" Lea.Dubois ") == "lea.dubois"
    for bad in ("ab", "a b", "é.x", "-abc", "abc-"):
        with pytest.raises(InvalidInput):
            check_username(bad)


def test_passwords() -> None:
    assert check_new_password("a long enough sentence", username="lea") == "a long enough sentence"
    with pytest.raises(InvalidInput, match="10"):
        check_new_password("short", username="lea")
    with pytest.raises(InvalidInput, match="username"):
        check_new_password("lea.dubois.x", username="lea.dubois.x")


def test_activation_codes_ignore_case_and_dashes() -> None:
    assert normalise_activation_code("abcde-fghjk ") == "ABCDEFGHJK"


PROFILES = list(Profile)


@pytest.mark.parametrize(
    ("profile", "same_school", "is_self", "is_child"),
    list(itertools.product(PROFILES, [True, False], [True, False], [True, False])),
)
def test_person_rules(profile: Profile, same_school: bool, is_self: bool, is_child: bool) -> None:
    actor = Actor(person_id=1, school_id=1, profile=profile)
    target_id = 1 if is_self else 2
    read = person_decision(
        actor,
        Action.READ,
        target_id=target_id,
        target_school_id=1 if same_school else 2,
        target_is_child_of_actor=is_child,
    )
    change = person_decision(
        actor,
        Action.CHANGE,
        target_id=target_id,
        target_school_id=1 if same_school else 2,
        target_is_child_of_actor=is_child,
    )
    if not same_school:
        assert read is change is Decision.HIDE
        return
    visible = (
        profile in (Profile.TEACHER, Profile.STAFF, Profile.ADMIN)
        or is_self
        or (profile is Profile.PARENT and is_child)
    )
    assert read is (Decision.ALLOW if visible else Decision.HIDE)
    if not visible:
        assert change is Decision.HIDE
    else:
        assert change is (Decision.ALLOW if profile is Profile.ADMIN else Decision.FORBID)


def test_group_rules() -> None:
    pupil = Actor(1, 1, Profile.PUPIL)
    assert (
        group_decision(pupil, Action.READ, group_school_id=1, actor_or_child_is_member=True)
        is Decision.ALLOW
    )
    assert (
        group_decision(pupil, Action.READ, group_school_id=1, actor_or_child_is_member=False)
        is Decision.HIDE
    )
    assert (
        group_decision(pupil, Action.CHANGE, group_school_id=1, actor_or_child_is_member=True)
        is Decision.FORBID
    )
    admin = Actor(1, 1, Profile.ADMIN)
    assert (
        group_decision(admin, Action.CHANGE, group_school_id=2, actor_or_child_is_member=True)
        is Decision.HIDE
    )
