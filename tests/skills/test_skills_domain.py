"""The pure rules of skills: typing a level, the socle commun as preloaded, the summary's
latest level, a grid's cells checked all at once, an evaluation's mark or skills."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preau.domain.errors import InvalidInput
from preau.domain.marks import EvaluationDraft, check_evaluation
from preau.domain.skills import (
    SOCLE_COMMUN,
    Assessment,
    Framework,
    Level,
    LevelEntry,
    Skill,
    build_summary,
    checked_levels,
    level_of_rank,
    parse_level,
    summary_level,
)


@pytest.mark.parametrize(
    ("typed", "level"),
    [
        ("1", Level.INSUFFICIENT), ("MI", Level.INSUFFICIENT), (" mi ", Level.INSUFFICIENT),
        ("2", Level.FRAGILE), ("mf", Level.FRAGILE), ("fragile", Level.FRAGILE),
        (3, Level.SATISFACTORY), ("MS", Level.SATISFACTORY), ("satisfaisante", Level.SATISFACTORY),
        ("4", Level.VERY_GOOD), ("TB", Level.VERY_GOOD), ("Très  bonne", Level.VERY_GOOD),
        ("very_good", Level.VERY_GOOD), ("", None), ("  ", None), (None, None),
    ],
)  # fmt: skip
def test_a_level_is_typed_as_a_rank_an_abbreviation_or_a_word(
    typed: str | int | None, level: Level | None
) -> None:
    assert parse_level(typed) is level


@pytest.mark.parametrize("typed", ["0", "5", "A", "15", "très", 12])
def test_anything_else_is_refused_with_a_sentence(typed: str | int) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_level(typed, "levels.3.4")
    assert refused.value.field == "levels.3.4"
    assert "MI" in str(refused.value.message)


def test_ranks_go_both_ways() -> None:
    assert [level.rank for level in Level] == [1, 2, 3, 4]
    assert all(level_of_rank(level.rank) is level for level in Level)


def test_the_socle_commun_has_its_eight_components_in_five_domains() -> None:
    domains = SOCLE_COMMUN.domains
    assert [domain.code for domain in domains] == ["1", "2", "3", "4", "5"]
    assert [skill.code for skill in domains[0].children] == ["1.1", "1.2", "1.3", "1.4"]
    assessed = [skill for domain in domains for skill in (domain.children or (domain,))]
    assert len(assessed) == 8
    assert "langue française" in assessed[0].name
    assert "foreign language" in assessed[1].name_en
    assert "informatiques" in assessed[2].name
    assert "arts" in assessed[3].name
    assert domains[1].name == "Les méthodes et outils pour apprendre"


def _assessment(number: int, day: date, level: Level) -> Assessment:
    return Assessment(evaluation_id=number, title="É", subject="Maths", day=day, level=level)


@given(
    st.lists(
        st.tuples(
            st.integers(1, 1000),
            st.dates(date(2026, 9, 1), date(2027, 7, 4)),
            st.sampled_from(list(Level)),
        ),
        min_size=1,
        max_size=12,
        unique_by=lambda item: item[0],
    )
)
def test_the_summary_shows_the_latest_level_whatever_the_order(
    items: list[tuple[int, date, Level]],
) -> None:
    assessments = [_assessment(number, day, level) for number, day, level in items]
    latest = max(items, key=lambda item: (item[1], item[0]))[2]
    assert summary_level(assessments) is latest
    assert summary_level(list(reversed(assessments))) is latest


def test_the_latest_level_not_the_most_frequent() -> None:
    start = date(2026, 9, 7)
    found = [
        _assessment(number, start + timedelta(weeks=number), level)
        for number, level in enumerate(
            [Level.INSUFFICIENT, Level.INSUFFICIENT, Level.INSUFFICIENT, Level.SATISFACTORY]
        )
    ]
    assert summary_level(found) is Level.SATISFACTORY
    assert summary_level([]) is None
    # Two evaluations the same day: the later created one (higher number) is the latest.
    same_day = [_assessment(9, start, Level.VERY_GOOD), _assessment(4, start, Level.FRAGILE)]
    assert summary_level(same_day) is Level.VERY_GOOD


def _skill(number: int, code: str, parent: int | None = None, *, assessable: bool = True) -> Skill:
    return Skill(
        id=number, framework_id=1, parent_id=parent, code=code, name=code, name_en=None,
        position=number, assessable=assessable,
    )  # fmt: skip


def test_the_summary_keeps_domains_with_an_assessed_skill_and_all_their_skills() -> None:
    framework = Framework(
        id=1, code="socle", name="Socle", name_en=None, built_in=True,
        skills=[
            _skill(1, "1", assessable=False), _skill(2, "1.1", 1), _skill(3, "1.2", 1),
            _skill(4, "2"), _skill(5, "3"),
        ],
    )  # fmt: skip
    empty = Framework(id=2, code=None, name="Oral", name_en=None, built_in=False, skills=[])
    day = date(2026, 10, 1)
    summary = build_summary(
        pupil_id=7,
        pupil_name="Léa",
        term_id=None,
        term_name=None,
        frameworks=[framework, empty],
        assessments={
            2: [_assessment(1, day, Level.FRAGILE)],
            4: [_assessment(1, day, Level.VERY_GOOD)],
        },
    )
    assert [item.framework_id for item in summary.frameworks] == [1]
    domains = summary.frameworks[0].domains
    assert [(domain.code, [skill.code for skill in domain.skills]) for domain in domains] == [
        ("1", ["1.1", "1.2"]),
        ("2", ["2"]),  # a domain with nothing under it is its own skill
    ]
    assert [skill.level for skill in domains[0].skills] == [Level.FRAGILE, None]


def test_one_bad_cell_refuses_the_whole_grid() -> None:
    good = LevelEntry(pupil_id=1, skill_id=10, value="MS")
    assert checked_levels([good], pupils=[1, 2], skills=[10]) == {(10, 1): Level.SATISFACTORY}
    for bad, word in (
        (LevelEntry(pupil_id=3, skill_id=10, value="1"), "not in this class"),
        (LevelEntry(pupil_id=2, skill_id=11, value="1"), "not one this evaluation assesses"),
        (LevelEntry(pupil_id=2, skill_id=10, value="9"), "level"),
        (LevelEntry(pupil_id=1, skill_id=10, value="1"), "twice"),
    ):
        with pytest.raises(InvalidInput) as refused:
            checked_levels([good, bad], pupils=[1, 2], skills=[10])
        assert word in refused.value.message.format(**refused.value.params), word


def test_an_evaluation_carries_a_mark_skills_or_both() -> None:
    draft = EvaluationDraft(group_id=1, subject="Maths", title="Oral", day=date(2026, 11, 2))
    assert check_evaluation(draft).out_of == 20
    only = check_evaluation(
        EvaluationDraft(
            group_id=1, subject="Maths", title="Oral", day=date(2026, 11, 2), marked=False,
            skill_ids=[4, 2, 4], out_of=Decimal(20), coefficient=Decimal(3),
        )
    )  # fmt: skip
    assert (only.out_of, only.coefficient, only.skill_ids) == (Decimal(0), Decimal(0), [4, 2])
    with pytest.raises(InvalidInput):
        check_evaluation(
            EvaluationDraft(
                group_id=1, subject="Maths", title="Rien", day=date(2026, 11, 2), marked=False
            )
        )
