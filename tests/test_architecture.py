"""Where authorization may live, checked on the source: every ``access_<thing>`` function,
``enforce`` and ``child_ids`` in ``actions/access.py``, every pure access rule in
``domain/access.py``, and handlers (``web/``, ``api/``) that neither read tenant tables nor
decide access themselves. Parsed with :mod:`ast`, so nothing is imported."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "preau"
ACCESS_ACTIONS = PACKAGE / "actions" / "access.py"
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
            module == "preau.actions.access" and name in ONLY_IN_ACCESS_ACTIONS
        )
        if reads_tables or decides:
            found.append(f"{module}.{name}" if name else module)
    return found


def test_access_functions_live_only_in_actions_access() -> None:
    misplaced = {
        name_of(path): names
        for path, tree in modules()
        if path != ACCESS_ACTIONS and (names := access_functions_outside(tree))
    }
    assert not misplaced, (
        f"access_*, enforce and child_ids belong in actions/access.py: {misplaced}"
    )


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
