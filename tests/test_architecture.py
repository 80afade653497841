"""Where authorization may live, checked on the source: every ``access_<thing>`` function,
``enforce`` and ``child_ids`` in the ``actions/access/`` package, every pure access rule in
``domain/access.py``, and handlers (``web/``, ``api/``) that neither read tenant tables nor
decide access themselves. Parsed with :mod:`ast`, so nothing is imported."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "preau"
ACCESS_ACTIONS = PACKAGE / "actions" / "access"
ACCESS_RULES = PACKAGE / "domain" / "access.py"
HANDLER_FOLDERS = (PACKAGE / "web", PACKAGE / "api")
ONLY_IN_ACCESS_ACTIONS = frozenset({"enforce", "child_ids"})


def modules(folder: Path = PACKAGE) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def name_of(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def imported(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """(module, name) of every import; ``import a.b`` gives ("a.b", "")."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ""
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                yield node.module, alias.name


def is_access_package(module: str) -> bool:
    return module == "preau.actions.access" or module.startswith("preau.actions.access.")


def is_access_function(name: str) -> bool:
    bare = name.lstrip("_")
    return bare.startswith("access_") or bare in ONLY_IN_ACCESS_ACTIONS


def is_access_rule(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A ``*_decision`` function, or any function that answers with a ``Decision``."""
    if function.name.lstrip("_").endswith("_decision"):
        return True
    returns = function.returns
    return returns is not None and "Decision" in ast.unparse(returns)


def access_functions_outside(tree: ast.Module) -> list[str]:
    return [f.name for f in functions(tree) if is_access_function(f.name)]


def access_rules_outside(tree: ast.Module) -> list[str]:
    return [f.name for f in functions(tree) if is_access_rule(f)]


def handler_shortcuts(tree: ast.Module) -> list[str]:
    """Imports by which a handler would read tenant tables or decide access by hand."""
    found = []
    for module, name in imported(tree):
        reads_tables = module == "preau.adapters.sql.schema" or (
            module == "preau.adapters.sql" and name == "schema"
        )
        decides = (module == "preau.domain.access" and name.endswith("_decision")) or (
            is_access_package(module) and name in ONLY_IN_ACCESS_ACTIONS
        )
        if reads_tables or decides:
            found.append(f"{module}.{name}" if name else module)
    return found


def test_access_functions_live_only_in_actions_access() -> None:
    misplaced = {
        name_of(path): names
        for path, tree in modules()
        if not path.is_relative_to(ACCESS_ACTIONS) and (names := access_functions_outside(tree))
    }
    assert not misplaced, f"access_*, enforce and child_ids belong in actions/access/: {misplaced}"


def test_pure_access_rules_live_only_in_domain_access() -> None:
    misplaced = {
        name_of(path): names
        for path, tree in modules()
        if path != ACCESS_RULES and (names := access_rules_outside(tree))
    }
    assert not misplaced, f"*_decision rules belong in domain/access.py: {misplaced}"


@pytest.mark.parametrize("folder", HANDLER_FOLDERS, ids=lambda folder: folder.name)
def test_handlers_neither_read_tables_nor_decide_access(folder: Path) -> None:
    shortcuts = {
        name_of(path): found for path, tree in modules(folder) if (found := handler_shortcuts(tree))
    }
    assert not shortcuts, f"handlers call an access_* function instead: {shortcuts}"


# The checks themselves, on small sources, so a check that cannot fail is noticed.


def parsed(source: str) -> ast.Module:
    return ast.parse(source)


def test_the_checks_catch_what_they_are_for() -> None:
    assert access_functions_outside(
        parsed("async def access_room_by_id(c, a, i): ...\ndef _enforce(d): ...")
    ) == ["access_room_by_id", "_enforce"]
    assert access_functions_outside(parsed("async def child_ids(c, a): ...")) == ["child_ids"]
    assert access_functions_outside(parsed("def accessible(x): ...")) == []
    assert access_rules_outside(
        parsed("def lesson_decision(a): ...\ndef join_role(a) -> tuple[Decision, Role]: ...")
    ) == ["lesson_decision", "join_role"]
    assert access_rules_outside(parsed("def write_refusal(a) -> str | None: ...")) == []
    assert handler_shortcuts(
        parsed(
            "from preau.adapters.sql.schema import people\n"
            "from preau.adapters.sql import schema\n"
            "import preau.adapters.sql.schema\n"
            "from preau.domain.access import Action, directory_decision\n"
            "from preau.actions.access import access_person_by_id, enforce\n"
        )
    ) == [
        "preau.adapters.sql.schema.people",
        "preau.adapters.sql.schema",
        "preau.adapters.sql.schema",
        "preau.domain.access.directory_decision",
        "preau.actions.access.enforce",
    ]


# Every object type the access module guards has its rows in a role × object × action ×
# school matrix. A new access_* function or *_decision rule fails here until it is named
# with the matrix test that covers it.
WEB_MATRIX = "access/test_authorization_matrix.py"
CLASSWORK_MATRIX = "classwork/test_authorization.py"
MESSAGES_MATRIX = "messages/test_messages_matrix.py"
MARKS_MATRIX = "marks/test_marks_authorization.py"
ATTENDANCE_MATRIX = "attendance/test_attendance_authorization.py"
EXERCISES_MATRIX = "lessons/test_exercises_authorization.py"
SKILLS_MATRIX = "skills/test_skills_authorization.py"
ROOM_TOOLS_MATRIX = "virtual/test_virtual_room_matrix.py"
CODES_MATRIX = "access/test_activation_code_matrix.py"
COVERED_BY = {
    # actions/access/
    "access_person_by_id": (WEB_MATRIX, "test_people_matrix"),
    "access_school_directory": (WEB_MATRIX, "test_school_directory_matrix"),
    "access_person_for_activation_code": (CODES_MATRIX, "test_activation_code_matrix"),
    "access_group_by_id": (WEB_MATRIX, "test_group_matrix"),
    "visible_groups": (WEB_MATRIX, "test_lists_stay_inside_the_school"),
    "access_group_for_teaching": (CLASSWORK_MATRIX, "test_setting_homework_matrix"),
    "access_group_for_virtual_class": (WEB_MATRIX, "test_starting_a_virtual_class_matrix"),
    "access_groups_for_conversation": (MESSAGES_MATRIX, "test_conversation_groups_matrix"),
    "access_groups_for_announcement": (MESSAGES_MATRIX, "test_announcement_groups_matrix"),
    "access_homework_by_id": (CLASSWORK_MATRIX, "test_classwork_matrix"),
    "access_hand_ins_by_homework_id": (CLASSWORK_MATRIX, "test_classwork_matrix"),
    "access_hand_in_by_id": (CLASSWORK_MATRIX, "test_classwork_matrix"),
    "access_own_hand_in": (CLASSWORK_MATRIX, "test_classwork_matrix"),
    "access_file_by_id": (CLASSWORK_MATRIX, "test_classwork_matrix"),
    "access_conversation_by_id": (MESSAGES_MATRIX, "test_conversation_and_announcement_matrix"),
    "access_announcement_by_id": (MESSAGES_MATRIX, "test_conversation_and_announcement_matrix"),
    "access_message_by_id": (MESSAGES_MATRIX, "test_conversation_and_announcement_matrix"),
    "access_attachment_by_id": ("messages/test_attachments.py", "test_attachment_matrix"),
    "access_lesson_by_id": (WEB_MATRIX, "test_lesson_matrix"),
    "access_chat_message_by_id": (ROOM_TOOLS_MATRIX, "test_room_tools_matrix"),
    "access_poll_by_id": (ROOM_TOOLS_MATRIX, "test_room_tools_matrix"),
    "access_room_by_id": (WEB_MATRIX, "test_virtual_room_matrix"),
    "joinable_rooms": (WEB_MATRIX, "test_virtual_room_matrix"),
    "access_marks_group_by_id": (MARKS_MATRIX, "test_marks_matrix"),
    "access_evaluation_by_id": (MARKS_MATRIX, "test_marks_matrix"),
    "access_report_card_by_pupil_id": (MARKS_MATRIX, "test_marks_matrix"),
    "access_marks_settings": (MARKS_MATRIX, "test_marks_matrix"),
    "access_roll_call_by_lesson": (ATTENDANCE_MATRIX, "test_attendance_matrix"),
    "access_pupil_attendance_by_id": (ATTENDANCE_MATRIX, "test_attendance_matrix"),
    "access_absence_by_id": (ATTENDANCE_MATRIX, "test_attendance_matrix"),
    "access_class_attendance_by_id": (ATTENDANCE_MATRIX, "test_attendance_matrix"),
    "access_parent_link": (ATTENDANCE_MATRIX, "test_attendance_matrix"),
    "access_exercise_by_id": (EXERCISES_MATRIX, "test_exercises_matrix"),
    "access_attempt_by_id": (EXERCISES_MATRIX, "test_exercises_matrix"),
    "access_bank_question_by_id": (EXERCISES_MATRIX, "test_exercises_matrix"),
    "access_video_by_id": (EXERCISES_MATRIX, "test_video_matrix"),
    "access_skill_frameworks": (SKILLS_MATRIX, "test_skills_matrix"),
    "access_skill_framework_by_id": (SKILLS_MATRIX, "test_skills_matrix"),
    "access_skill_summary_by_pupil_id": (SKILLS_MATRIX, "test_skills_matrix"),
    "access_platform_operator": (
        "web/test_gate_wired.py",
        "test_operator_page_and_api_are_for_operators_only",
    ),
    # domain/access.py
    "person_decision": (WEB_MATRIX, "test_people_matrix"),
    "group_decision": (WEB_MATRIX, "test_group_matrix"),
    "directory_decision": (WEB_MATRIX, "test_school_directory_matrix"),
    "activation_code_decision": (CODES_MATRIX, "test_activation_code_matrix"),
    "activation_code_profiles": (CODES_MATRIX, "test_activation_code_matrix"),
    "homework_decision": (CLASSWORK_MATRIX, "test_classwork_matrix"),
    "hand_in_decision": (CLASSWORK_MATRIX, "test_classwork_matrix"),
    "file_decision": (CLASSWORK_MATRIX, "test_classwork_matrix"),
    "conversation_decision": (MESSAGES_MATRIX, "test_conversation_and_announcement_matrix"),
    "announcement_decision": (MESSAGES_MATRIX, "test_conversation_and_announcement_matrix"),
    "messaging_settings_decision": (MESSAGES_MATRIX, "test_messaging_settings_matrix"),
    "lesson_decision": (WEB_MATRIX, "test_lesson_matrix"),
    "room_decision": (WEB_MATRIX, "test_virtual_room_matrix"),
    "marks_decision": (MARKS_MATRIX, "test_marks_matrix"),
    "report_card_decision": (MARKS_MATRIX, "test_marks_matrix"),
    "marks_settings_decision": (MARKS_MATRIX, "test_marks_matrix"),
    "roll_call_decision": (ATTENDANCE_MATRIX, "test_attendance_matrix"),
    "attendance_decision": (ATTENDANCE_MATRIX, "test_attendance_matrix"),
    "class_attendance_decision": (ATTENDANCE_MATRIX, "test_attendance_matrix"),
    "parent_access_decision": (ATTENDANCE_MATRIX, "test_attendance_matrix"),
    "question_bank_decision": (EXERCISES_MATRIX, "test_exercises_matrix"),
    "skill_framework_decision": (SKILLS_MATRIX, "test_skills_matrix"),
    "skill_summary_decision": (SKILLS_MATRIX, "test_skills_matrix"),
}
# The facts and the raising the access functions share: not object types of their own.
SHARED_HELPERS = frozenset(
    {
        "enforce",
        "child_ids",
        "teaches",
        "teaches_pupil",
        "is_set_for",
        "pupil_facts",
        "marks_refusal",
    }
)


def public_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and not node.name.startswith("_")
    }


def test_every_guarded_object_type_has_a_matrix() -> None:
    actions = set().union(*(public_functions(path) for path in ACCESS_ACTIONS.glob("*.py")))
    guarded = (actions - SHARED_HELPERS) | public_functions(ACCESS_RULES)
    assert guarded == set(COVERED_BY), (
        f"name the matrix test of {sorted(guarded - set(COVERED_BY))}; "
        f"no longer guarded: {sorted(set(COVERED_BY) - guarded)}"
    )
    tests = Path(__file__).resolve().parent
    missing = [
        f"{name}: {path}::{test}"
        for name, (path, test) in COVERED_BY.items()
        if test not in public_functions(tests / path)
    ]
    assert not missing, f"matrix tests not found: {missing}"
