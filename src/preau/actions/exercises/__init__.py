"""Self-marking exercises (docs/lessons.md): ``authoring`` (set an exercise as a homework's
content, read it, export it as GIFT, the question bank), ``attempts`` (start or resume,
save answers, hand in), ``results`` (the teacher's table, marking open answers).

Each action is one transaction; handing in turns the pupil's hand-in in, in the same
transaction, and announces the to-do's new versions after the commit.
"""

from preau.actions.exercises.attempts import get_attempt, save_answer, start_attempt, submit_attempt
from preau.actions.exercises.authoring import (
    exercise_of_homework,
    export_gift,
    get_exercise,
    import_into_bank,
    list_bank,
    remove_from_bank,
    set_exercise,
)
from preau.actions.exercises.results import mark_open_answer, results_of

__all__ = [
    "exercise_of_homework",
    "export_gift",
    "get_attempt",
    "get_exercise",
    "import_into_bank",
    "list_bank",
    "mark_open_answer",
    "remove_from_bank",
    "results_of",
    "save_answer",
    "set_exercise",
    "start_attempt",
    "submit_attempt",
]
