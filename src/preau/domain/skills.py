"""Skills (compétences): a school's skill frameworks, the four levels of the LSU (*livret
scolaire unique*) an evaluation gives a pupil on a skill, and a pupil's summary. Pure:
levels and evaluations are passed in (docs/skills.md).

Every school starts with the *socle commun de connaissances, de compétences et de culture*
(décret n° 2015-372): its five domains, the first split in four components, in French and
English. A framework is a two-level tree: domains, and the skills under them; a domain
without skills under it (domains 2 to 5 of the socle) is assessed itself.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import msgspec

from preau.domain.bounds import Id, Input
from preau.domain.errors import InvalidInput


def lazy(message: str) -> str:
    """Mark a sentence for the catalogue; it is translated where shown (as ``i18n.lazy``)."""
    return message


FRAMEWORK_NOT_FOUND = lazy("This skill framework does not exist in your school.")
SKILL_NOT_FOUND = lazy("This skill does not exist in your school.")
BUILT_IN = lazy("The socle commun is set by the Ministry: add your own framework instead.")
NOT_ASSESSED = lazy(
    "Skill number {skill_id} is not one this evaluation assesses: nothing was saved."
)
BAD_LEVEL = lazy(
    "Write a level as 1 to 4, or MI (insufficient), MF (fragile), MS (satisfactory) or "
    "TB (very good mastery); leave it empty for none."
)
ONLY_ADMINS = lazy("Only the school's administrators can add or change skill frameworks.")
MARK_OR_SKILLS = lazy("An evaluation carries a mark, skills, or both: choose at least one.")

SOCLE_CODE = "socle"
MAX_SKILLS_PER_EVALUATION = 20
MAX_NAME = 300


class Level(enum.StrEnum):
    """The four levels of mastery of the LSU, from lowest to highest."""

    INSUFFICIENT = "insufficient"  # maîtrise insuffisante
    FRAGILE = "fragile"  # maîtrise fragile
    SATISFACTORY = "satisfactory"  # maîtrise satisfaisante
    VERY_GOOD = "very_good"  # très bonne maîtrise

    @property
    def rank(self) -> int:
        """1 to 4, as stored and as the LSU numbers them."""
        return LEVELS.index(self) + 1


LEVELS = list(Level)


def level_of_rank(rank: int) -> Level:
    return LEVELS[rank - 1]


# What a teacher may type in a cell (lower case, accents kept): the ranks, the LSU's
# abbreviations and the words in French and English.
LEVEL_CODES: dict[str, Level] = {
    **dict.fromkeys(("1", "mi", "i", "insuffisante", "insufficient"), Level.INSUFFICIENT),
    **dict.fromkeys(("2", "mf", "f", "fragile"), Level.FRAGILE),
    **dict.fromkeys(("3", "ms", "s", "satisfaisante", "satisfactory"), Level.SATISFACTORY),
    **dict.fromkeys(
        ("4", "tb", "tbm", "très bonne", "tres bonne", "very good", "very_good"), Level.VERY_GOOD
    ),
}
LEVEL_TYPED = {
    Level.INSUFFICIENT: "MI",
    Level.FRAGILE: "MF",
    Level.SATISFACTORY: "MS",
    Level.VERY_GOOD: "TB",
}


def parse_level(value: str | int | None, field: str = "value") -> Level | None:
    """What a teacher typed in a cell; ``None`` for an empty cell (no level)."""
    if value is None:
        return None
    text = " ".join(str(value).split()).lower()
    if not text:
        return None
    level = LEVEL_CODES.get(text)
    if level is None:
        raise InvalidInput(BAD_LEVEL, field=field)
    return level


# -- frameworks ----------------------------------------------------------------------------


class SkillSeed(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str  # French
    name_en: str
    children: tuple[SkillSeed, ...] = ()


class FrameworkSeed(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    name_en: str
    domains: tuple[SkillSeed, ...]


def _speaking(code: str, fr: str, en: str) -> SkillSeed:
    return SkillSeed(
        code=code,
        name=f"Comprendre, s'exprimer en utilisant {fr}",
        name_en=f"Understanding and expressing oneself using {en}",
    )


# The socle commun as the décret of 31 March 2015 names it and the LSU assesses it: eight
# components, domain 1 split in four.
SOCLE_COMMUN = FrameworkSeed(
    code=SOCLE_CODE,
    name="Socle commun de connaissances, de compétences et de culture",
    name_en="Common core of knowledge, skills and culture",
    domains=(
        SkillSeed(
            code="1",
            name="Les langages pour penser et communiquer",
            name_en="Languages for thinking and communicating",
            children=(
                _speaking(
                    "1.1",
                    "la langue française à l'oral et à l'écrit",
                    "the French language, spoken and written",
                ),
                _speaking(
                    "1.2",
                    "une langue étrangère et, le cas échéant, une langue régionale",
                    "a foreign language and, where relevant, a regional language",
                ),
                _speaking(
                    "1.3",
                    "les langages mathématiques, scientifiques et informatiques",
                    "mathematical, scientific and computer languages",
                ),
                _speaking(
                    "1.4", "les langages des arts et du corps", "the languages of arts and the body"
                ),
            ),
        ),
        SkillSeed(
            code="2",
            name="Les méthodes et outils pour apprendre",
            name_en="Methods and tools for learning",
        ),
        SkillSeed(
            code="3",
            name="La formation de la personne et du citoyen",
            name_en="Shaping the person and the citizen",
        ),
        SkillSeed(
            code="4",
            name="Les systèmes naturels et les systèmes techniques",
            name_en="Natural systems and technical systems",
        ),
        SkillSeed(
            code="5",
            name="Les représentations du monde et l'activité humaine",
            name_en="Representations of the world and human activity",
        ),
    ),
)


class Skill(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    framework_id: int
    parent_id: int | None  # the domain it belongs to; None for a domain
    code: str
    name: str
    name_en: str | None
    position: int
    assessable: bool  # a skill, or a domain with no skill under it


class Framework(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    code: str | None
    name: str
    name_en: str | None
    built_in: bool
    skills: list[Skill]  # domains and skills, each domain followed by its skills


class FrameworkDraft(Input, kw_only=True):
    name: str
    name_en: str | None = None


class SkillDraft(Input, kw_only=True):
    """A domain (no ``parent_id``) or a skill under one of the framework's domains."""

    code: str
    name: str
    name_en: str | None = None
    parent_id: Id | None = None


def check_framework(draft: FrameworkDraft) -> FrameworkDraft:
    return FrameworkDraft(
        name=check_long_name(draft.name, "name"),
        name_en=check_long_name(draft.name_en, "name_en") if draft.name_en else None,
    )


def check_long_name(value: str, field: str) -> str:
    """A skill's name is a sentence: up to 300 characters, no control characters."""
    text = " ".join(value.split())
    if not text:
        raise InvalidInput("This name is empty: please fill it in.", field=field)
    if len(text) > MAX_NAME:
        raise InvalidInput("A skill's name is at most 300 characters.", field=field)
    if any(unicodedata.category(character).startswith("C") for character in text):
        raise InvalidInput("This name contains invisible control characters.", field=field)
    return text


def check_skill(draft: SkillDraft) -> SkillDraft:
    code = " ".join(draft.code.split())
    if not code or len(code) > 20:
        raise InvalidInput("Give the skill a short code, like C1 or 2.3.", field="code")
    return SkillDraft(
        code=code,
        name=check_long_name(draft.name, "name"),
        name_en=check_long_name(draft.name_en, "name_en") if draft.name_en else None,
        parent_id=draft.parent_id,
    )


def ordered_skills(skills: Iterable[Skill]) -> list[Skill]:
    """Domains by position, each followed by its skills by position."""
    found = list(skills)
    domains = sorted((s for s in found if s.parent_id is None), key=lambda s: (s.position, s.id))
    under: dict[int, list[Skill]] = {}
    for skill in found:
        if skill.parent_id is not None:
            under.setdefault(skill.parent_id, []).append(skill)
    ordered: list[Skill] = []
    for domain in domains:
        ordered.append(domain)
        ordered.extend(sorted(under.get(domain.id, []), key=lambda s: (s.position, s.id)))
    return ordered


def shown_name(name: str, name_en: str | None, locale: str) -> str:
    """The English name in English when there is one; the school's own otherwise."""
    return name_en if locale == "en" and name_en else name


# -- levels and the summary ----------------------------------------------------------------


class LevelEntry(Input, kw_only=True):
    """One cell of a skills grid: a level as typed (``"3"``, ``"MS"``, ``"satisfactory"``),
    or ``null`` / ``""`` to clear it."""

    pupil_id: Id
    skill_id: Id
    value: str | int | None = None


class LevelsColumn(Input, kw_only=True):
    levels: list[LevelEntry]


class Assessment(msgspec.Struct, frozen=True, kw_only=True):
    """One level a pupil was given on one skill by one evaluation."""

    evaluation_id: int
    title: str
    subject: str
    day: date
    level: Level


class SkillLine(msgspec.Struct, kw_only=True):
    skill_id: int
    code: str
    name: str
    name_en: str | None
    level: Level | None  # the latest (see ``summary_level``)
    assessments: list[Assessment]  # oldest first


class DomainLine(msgspec.Struct, kw_only=True):
    skill_id: int
    code: str
    name: str
    name_en: str | None
    skills: list[SkillLine]  # the domain itself when nothing is under it


class FrameworkSummary(msgspec.Struct, kw_only=True):
    framework_id: int
    name: str
    name_en: str | None
    domains: list[DomainLine]


class SkillSummary(msgspec.Struct, kw_only=True):
    """A pupil's levels for a term (or the whole year when the school has no terms), per
    framework, domain and skill: each skill's latest level and every assessment of it."""

    pupil_id: int
    pupil_name: str
    term_id: int | None
    term_name: str | None
    frameworks: list[FrameworkSummary]


def summary_level(assessments: Sequence[Assessment]) -> Level | None:
    """The level a summary shows for a skill: the latest one (by the evaluation's day, then
    its number). Mastery grows through the year, so where the pupil stands now is the last
    level given, not the most frequent one, which would keep early failures counting."""
    if not assessments:
        return None
    return max(assessments, key=lambda item: (item.day, item.evaluation_id)).level


def build_summary(
    *,
    pupil_id: int,
    pupil_name: str,
    term_id: int | None,
    term_name: str | None,
    frameworks: Sequence[Framework],
    assessments: Mapping[int, Sequence[Assessment]],  # skill id -> the pupil's assessments
) -> SkillSummary:
    """Frameworks and domains with at least one assessed skill, every skill of such a
    domain shown (with no level when it was not assessed)."""
    shown: list[FrameworkSummary] = []
    for framework in frameworks:
        domains: list[DomainLine] = []
        skills = ordered_skills(framework.skills)
        for domain in (skill for skill in skills if skill.parent_id is None):
            under = [skill for skill in skills if skill.parent_id == domain.id] or [domain]
            lines = []
            for skill in under:
                found = sorted(
                    assessments.get(skill.id, ()), key=lambda item: (item.day, item.evaluation_id)
                )
                lines.append(
                    SkillLine(
                        skill_id=skill.id,
                        code=skill.code,
                        name=skill.name,
                        name_en=skill.name_en,
                        level=summary_level(found),
                        assessments=found,
                    )
                )
            if any(line.assessments for line in lines):
                domains.append(
                    DomainLine(
                        skill_id=domain.id,
                        code=domain.code,
                        name=domain.name,
                        name_en=domain.name_en,
                        skills=lines,
                    )
                )
        if domains:
            shown.append(
                FrameworkSummary(
                    framework_id=framework.id,
                    name=framework.name,
                    name_en=framework.name_en,
                    domains=domains,
                )
            )
    return SkillSummary(
        pupil_id=pupil_id,
        pupil_name=pupil_name,
        term_id=term_id,
        term_name=term_name,
        frameworks=shown,
    )


# -- the skills grid of an evaluation ------------------------------------------------------


class SkillsGridRow(msgspec.Struct, kw_only=True):
    pupil_id: int
    pupil_name: str
    levels: list[Level | None]  # one per skill, in the grid's order


class AssessedEvaluation(msgspec.Struct, kw_only=True):
    """An evaluation of a group that assesses skills, as its grid of marks lists it."""

    evaluation_id: int
    title: str
    subject: str
    day: date
    marked: bool
    skill_count: int


class SkillsGrid(msgspec.Struct, kw_only=True):
    """An evaluation's levels: a column per skill it assesses, a row per pupil."""

    evaluation_id: int
    group_id: int
    group_name: str
    title: str
    subject: str
    day: date
    skills: list[Skill]
    rows: list[SkillsGridRow]
    can_change: bool


def checked_levels(
    entries: Sequence[LevelEntry], *, pupils: Iterable[int], skills: Iterable[int]
) -> dict[tuple[int, int], Level | None]:
    """Every cell checked before anything is written: one bad cell refuses them all.
    Keys are (skill id, pupil id)."""
    known_pupils = set(pupils)
    known_skills = set(skills)
    checked: dict[tuple[int, int], Level | None] = {}
    for entry in entries:
        field = f"levels.{entry.skill_id}.{entry.pupil_id}"
        if entry.pupil_id not in known_pupils:
            raise InvalidInput(
                "Pupil number {pupil_id} is not in this class or group: nothing was saved.",
                field=field,
                pupil_id=entry.pupil_id,
            )
        if entry.skill_id not in known_skills:
            raise InvalidInput(NOT_ASSESSED, field=field, skill_id=entry.skill_id)
        place = (entry.skill_id, entry.pupil_id)
        if place in checked:
            raise InvalidInput(
                "A pupil appears twice for one skill in the levels sent: nothing was saved.",
                field=field,
            )
        checked[place] = parse_level(entry.value, field)
    return checked


def check_marked_or_skills(*, marked: bool, skill_ids: Sequence[int]) -> list[int]:
    """An evaluation's skills (each once, in the order given); it needs a mark or a skill."""
    unique = list(dict.fromkeys(skill_ids))
    if not marked and not unique:
        raise InvalidInput(MARK_OR_SKILLS, field="skill_ids")
    if len(unique) > MAX_SKILLS_PER_EVALUATION:
        raise InvalidInput(
            "An evaluation assesses at most {count} skills.",
            field="skill_ids",
            count=MAX_SKILLS_PER_EVALUATION,
        )
    return unique
