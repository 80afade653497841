"""Classwork (cahier de textes): teachers set homework, pupils hand in, teachers return.

``homework`` (set, edit, delete, copy, read one), ``revisions`` (each item's history),
``teacher`` (the groups one teaches, homework by week), ``hand_ins`` (turn in, take back,
done, read one), ``review`` (return, missing, excused), ``extensions``, ``hand_ins_list``
(the teacher's list and its zip), ``cached_reads`` (the to-do and a pupil's own homework,
through the caches of ``todo``), ``files`` (uploads and downloads).

Each action is one transaction. Every write bumps the read versions of what it changes
(``group:<id>`` for homework, ``pupil:<id>`` for one pupil's work) in that transaction,
and announces them after the commit so every process's cached to-do moves on.

The actions the pages and the API call as ``classwork.<action>`` are re-exported here;
import anything else from the module that owns it.
"""

from preau.actions.classwork.cached_reads import own_homework, todo_of
from preau.actions.classwork.extensions import grant_extension
from preau.actions.classwork.hand_ins import get_hand_in, set_done, take_back, turn_in
from preau.actions.classwork.hand_ins_list import hand_ins_of, hand_ins_zip
from preau.actions.classwork.homework import (
    copy_homework,
    create_homework,
    delete_homework,
    get_homework,
    update_homework,
)
from preau.actions.classwork.review import review_hand_in
from preau.actions.classwork.revisions import homework_revisions_of
from preau.actions.classwork.teacher import teachable_groups, teacher_homework

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
