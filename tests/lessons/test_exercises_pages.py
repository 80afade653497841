"""The exercise pages without JavaScript: a teacher sets an exercise from GIFT through the
form (a mistake shown with its line, nothing saved), a pupil answers one question per page
and hands in, the teacher reads the results and marks the open answer."""

from __future__ import annotations

import re
from typing import Any

import httpx

from preau.adapters.sql.schema import exercises
from tests.classwork.conftest import Clock, post_homework
from tests.helpers import App, School, count_rows, csrf_from, login

GIFT = """::Capitale::Quelle est la capitale de la France ? {~Lyon =Paris ~Marseille}

::Ordre::Rangez. {=a -> 1 =b -> 2}

::Pourquoi::Expliquez. {}
"""


async def signed_in(app: App, username: str) -> httpx.AsyncClient:
    browser = app.client_for(headers={"accept-language": "en"})
    await login(browser, username)
    return browser


async def test_set_take_and_review_an_exercise_through_the_pages(  # noqa: PLR0915 - one story from the teacher's form to the marked open answer, read top to bottom
    app: App, as_user: Any, world: dict[str, School], clock: Clock
) -> None:
    work = await post_homework(await as_user("teacher.a"), world["a"], clock, title="Quiz")
    teacher = await signed_in(app, "teacher.a")
    page = await teacher.get(f"/homework/{work['id']}")
    assert f"/homework/{work['id']}/exercise" in page.text
    form = await teacher.get(f"/homework/{work['id']}/exercise")
    assert form.status_code == 200
    token = csrf_from(form.text)
    broken = await teacher.post(
        f"/homework/{work['id']}/exercise",
        data={"csrf_token": token, "gift": "Question {=a ~b\n\nAutre {T}", "attempts": "2"},
    )
    assert broken.status_code == 400
    assert "Line 1" in broken.text
    assert await count_rows(app.services, exercises) == 0
    saved = await teacher.post(
        f"/homework/{work['id']}/exercise",
        data={"csrf_token": token, "gift": GIFT, "attempts": "2", "grading": "best"},
    )
    assert saved.status_code in (302, 303), saved.text
    results_path = saved.headers["location"]

    pupil = await signed_in(app, "pupil.a")
    homework_page = await pupil.get(f"/homework/{work['id']}")
    exercise_path = re.search(r'href="(/exercises/\d+)"', homework_page.text)
    assert exercise_path, "the homework page links its exercise"
    intro = await pupil.get(exercise_path.group(1))
    assert "Start the exercise" in intro.text
    started = await pupil.post(
        f"{exercise_path.group(1)}/start", data={"csrf_token": csrf_from(intro.text)}
    )
    assert started.status_code in (302, 303)
    location = started.headers["location"]
    for _ in range(3):
        question = await pupil.get(location)
        assert question.status_code == 200, question.text
        assert "Paris" not in question.text or 'value="' in question.text
        action = re.search(r'action="(/attempts/\d+/answers/\d+)"', question.text)
        assert action
        data: dict[str, Any] = {"csrf_token": csrf_from(question.text)}
        data["following"] = re.search(r'name="following" value="([^"]*)"', question.text).group(1)  # type: ignore[union-attr]  # the page has it
        if "Capitale" in question.text:
            paris = re.search(r'value="(\d+)">\s*Paris', question.text)
            assert paris
            data["chosen"] = paris.group(1)
        elif "match-0" in question.text:
            options = dict(re.findall(r'<option value="(\d+)"[^>]*>(\d)</option>', question.text))
            data["match-0"] = next(index for index, text in options.items() if text == "1")
            data["match-1"] = next(index for index, text in options.items() if text == "2")
        else:
            data["text"] = "Parce que."
        answered = await pupil.post(action.group(1), data=data)
        assert answered.status_code in (302, 303), answered.text
        location = answered.headers["location"]
    summary = await pupil.get(location)
    assert "Hand in" in summary.text
    assert "not answered" not in summary.text
    handed = await pupil.post(
        re.search(r'action="(/attempts/\d+/submit)"', summary.text).group(1),  # type: ignore[union-attr]  # the page has it
        data={"csrf_token": csrf_from(summary.text)},
    )
    result = await pupil.get(handed.headers["location"])
    assert "2 / 3" in result.text
    assert "waits for the teacher" in result.text

    table = await teacher.get(results_path)
    assert table.status_code == 200
    attempt_link = re.search(r'href="(/attempts/\d+)"', table.text)
    assert attempt_link
    review = await teacher.get(attempt_link.group(1))
    mark_action = re.search(r'action="(/attempts/\d+/answers/\d+/mark)"', review.text)
    assert mark_action
    marked = await teacher.post(
        mark_action.group(1), data={"csrf_token": csrf_from(review.text), "points": "1"}
    )
    assert marked.status_code in (302, 303)
    after = await teacher.get(attempt_link.group(1))
    assert "3 / 3" in after.text


async def test_formulas_are_drawn_by_debians_katex_and_nothing_else_is_served(app: App) -> None:
    script = await app.client.get("/katex/katex.min.js")
    assert script.status_code == 200, "libjs-katex is missing: `make system-deps` installs it"
    assert script.headers["content-type"].startswith("text/javascript")
    assert "renderToString" in script.text
    assert (await app.client.get("/katex/contrib/auto-render.js")).status_code == 200
    style = await app.client.get("/katex/katex.min.css")
    assert style.headers["content-type"].startswith("text/css")
    font = await app.client.get("/katex/fonts/KaTeX_Main-Regular.woff2")
    assert font.status_code == 200
    assert font.headers["content-type"] == "font/woff2"
    for refused in (
        "/katex/katex.mjs",  # not one KaTeX needs here
        "/katex/fonts/KaTeX_Main-Regular.ttf",
        "/katex/../../../../etc/passwd",
        "/katex/fonts/..%2F..%2F..%2Fetc%2Fpasswd.woff2",
    ):
        answer = await app.client.get(refused)
        assert answer.status_code == 404, refused
        assert "root:" not in answer.text
