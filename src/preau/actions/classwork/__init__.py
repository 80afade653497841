"""Classwork (cahier de textes): teachers set homework, pupils hand in, teachers return.

``homework`` (every action, being split), ``todo`` (the cached to-do and pupils' homework
pages), ``files`` (uploads and downloads).
"""

from preau.actions.classwork.homework import (
    copy_homework,
    create_homework,
    delete_homework,
    get_hand_in,
    get_homework,
    grant_extension,
    hand_ins_of,
    hand_ins_zip,
    homework_revisions_of,
    own_homework,
    review_hand_in,
    set_done,
    take_back,
    teachable_groups,
    teacher_homework,
    todo_of,
    turn_in,
    update_homework,
)

__all__ = [
    "copy_homework",
    "create_homework",
    "delete_homework",
    "get_hand_in",
    "get_homework",
    "grant_extension",
    "hand_ins_of",
    "hand_ins_zip",
    "homework_revisions_of",
    "own_homework",
    "review_hand_in",
    "set_done",
    "take_back",
    "teachable_groups",
    "teacher_homework",
    "todo_of",
    "turn_in",
    "update_homework",
]
