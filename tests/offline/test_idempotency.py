"""``Idempotency-Key`` on every write: the OpenAPI document walked, each write sent twice
with one key (one record, the same answer), a key reused with another body refused with a
sentence, a claim whose write committed but whose answer was lost, expiry."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from preau.actions import idempotency
from preau.adapters.sql.schema import idempotency_records, metadata
from preau.domain.idempotency import Replay
from tests.helpers import App, School, api_token, csrf_from, login

WRITES = ("post", "put", "patch", "delete")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


async def snapshot(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: a replay must change none."""
    found = {}
    async with app.services.engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = (await connection.execute(sa.select(table))).all()
            found[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return found


def later(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def today(days: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


class Example:
    """A value for each schema: ids from the world, dates ahead, short texts."""

    def __init__(self, document: dict[str, Any], ids: dict[str, int]) -> None:
        self.schemas = document["components"]["schemas"]
        self.ids = ids

    def of(self, schema: dict[str, Any], name: str = "") -> Any:
        if "$ref" in schema:
            return self.of(self.schemas[schema["$ref"].rsplit("/", 1)[1]], name)
        for options in ("oneOf", "anyOf"):
            if options in schema:
                chosen = [s for s in schema[options] if s.get("type") != "null"] or schema[options]
                return self.of(chosen[0], name)
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object":
            properties = schema.get("properties", {})
            return {
                field: self.of(properties[field], field)
                for field in schema.get("required", [])
                if field in properties
            }
        if kind == "array":
            return [self.of(schema.get("items", {}), name.removesuffix("s"))]
        return self.scalar(schema, kind, name)

    def scalar(self, schema: dict[str, Any], kind: str | None, name: str) -> Any:
        if kind == "integer":
            return self.ids.get(name.removesuffix("_id"), 1)
        if kind == "number":
            return 1
        if kind == "boolean":
            return False
        if schema.get("format") == "date-time" or name.endswith("_at"):
            return later(2)
        if schema.get("format") == "date" or name.endswith("_on"):
            return today(1)
        return f"Essai {name}"


# The few bodies a schema cannot guess (what makes a write succeed, not just pass parsing).
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/conversations"): {"person_ids": [], "subject": "Sujet", "body": "Bonjour"},
    ("post", "/api/v1/conversations/{conversation_id}/messages"): {"body": "Réponse"},
    ("post", "/api/v1/homework/{homework_id}/turn-in"): {"text": "Mon travail"},
    ("post", "/api/v1/homework/{homework_id}/done"): {"done": True},
}
# Who sends each write: the pupil for their own work, the admin for the school's
# settings and directory, the teacher for the rest.
PUPIL = ("/turn-in", "/take-back", "/done", "/read", "/hand", "/join", "/progress")
ADMIN = (
    *("/people", "/groups", "/parent-links", "/activation", "/gate", "/roster", "/settings"),
    *("/timetable/lessons", "/timetable/holidays", "/marks/terms", "/frameworks"),
    *("/attendance/absences", "/attendance/parents", "/messaging-settings"),
)


def sender_of(path: str) -> str:
    if path.endswith(PUPIL):
        return "pupil"
    return "admin" if any(part in path for part in ADMIN) else "teacher"


def request_for(
    method: str, path: str, operation: dict[str, Any], ids: dict[str, int], examples: Example
) -> tuple[str, dict[str, Any]]:
    url = path
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            name = parameter["name"].removesuffix("_id")
            url = url.replace("{" + parameter["name"] + "}", str(ids.get(name, 1)))
    content = operation.get("requestBody", {}).get("content", {})
    kwargs: dict[str, Any] = {}
    if "application/json" in content:
        kwargs["json"] = BODIES.get(
            (method, path), examples.of(content["application/json"]["schema"])
        )
    elif "multipart/form-data" in content:
        kwargs["files"] = {"file": ("sujet.pdf", PDF, "application/pdf")}
    return url, kwargs


async def test_every_write_of_the_openapi_twice_with_one_key(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    tokens = {
        role: await api_token(app.client, f"{role}.a") for role in ("teacher", "pupil", "admin")
    }
    teacher = {"authorization": f"Bearer {tokens['teacher']}"}
    homework = await app.client.post(
        "/api/v1/homework",
        headers=teacher,
        json={
            "group_id": school.class_id,
            "title": "Exercices",
            "instructions": "Page 42",
            "due_at": later(3),
        },
    )
    assert homework.status_code == 201, homework.text
    conversation = await app.client.post(
        "/api/v1/conversations",
        headers=teacher,
        json={"person_ids": [school.people["pupil"]], "subject": "Bonjour", "body": "Salut"},
    )
    assert conversation.status_code == 201, conversation.text
    ids = {
        "homework": homework.json()["id"],
        "conversation": conversation.json()["id"],
        "pupil": school.people["pupil"],
        "person": school.people["other_pupil"],
        "group": school.class_id,
        "recipient": school.people["pupil"],
        "child": school.people["pupil"],
        "parent": school.people["parent"],
        "member": school.people["other_pupil"],
    }
    BODIES[("post", "/api/v1/conversations")]["person_ids"] = [school.people["pupil"]]
    document = (await app.client.get("/api/v1/schema/openapi.json")).json()
    examples = Example(document, ids)
    operations = [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in WRITES
    ]
    # Deletions last (they take away what the others write to), the session's own last.
    operations.sort(key=lambda o: (o[0] == "delete", o[1] == "/api/v1/session"))
    succeeded = []
    for method, path, operation in operations:
        role = sender_of(path)
        url, kwargs = request_for(method, path, operation, ids, examples)
        headers = {
            "authorization": f"Bearer {tokens[role]}",
            "idempotency-key": secrets.token_urlsafe(16),
            "accept-language": "en",
        }
        first = await app.client.request(method.upper(), url, headers=headers, **kwargs)
        after_first = await snapshot(app)
        where = f"{method.upper()} {path} as {role}: {first.status_code} {first.text[:200]}"
        # 503: no video server in the tests; an answer of 500 or more is not kept.
        assert first.status_code < 500 or first.status_code == 503, where
        if (method, path) == ("delete", "/api/v1/session"):
            # Logged out: the same key again is a stranger's request, refused as such.
            again = await app.client.request(method.upper(), url, headers=headers, **kwargs)
            assert again.status_code == 401, again.text
            assert await snapshot(app) == after_first
            continue
        if first.status_code < 300 and "token" in first.text:  # the session was renewed
            tokens[role] = first.json()["token"]
            headers["authorization"] = f"Bearer {tokens[role]}"
        second = await app.client.request(method.upper(), url, headers=headers, **kwargs)
        after_second = await snapshot(app)
        assert second.status_code == first.status_code, where
        assert second.content == first.content, where
        if first.status_code < 500:
            assert second.headers.get("idempotency-replayed") == "answer", where
        assert after_second == after_first, f"the replay changed the database: {where}"
        if first.status_code < 300:
            succeeded.append(f"{method} {path}")
    # The walk is only worth something if most writes really wrote. The virtual class's
    # writes need a video server and a joined room, which this walk has not: they are sent
    # twice like the others (same answer, nothing written twice), but not counted here.
    others = [o for o in operations if not o[1].startswith("/api/v1/virtual/")]
    assert len(succeeded) >= len(others) // 2, (len(succeeded), len(others), succeeded)
    for key in (
        "post /api/v1/conversations",
        "post /api/v1/conversations/{conversation_id}/messages",
        "post /api/v1/homework/{homework_id}/turn-in",
        "post /api/v1/homework",
    ):
        assert key in succeeded, succeeded


async def conversation_of(app: App, school: School) -> tuple[dict[str, str], int]:
    pupil = {"authorization": f"Bearer {await api_token(app.client, 'pupil.a')}"}
    teacher = {"authorization": f"Bearer {await api_token(app.client, 'teacher.a')}"}
    created = await app.client.post(
        "/api/v1/conversations",
        headers=teacher,
        json={"person_ids": [school.people["pupil"]], "subject": "Bonjour", "body": "Salut"},
    )
    assert created.status_code == 201, created.text
    return pupil, int(created.json()["id"])


async def test_a_key_reused_with_another_body_gets_a_sentence(
    app: App, world: dict[str, School]
) -> None:
    pupil, conversation = await conversation_of(app, world["a"])
    headers = {**pupil, "idempotency-key": "same-key-0001", "accept-language": "fr"}
    url = f"/api/v1/conversations/{conversation}/messages"
    first = await app.client.post(url, headers=headers, json={"body": "Merci"})
    assert first.status_code == 201, first.text
    other = await app.client.post(url, headers=headers, json={"body": "Merci beaucoup"})
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "clé" in other.json()["detail"], other.json()  # a French sentence
    assert await count(app, messages_table()) == 2  # the first message and one reply


async def test_a_bad_key_is_refused_with_a_sentence(app: App, world: dict[str, School]) -> None:
    pupil, conversation = await conversation_of(app, world["a"])
    answer = await app.client.post(
        f"/api/v1/conversations/{conversation}/messages",
        headers={**pupil, "idempotency-key": "short", "accept-language": "en"},
        json={"body": "Merci"},
    )
    assert answer.status_code == 400
    assert "8 to 100 printable" in answer.json()["detail"]
    assert await count(app, messages_table()) == 1


async def test_forms_honour_the_header_too(app: App, world: dict[str, School]) -> None:
    school = world["a"]
    _pupil, conversation = await conversation_of(app, school)
    client = app.client_for()
    await login(client, "pupil.a")
    page = await client.get(f"/messages/{conversation}")
    form = {"csrf_token": csrf_from(page.text), "body": "Envoyé deux fois"}
    headers = {"idempotency-key": "form-key-000001"}
    first = await client.post(f"/messages/{conversation}/reply", data=form, headers=headers)
    second = await client.post(f"/messages/{conversation}/reply", data=form, headers=headers)
    assert first.status_code == second.status_code == 302, first.text
    assert first.headers["location"] == second.headers["location"]
    assert second.headers["idempotency-replayed"] == "answer"
    assert await count(app, messages_table()) == 2
    # Another person's same key is another request altogether.
    other = app.client_for()
    await login(other, "teacher.a")
    page = await other.get(f"/messages/{conversation}")
    form["csrf_token"] = csrf_from(page.text)
    third = await other.post(f"/messages/{conversation}/reply", data=form, headers=headers)
    assert third.status_code == 302
    assert "idempotency-replayed" not in third.headers
    assert await count(app, messages_table()) == 3


async def test_committed_but_unanswered_is_told_and_not_written_again(
    app: App, world: dict[str, School]
) -> None:
    """The process died after the write committed and before its answer was kept: the
    record, written in the write's own transaction, says so; the retry writes nothing."""
    from preau.actions.messages.conversations import reply
    from preau.domain.idempotency import fingerprint
    from preau.domain.people import Actor, Profile

    school = world["a"]
    pupil, conversation = await conversation_of(app, school)
    url = f"/api/v1/conversations/{conversation}/messages"
    body = b'{"body":"Pendant la coupure"}'
    actor = Actor(person_id=school.people["pupil"], school_id=school.id, profile=Profile.PUPIL)
    replay, claim, _ = await idempotency.claim(
        app.services,
        school_id=school.id,
        person_id=actor.person_id,
        key="lost-answer-0001",
        fingerprint=fingerprint("POST", url, b"", b"application/json", body),
        method="POST",
        path=url,
    )
    assert replay is Replay.PROCEED
    assert await count(app, idempotency_records) == 0  # nothing recorded before the write
    with idempotency.running(claim):
        await reply(app.services, actor, conversation, "Pendant la coupure")
    assert claim.done  # ... and here the process is killed: no answer kept
    async with app.services.engine.connect() as connection:
        record = (await connection.execute(sa.select(idempotency_records))).one()
    assert record.done_at is not None
    assert record.status is None
    retry = await app.client.post(
        url,
        headers={
            **pupil,
            "idempotency-key": "lost-answer-0001",
            "content-type": "application/json",
            "accept-language": "en",
        },
        content=body,
    )
    assert retry.status_code == 200, retry.text
    assert retry.headers["idempotency-replayed"] == "done"
    assert "already received" in retry.json()["detail"]
    assert await count(app, messages_table()) == 2


async def insert_message(
    connection: Any, school: School, conversation: int, body: str, at: datetime
) -> None:
    from preau.adapters.sql.schema import messages

    await connection.execute(
        messages.insert().values(
            school_id=school.id,
            conversation_id=conversation,
            author_id=school.people["pupil"],
            body=body,
            created_at=at,
        )
    )


async def claim_of(app: App, school: School, key: str) -> tuple[Replay, idempotency.Claim]:
    replay, claim, _ = await idempotency.claim(
        app.services,
        school_id=school.id,
        person_id=school.people["pupil"],
        key=key,
        fingerprint="f" * 64,
        method="POST",
        path="/x",
    )
    return replay, claim


async def test_a_write_that_failed_before_committing_leaves_the_key_free(
    app: App, world: dict[str, School]
) -> None:
    """A claim is recorded only by the commit of its write: a transaction that died leaves
    no claim, and the retry proceeds at once (no lease to wait out)."""

    school = world["a"]
    _pupil, conversation = await conversation_of(app, school)
    replay, claim = await claim_of(app, school, "dies-early-0001")
    assert replay is Replay.PROCEED

    async def dies_before_commit() -> None:
        async with app.services.engine.begin() as connection:
            await insert_message(connection, school, conversation, "Perdu", claim.now)
            raise ConnectionResetError  # the connection dies before the commit

    with idempotency.running(claim), pytest.raises(ConnectionResetError):
        await dies_before_commit()
    assert not claim.done
    assert await count(app, idempotency_records) == 0
    assert await count(app, messages_table()) == 1
    again, _claim = await claim_of(app, school, "dies-early-0001")
    assert again is Replay.PROCEED


async def test_a_holder_whose_connection_was_killed_leaves_no_claim(
    app: App, world: dict[str, School], database_url: str
) -> None:
    """PostgreSQL only: the holder's backend is terminated in the middle of its write (as a
    lost primary or a killed process would end it); the same key proceeds right away."""
    if not database_url.startswith("postgresql"):
        return  # SQLite has no other backend to kill: the rollback case above covers it
    from sqlalchemy.exc import DBAPIError

    from preau.adapters.sql.schema import messages

    school = world["a"]
    _pupil, conversation = await conversation_of(app, school)
    replay, claim = await claim_of(app, school, "killed-holder-01")
    assert replay is Replay.PROCEED
    with idempotency.running(claim):
        try:
            async with app.services.engine.begin() as connection:
                await connection.execute(
                    messages.insert().values(
                        school_id=school.id,
                        conversation_id=conversation,
                        author_id=school.people["pupil"],
                        body="Coupé",
                        created_at=claim.now,
                    )
                )
                async with app.services.engine.connect() as killer:
                    await killer.execute(
                        sa.text("SELECT pg_terminate_backend(:pid)"),
                        {
                            "pid": (
                                await connection.execute(sa.text("SELECT pg_backend_pid()"))
                            ).scalar_one()
                        },
                    )
        except DBAPIError:
            pass
    assert not claim.done
    again, _claim = await claim_of(app, school, "killed-holder-01")
    assert again is Replay.PROCEED
    assert await count(app, idempotency_records) == 0
    assert await count(app, messages_table()) == 1


async def test_two_requests_with_one_key_at_once_write_once(
    app: App, world: dict[str, School]
) -> None:
    """Both looked the key up before either committed: the second commit is refused
    (``ClaimTaken``), its write rolled back, and it is told what the first became."""
    from preau.adapters.sql.schema import messages

    school = world["a"]
    _pupil, conversation = await conversation_of(app, school)
    _first, one = await claim_of(app, school, "twice-at-once-01")
    _second, other = await claim_of(app, school, "twice-at-once-01")
    assert _first is _second is Replay.PROCEED

    async def write(claim: idempotency.Claim, body: str) -> None:
        with idempotency.running(claim):
            async with app.services.engine.begin() as connection:
                await connection.execute(
                    messages.insert().values(
                        school_id=school.id,
                        conversation_id=conversation,
                        author_id=school.people["pupil"],
                        body=body,
                        created_at=claim.now,
                    )
                )

    await write(one, "Premier")
    with pytest.raises(idempotency.ClaimTaken):
        await write(other, "Second")
    assert one.done
    assert not other.done
    assert other.taken
    assert await count(app, messages_table()) == 2  # the conversation's first and "Premier"
    assert await count(app, idempotency_records) == 1
    replay, _answer = await idempotency.replay_of(app.services, other)
    assert replay is Replay.DONE


async def test_records_expire(app: App, world: dict[str, School]) -> None:
    pupil, conversation = await conversation_of(app, world["a"])
    url = f"/api/v1/conversations/{conversation}/messages"
    headers = {**pupil, "idempotency-key": "expires-0000001"}
    assert (await app.client.post(url, headers=headers, json={"body": "Un"})).status_code == 201
    assert await idempotency.purge_expired(app.services) == 0
    clock = app.services.clock
    app.services.clock = lambda: clock() + 25 * 3600
    try:
        assert await idempotency.purge_expired(app.services) == 1
    finally:
        app.services.clock = clock
    assert await count(app, idempotency_records) == 0


def messages_table() -> sa.Table:
    from preau.adapters.sql.schema import messages

    return messages


async def count(app: App, table: sa.Table) -> int:
    async with app.services.engine.connect() as connection:
        return int(
            (await connection.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
        )


_ = httpx  # the client type the helpers hand out
