"""The pages' forms, filled with what a careless or hostile person types: every form of
every page a profile can open is sent back with each field set to numbers past 64 bits,
dates at the edges of the calendar, line breaks with mail headers, and nothing. No answer
may be a 5xx (issue 20). The forms are read from the pages themselves, so pages added
later are covered too."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

from preau.bootstrap import build_router
from tests.helpers import App, School, api_token, login

BAD_VALUES = [
    "9" * 30,
    "-1",
    "0",
    "9999-12-31",
    "0001-01-01T00:00",
    "9999-W52",
    "x\r\nBcc: all@example.org",
    "",
]
NOT_READ = ("/live", "/static", "/janus-gateway", "/logout", "/api/")


class Forms(HTMLParser):
    """The POST forms of a page: their action and the names of their fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and values.get("method", "").lower() == "post":
            self.forms.append((values.get("action", ""), {}))
        elif tag in ("input", "select", "textarea") and self.forms and values.get("name"):
            self.forms[-1][1][values["name"]] = values.get("value", "")


async def page_paths(app: App, ids: dict[str, int]) -> list[str]:
    paths = set()
    for route in build_router(app.services).routes:
        if "GET" in route.methods and not route.path.startswith(NOT_READ):
            path = re.sub(r"\{(\w+):int\}", lambda m: str(ids.get(m.group(1), 1)), route.path)
            paths.add(re.sub(r"\{\w+:\w+\}", "x", path))
    return sorted(paths)


async def seed(app: App, school: School) -> dict[str, int]:
    """A homework turned in and a conversation, so their pages and forms exist."""
    teacher = app.client_for()
    teacher.headers["authorization"] = f"Bearer {await api_token(teacher, 'teacher.a')}"
    pupil = app.client_for()
    pupil.headers["authorization"] = f"Bearer {await api_token(pupil, 'pupil.a')}"
    work = await teacher.post(
        "/api/v1/homework",
        json={"group_id": school.class_id, "title": "Essai", "due_at": "2030-01-07T17:00:00Z"},
    )
    assert work.status_code == 201, work.text
    homework_id = work.json()["id"]
    turned = await pupil.post(f"/api/v1/homework/{homework_id}/turn-in", json={"text": "Fait"})
    assert turned.status_code == 200, turned.text
    talk = await teacher.post(
        "/api/v1/conversations",
        json={"subject": "Bonjour", "body": "Texte", "person_ids": [school.people["pupil"]]},
    )
    assert talk.status_code == 201, talk.text
    return {
        "homework_id": homework_id,
        "conversation_id": talk.json()["id"],
        "pupil_id": school.people["pupil"],
        "person_id": school.people["pupil"],
        "group_id": school.class_id,
    }


async def fill_every_form(client: httpx.AsyncClient, paths: list[str]) -> int:
    sent = 0
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for path in paths:
        page = await client.get(path)
        assert page.status_code < 500, (path, page.text[:300])
        if "text/html" not in page.headers.get("content-type", ""):
            continue
        parser = Forms()
        parser.feed(page.text)
        for action, fields in parser.forms:
            target = action or path
            if target.startswith(NOT_READ) or (target, tuple(fields)) in seen:
                continue
            seen.add((target, tuple(fields)))
            for value in BAD_VALUES:
                data = {
                    name: (original if name == "csrf_token" else value)
                    for name, original in fields.items()
                }
                answer = await client.post(target, data=data)
                assert answer.status_code < 500, (path, target, value, answer.text[:300])
                sent += 1
    return sent


async def test_no_form_of_any_page_answers_a_5xx(app: App, world: dict[str, School]) -> None:
    paths = await page_paths(app, await seed(app, world["a"]))
    sent = 0
    for username in ("admin.a", "teacher.a", "pupil.a", "parent.a"):
        client = app.client_for()
        await login(client, username)
        sent += await fill_every_form(client, paths)
    assert sent > 100  # forms were found and sent
