"""Self-service password reset through HTTP: the link goes by email (the file backend),
works once, for 30 minutes; asking answers the same whether the account exists or not;
requests are rate-limited per account and per address."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.actions.password_resets import pending_mail
from preau.adapters.sql.schema import password_resets, people
from tests.helpers import (
    PASSWORD,
    App,
    School,
    build_world,
    csrf_from,
    login,
    make_settings,
    running_app,
)

NEW_PASSWORD = "a brand new passphrase"


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(
    engine: AsyncEngine, database_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[App]:
    del engine  # empties the tables after the test
    settings = make_settings(database_url, mail_file=str(tmp_path / "mail.mbox"))
    async with running_app(settings) as running:
        running.services.clock = clock
        yield running


@pytest.fixture
async def world(app: App) -> dict[str, School]:
    found = await build_world(app.services, await app.services.passwords.hash(PASSWORD))
    async with app.services.engine.begin() as connection:
        await connection.execute(
            people.update()
            .where(people.c.username == "parent.a")
            .values(email="Parent.A@example.org")
        )
    return found


def browser(app: App) -> httpx.AsyncClient:
    return app.client_for(headers={"accept-language": "en"})


async def ask(client: httpx.AsyncClient, account: str) -> httpx.Response:
    page = await client.get("/password/forgot")
    return await client.post(
        "/password/forgot", data={"account": account, "csrf_token": csrf_from(page.text)}
    )


async def links_sent(app: App) -> list[str]:
    """The reset tokens mailed so far, one per mail (each says it in French and English)."""
    await pending_mail()
    return tokens_in(Path(app.services.settings.mail_file))


def tokens_in(path: Path) -> list[str]:
    if not path.exists():
        return []
    found: list[str] = []
    for raw in path.read_bytes().split(b"From preau\n")[1:]:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_content()
        tokens = set(re.findall(r"http://\S+/password/reset/(\S+)", body))
        assert len(tokens) == 1, body
        found += tokens
    return found


async def choose(
    client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD
) -> httpx.Response:
    page = await client.get(f"/password/reset/{token}")
    csrf = csrf_from(page.text)
    return await client.post(
        f"/password/reset/{token}",
        data={"password": password, "password_again": password, "csrf_token": csrf},
    )


async def test_the_answer_is_the_same_whether_the_account_exists_or_not(
    app: App, world: dict[str, School]
) -> None:
    del world
    client = browser(app)
    answers = [
        await ask(client, account)
        for account in ("parent.a", "pupil.a", "nobody.here", "nobody@example.org")
    ]
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.text for answer in answers}) == 1
    assert "If this account exists and has an email address" in answers[0].text
    # Only the account with an address got a mail (pupil.a has none).
    assert len(await links_sent(app)) == 1


async def test_a_link_sets_a_new_password_once_and_ends_every_session(
    app: App, world: dict[str, School], clock: Clock
) -> None:
    del world
    signed_in = browser(app)
    await login(signed_in, "parent.a")
    assert (await signed_in.get("/home")).status_code == 200
    client = browser(app)
    await ask(client, "parent.a@example.org")  # by address, in any case
    (token,) = await links_sent(app)
    async with app.services.engine.connect() as connection:
        stored = (await connection.execute(sa.select(password_resets.c.token_hash))).scalar_one()
    assert token not in stored  # kept hashed
    clock.now += 60
    done = await choose(client, token)
    clock.now += 1
    assert done.status_code == 200
    assert "Your new password is saved" in done.text
    assert (await login(browser(app), "parent.a", NEW_PASSWORD)).status_code in (302, 303)
    assert (await login(browser(app), "parent.a", PASSWORD)).status_code == 401
    ended = await signed_in.get("/home")
    assert ended.status_code in (302, 303, 401)  # the session from before is over
    again = await choose(browser(app), token, "yet another passphrase")
    assert again.status_code == 400
    assert "expired or was already used" in again.text
    assert (await login(browser(app), "parent.a", "yet another passphrase")).status_code == 401


async def test_a_link_expires_after_30_minutes_and_a_new_one_voids_the_old(
    app: App, world: dict[str, School], clock: Clock
) -> None:
    del world
    client = browser(app)
    await ask(client, "parent.a")
    (first,) = await links_sent(app)
    await ask(client, "parent.a")
    second = (await links_sent(app))[1]
    assert (await client.get(f"/password/reset/{first}")).status_code == 400
    clock.now += 31 * 60
    late = await client.get(f"/password/reset/{second}")
    assert late.status_code == 400
    assert "expired or was already used" in late.text
    refused = await client.post(
        f"/password/reset/{second}",
        data={
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
            "csrf_token": csrf_from(late.text),
        },
    )
    assert refused.status_code == 400
    assert (await login(browser(app), "parent.a", PASSWORD)).status_code in (302, 303)


async def test_requests_are_limited_per_account_alike_for_unknown_ones(
    app: App, world: dict[str, School]
) -> None:
    del world
    client = browser(app)
    for account in ("parent.a", "nobody.here"):
        answers = [await ask(client, account) for _ in range(4)]
        assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
        assert "Too many reset requests" in answers[-1].text
        assert answers[-1].headers["retry-after"] == "3600"
    assert len(await links_sent(app)) == 3


async def test_a_bad_password_or_an_empty_request_is_a_sentence(
    app: App, world: dict[str, School]
) -> None:
    del world
    client = browser(app)
    empty = await ask(client, "   ")
    assert empty.status_code == 400
    assert "Write your username or your email address." in empty.text
    await ask(client, "parent.a")
    (token,) = await links_sent(app)
    short = await choose(client, token, "short")
    assert short.status_code == 400
    assert "at least" in short.text
    assert (await choose(client, token)).status_code == 200  # the link still works after


async def test_the_school_gives_a_new_single_use_code(app: App, world: dict[str, School]) -> None:
    admin = browser(app)
    await login(admin, "admin.a")
    person = await admin.get(f"/admin/people/{world['a'].people['pupil']}")
    reset = await admin.post(
        f"/admin/people/{world['a'].people['pupil']}/reset",
        data={"csrf_token": csrf_from(person.text)},
    )
    assert reset.status_code == 200
    code = re.search(r'<code class="code">([A-Z0-9-]+)</code>', reset.text)
    assert code, reset.text
    assert (await login(browser(app), "pupil.a", PASSWORD)).status_code == 401

    async def activate(password: str) -> httpx.Response:
        client = browser(app)
        page = await client.get("/activate")
        return await client.post(
            "/activate",
            data={
                "username": "pupil.a",
                "code": code.group(1),
                "password": password,
                "password_again": password,
                "csrf_token": csrf_from(page.text),
            },
        )

    assert (await activate(NEW_PASSWORD)).status_code in (302, 303)
    assert (await activate("yet another passphrase")).status_code == 401
