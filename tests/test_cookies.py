"""The cookie contract (``preau.cookies``): the gate reads the very cookies a login sets,
and no other module names a cookie or parses a ``Cookie`` header."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

import preau
from preau import cookies
from preau.bootstrap import build_app, build_services, stop_services
from preau.cookies import DEVICE_COOKIE, SESSION_COOKIE
from preau.gate.settings import GateSettings
from tests.helpers import PASSWORD, as_served, build_world, login, make_settings, serving

SOURCE = Path(preau.__file__).parent
CONTRACT = Path(cookies.__file__)
# What only the contract may define: the functions that read and write cookie headers.
CONTRACT_FUNCTIONS = {"parse_cookies", "cookie_header", "set_cookie"}


async def test_the_gate_reads_the_cookies_a_login_sets(
    engine: AsyncEngine, database_url: str
) -> None:
    """Log in through HTTP, then come back without a pass while the gate is full: the
    device or session cookie the login set puts a teacher in the priority lane."""
    settings = make_settings(database_url, operator_uais="0750001A")
    # Room for the three browsers that log in below; anyone after them waits in line.
    gate = GateSettings(capacity=3, admission_rate_per_s=100.0, adaptive=False, under_attack="off")
    app = build_app(settings, gate)
    seeding = build_services(settings)
    await build_world(seeding, await seeding.passwords.hash(PASSWORD))
    await stop_services(seeding)
    transport = httpx.ASGITransport(app=as_served(app))

    def browser(**cookies: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=cookies)

    async with serving(app), browser() as teacher, browser() as pupil, browser() as operator:
        for person, username in ((teacher, "teacher.a"), (pupil, "pupil.a"), (operator, "admin.a")):
            response = await login(person, username, remember=True)
            assert response.status_code in (302, 303), response.text
            set_by_login = {
                line.partition("=")[0] for line in response.headers.get_list("set-cookie")
            }
            assert {SESSION_COOKIE, DEVICE_COOKIE} <= set_by_login
        arrivals = [
            # The next morning: the session is over, the device is remembered.
            {DEVICE_COOKIE: teacher.cookies[DEVICE_COOKIE]},
            {SESSION_COOKIE: teacher.cookies[SESSION_COOKIE]},
            {name: pupil.cookies[name] for name in (SESSION_COOKIE, DEVICE_COOKIE)},
            {},  # someone who never signed in on this device
        ]
        for cookies_of_arrival in arrivals:
            async with browser(**cookies_of_arrival) as arrival:
                queued = await arrival.get("/home")
                assert queued.status_code == 303
                assert queued.headers["location"].startswith("/gate/wait")
        status = await operator.get("/api/v1/gate")
        assert status.status_code == 200, status.text
        assert status.json()["waiting"] == {
            "priority": 2,
            "known": 1,
            "first_time": 1,
            "deferred": 0,
        }


def test_only_the_contract_names_cookies_and_parses_them() -> None:
    """A cookie named twice can be renamed in one place only, and the other reader then
    silently finds nothing (a teacher loses the gate's priority lane): every cookie name,
    and the code that reads and writes cookie headers, lives in ``preau.cookies``."""
    names = {value for name, value in vars(cookies).items() if name.endswith("_COOKIE")}
    assert names  # the contract itself names them
    found: list[str] = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path == CONTRACT:
            continue
        where = path.relative_to(SOURCE.parent)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{where}:{node.lineno}: the cookie name {node.value!r}")
            elif isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Store):
                target = node.id if isinstance(node, ast.Name) else node.attr
                if target.endswith("_COOKIE"):
                    found.append(f"{where}:{node.lineno}: a cookie-name constant {target}")
            elif (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name in CONTRACT_FUNCTIONS
            ):
                found.append(f"{where}:{node.lineno}: its own {node.name}()")
    assert found == []
