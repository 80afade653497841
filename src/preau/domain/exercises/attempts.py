"""Attempts at an exercise: how many a pupil may make, the time limit, and which attempt's
score counts. Pure: the clock and the stored attempts are passed in."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from fractions import Fraction

import msgspec

from preau.domain.errors import Conflict, InvalidInput
from preau.domain.exercises.questions import Answer, Marked, Question, State, mark


def lazy(message: str) -> str:
    return message


NO_ATTEMPT_LEFT = lazy("You have used every attempt at this exercise.")
TIME_IS_UP = lazy(
    "The time for this attempt is over: your answers saved before the end have been kept."
)
ALREADY_SUBMITTED = lazy("This attempt has already been handed in.")

# Answers saved this long after the limit still count: the request left the pupil's
# device in time but the network was slow.
GRACE = timedelta(seconds=30)
MAX_ATTEMPTS = 20
MAX_MINUTES = 24 * 60


class Grading(enum.StrEnum):
    BEST = "best"  # the best attempt counts
    LAST = "last"  # the last handed-in attempt counts


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    attempts: int | None = 1  # None: as many as the pupil wants
    grading: Grading = Grading.BEST
    minutes: int | None = None  # time limit of one attempt
    shuffle_questions: bool = False


def check_policy(policy: Policy) -> Policy:
    if policy.attempts is not None and not 1 <= policy.attempts <= MAX_ATTEMPTS:
        raise InvalidInput(
            lazy("Allow from 1 to 20 attempts, or leave it unlimited."), field="attempts"
        )
    if policy.minutes is not None and not 1 <= policy.minutes <= MAX_MINUTES:
        raise InvalidInput(lazy("A time limit is from 1 minute to 24 hours."), field="minutes")
    return policy


def may_start(policy: Policy, submitted: int, open_attempt: bool) -> None:
    """Raise unless a new attempt may start (an open one is resumed instead)."""
    if not open_attempt and policy.attempts is not None and submitted >= policy.attempts:
        raise Conflict(NO_ATTEMPT_LEFT)


def ends_at(policy: Policy, started_at: datetime) -> datetime | None:
    return None if policy.minutes is None else started_at + timedelta(minutes=policy.minutes)


def may_save(policy: Policy, started_at: datetime, now: datetime, submitted: bool) -> None:
    """Raise unless answers may still be saved in this attempt."""
    if submitted:
        raise Conflict(ALREADY_SUBMITTED)
    end = ends_at(policy, started_at)
    if end is not None and now > end + GRACE:
        raise Conflict(TIME_IS_UP)


class Result(msgspec.Struct, frozen=True, kw_only=True):
    earned: Fraction  # points
    total: int  # points of the exercise
    pending: int  # open answers still to be marked by the teacher
    marked: tuple[Marked, ...]

    @property
    def out_of_20(self) -> Fraction:
        return Fraction(0) if self.total == 0 else self.earned * 20 / self.total


def score(
    questions: Sequence[Question],
    answers: Mapping[int, Answer],
    teacher_marks: Mapping[int, Fraction] | None = None,
) -> Result:
    """Mark every question (by its position) of one attempt. ``teacher_marks`` holds the
    fraction a teacher gave to open answers."""
    teacher_marks = teacher_marks or {}
    marked = []
    for position, question in enumerate(questions):
        result = mark(question, answers.get(position))
        if result.state is State.PENDING and position in teacher_marks:
            fraction = min(max(teacher_marks[position], Fraction(0)), Fraction(1))
            result = Marked(
                fraction=fraction,
                state=State.RIGHT if fraction == 1 else State.PARTLY if fraction else State.WRONG,
            )
        marked.append(result)
    pairs = zip(questions, marked, strict=True)
    return Result(
        earned=sum((result.fraction * question.points for question, result in pairs), Fraction(0)),
        total=sum(question.points for question in questions),
        pending=sum(1 for result in marked if result.state is State.PENDING),
        marked=tuple(marked),
    )


def counted(policy: Policy, results: Sequence[Result]) -> Result | None:
    """The handed-in attempt that counts (``results`` in the order they were handed in)."""
    if not results:
        return None
    if policy.grading is Grading.LAST:
        return results[-1]
    return max(results, key=lambda result: result.earned)
