"""Skills fixtures: the marks area's app (a fixed clock in the first trimester) and
two-school world, and helpers to make an evaluation that assesses skills."""

from __future__ import annotations

from typing import Any

from tests.helpers import App, School
from tests.marks.conftest import app, bearer, evaluation, world

__all__ = ["app", "world"]


async def socle(app: App, username: str = "teacher.a") -> dict[str, int]:
    """The school's socle commun: skill code -> id."""
    response = await (await bearer(app, username)).get("/api/v1/skills/frameworks")
    assert response.status_code == 200, response.text
    built_in = next(item for item in response.json() if item["built_in"])
    return {skill["code"]: skill["id"] for skill in built_in["skills"]}


async def skills_evaluation(
    app: App,
    school: School,
    codes: tuple[str, ...] = ("1.1", "2"),
    username: str = "teacher.a",
    **extra: Any,
) -> dict[str, Any]:
    """An evaluation of the school's class assessing the socle's ``codes``."""
    found = await socle(app, username)
    return await evaluation(
        app, school, username=username, skill_ids=[found[code] for code in codes], **extra
    )
