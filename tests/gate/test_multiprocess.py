"""Several processes on one Redis: capacity holds in total and ticket order holds across
processes; and a process keeps admitting from its own share when Redis goes away.

These run on the system clock, not a manual one: other processes (the gate's workers, a
Redis server) keep their own time, so the waits here are real, with deadlines, and nothing
asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as redis_asyncio
from prometheus_client import REGISTRY

from preau.adapters.clock import SystemClock
from preau.adapters.redis.shared_state import RedisSharedState
from preau.domain.tokens import Signer
from preau.gate.control import update_gate_settings
from preau.gate.settings import GateSettings
from tests.conftest import missing_service
from tests.gate.support import gate_on, shared_beside
from tests.helpers import as_served

from .gate_app import SECRET, hello

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process on port {port} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@pytest.fixture
def app_processes(redis_url: str, redis_prefix: str) -> Iterator[list[str]]:
    environment = {
        **os.environ,
        "PREAU_TEST_REDIS_URL": redis_url,
        "PREAU_TEST_REDIS_PREFIX": redis_prefix,
        "PREAU_GATE_CAPACITY": "5",
        "PREAU_GATE_ADMISSION_RATE_PER_S": "1000",
        "PREAU_GATE_ADAPTIVE": "false",
        "PREAU_GATE_IDLE_TIMEOUT_S": "120",
        "PREAU_GATE_TICKET_IDLE_S": "120",
        "PREAU_GATE_REFRESH_INTERVAL_S": "0.2",
        "PREAU_GATE_FLUSH_INTERVAL_S": "0.5",
        "PREAU_GATE_UNDER_ATTACK": "off",
        "PREAU_GATE_PROCESS_COUNT": "3",
    }
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for _ in range(3):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, str(HERE / "gate_app.py"), str(port)], env=environment
            )
            processes.append(process)
            wait_for_port(port, process)
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


def ticket_number(client: httpx.AsyncClient) -> int:
    token = client.cookies.get("preau_ticket")
    if token is None:
        raise AssertionError("no ticket")
    number: int = Signer(SECRET, "ticket").verify(token, now=time.time())["n"]
    return number


async def test_capacity_and_order_hold_across_processes(  # noqa: C901 - one scenario across three processes, read top to bottom
    app_processes: list[str], redis_url: str, redis_prefix: str
) -> None:
    # Twelve people arrive one after the other, each at a different process.
    people = [httpx.AsyncClient(headers={"accept": "application/json"}) for _ in range(12)]
    admitted: dict[int, int] = {}  # arrival index -> ticket number
    numbers: dict[int, int] = {}
    try:
        for index, person in enumerate(people):
            response = await person.get(app_processes[index % 3] + "/api/home")
            if response.status_code == 200:
                admitted[index] = index + 1
            else:
                assert response.status_code == 429
                numbers[index] = ticket_number(person)

        async def poll_everyone(rounds: int) -> None:
            for round_index in range(rounds):
                for index, person in enumerate(people):
                    if index in admitted:
                        continue
                    url = app_processes[(index + round_index) % 3] + "/gate/status?next=/"
                    if (await person.get(url)).json().get("admitted"):
                        admitted[index] = numbers[index]
                await asyncio.sleep(0.1)

        # On a loaded machine a process's round may come after an arrival stopped waiting
        # for it: those arrivals hold one of the first five tickets and get in at a poll.
        # Tickets are numbered in the order of arrival, whichever process took them.
        assert numbers == {index: index + 1 for index in numbers}
        for _ in range(50):
            if len(admitted) >= 5:
                break
            await poll_everyone(1)
        assert sorted(admitted) == [0, 1, 2, 3, 4]
        await poll_everyone(10)
        assert len(admitted) == 5  # full: nobody else gets in
        state = RedisSharedState(redis_url, prefix=redis_prefix)
        await update_gate_settings(shared_beside(state).admission, GateSettings(), capacity=8)
        await state.close()
        for _ in range(40):
            await poll_everyone(1)
            if len(admitted) >= 8:
                break
        await poll_everyone(5)
        assert len(admitted) == 8
        # The three let in are the next three tickets, whichever process they asked.
        assert sorted(admitted.values()) == list(range(1, 9))
        client = redis_asyncio.Redis.from_url(redis_url)
        # Slots held: passes used, and those admitted but not used yet (nobody here made
        # a second request with their pass).
        active = await client.zcard(redis_prefix + "{gate}:passes") + await client.zcard(
            redis_prefix + "{gate}:unused"
        )
        await client.aclose()
        assert active == 8
    finally:
        for person in people:
            await person.aclose()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], int]]:
    port = free_port()
    command = [
        "redis-server",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    try:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    except FileNotFoundError:
        missing_service("redis-server is not installed (apt-get install redis-server)")
    wait_for_port(port, process)
    yield f"redis://127.0.0.1:{port}/0", process, port
    if process.poll() is None:
        process.kill()
        process.wait(5)


def metric(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


async def test_redis_down_admits_a_share_and_fails_open(
    own_redis: tuple[str, subprocess.Popen[bytes], int],
) -> None:
    url, server, _ = own_redis
    state = RedisSharedState(url, prefix="down-test:")
    settings = GateSettings(
        capacity=4,
        process_count=2,
        admission_rate_per_s=100,
        adaptive=False,
        refresh_interval_s=0.1,
        flush_interval_s=0.2,
        under_attack="off",
        rate_limit_address="40/minute",
    )
    gate = gate_on(hello, settings=settings, secret_key=SECRET, state=state, clock=SystemClock())
    transport = httpx.ASGITransport(app=as_served(gate))

    def person() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=transport,
            base_url="http://preau.test",
            headers={"accept": "application/json"},
        )

    early = person()
    try:
        assert (await early.get("/api/home")).status_code == 200
        errors_before = metric("preau_gate_shared_state_errors_total", {"operation": "join"})
        fail_open_before = metric("preau_rate_limit_fail_open_total", {"limiter": "gate:address"})
        server.kill()
        server.wait(5)
        # Someone already admitted carries on: the pass is checked without Redis.
        assert (await early.get("/api/home")).status_code == 200
        late = [person() for _ in range(4)]
        # One after the other, in order: the comprehension awaits each in turn.
        answers = [(await newcomer.get("/api/home")).status_code for newcomer in late]
        # This process's share is capacity ÷ process count = 2.
        assert answers == [200, 200, 429, 429]
        assert gate.runtime.degraded
        assert metric("preau_gate_degraded") == 1
        assert metric("preau_gate_shared_state_errors_total", {"operation": "join"}) > errors_before
        # The address limit (batch of 2 at 40/minute) reached for Redis and let requests pass.
        for _ in range(6):
            assert (await late[0].get("/gate/status?next=/")).status_code == 200
        assert (
            metric("preau_rate_limit_fail_open_total", {"limiter": "gate:address"})
            > fail_open_before
        )
        for newcomer in late:
            await newcomer.aclose()
    finally:
        await early.aclose()
        await gate.stop()
        await state.close()
