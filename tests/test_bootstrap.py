"""The composition root: implementations are picked from the settings in ``bootstrap``
alone, and every application built there gets stores of its own."""

from __future__ import annotations

import ast
import gc
import os
from pathlib import Path

import httpx

import preau
from preau.bootstrap import around, available_cores, build_services, stop_services
from preau.cli import worker_environment
from preau.gate.control import read_gate_status
from preau.gate.settings import GateSettings
from preau.settings import Settings
from tests.gate.gate_app import hello
from tests.helpers import as_served, make_settings, serving

SOURCE = Path(preau.__file__).parent


async def test_applications_built_one_after_another_have_queues_of_their_own(
    tmp_path: Path,
) -> None:
    """The gate's memory store used to live in a module dictionary keyed by ``id(state)``:
    once an application and its shared state were collected, the next one's state could
    get the same address, and with it the old queue and passes (here, a full room). Each
    round builds an application with a fresh memory state and drops it; reusing an address
    happens in a few of them (it did in 1 to 3 of 40 on the code that had the bug)."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'never-opened.sqlite3'}")
    gate = GateSettings(capacity=1, admission_rate_per_s=100.0, adaptive=False, under_attack="off")
    first_answers = []
    for _ in range(40):
        services = build_services(settings)
        app = around(hello, services, settings, gate=gate)
        transport = httpx.ASGITransport(app=as_served(app))
        async with (
            serving(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser,
        ):
            first_answers.append((await browser.get("/home")).status_code)
            # The operators' figures come from the very store the gate admits with.
            assert (await read_gate_status(services.shared.admission, gate)).active == 1
        await stop_services(services)
        del app, services, transport, browser
        gc.collect()
    assert first_answers == [200] * 40  # the first visitor of an empty room gets in


def test_only_bootstrap_tells_memory_from_redis() -> None:
    """Choosing an implementation by looking at another's type (``isinstance(state,
    RedisSharedState)``) makes a second composition root; bootstrap picks them all from
    the settings instead."""
    found: list[str] = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path.name == "bootstrap.py" and path.parent == SOURCE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "isinstance"
                and len(node.args) == 2
            ):
                continue
            kinds = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            for kind in kinds:
                name = kind.id if isinstance(kind, ast.Name) else getattr(kind, "attr", "")
                if name.startswith(("Redis", "Memory")):
                    found.append(f"{path.relative_to(SOURCE.parent)}:{node.lineno}: {name}")
    assert found == []


def test_several_workers_share_the_cores_for_password_hashing() -> None:
    cores = available_cores()
    assert cores == len(os.sched_getaffinity(0))
    assert worker_environment(Settings(), 1) == {}
    shared = worker_environment(Settings(), 2)
    assert shared == {"PREAU_PASSWORD_HASH_CONCURRENCY": str(max(1, cores // 2))}
    # What each worker then reads from its environment.
    assert Settings.from_environ(shared).password_hash_concurrency == max(1, cores // 2)
    assert worker_environment(Settings(), 4 * cores) == {"PREAU_PASSWORD_HASH_CONCURRENCY": "1"}
    # A number set by the operator is theirs.
    assert worker_environment(Settings(password_hash_concurrency=3), 2) == {}
