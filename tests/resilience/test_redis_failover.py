"""The shared state follows a Redis failover when given Sentinels: a primary, its
replica and a Sentinel of the test's own (free ports, never the shared Redis), the
primary killed, the same client writing to the promoted replica."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from preau.adapters.redis.shared_state import RedisSharedState
from preau.ports import SharedStateUnavailable
from tests.conftest import missing_service
from tests.resilience.throwaway_postgres import free_port


@pytest.fixture
def redis_with_sentinel() -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    server = shutil.which("redis-server")
    if server is None:
        missing_service("redis-server is not installed")
        raise AssertionError  # unreachable: missing_service skips or fails
    directory = Path(tempfile.mkdtemp(prefix="preau-redis-"))
    primary_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(directory)]
    processes = [
        subprocess.Popen([server, "--port", str(primary_port), *common]),
        subprocess.Popen(
            [
                server,
                "--port",
                str(replica_port),
                *common,
                "--replicaof",
                "127.0.0.1",
                str(primary_port),
            ]
        ),
    ]
    config = directory / "sentinel.conf"
    config.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {directory}\n"
        f"sentinel monitor test 127.0.0.1 {primary_port} 1\n"
        "sentinel down-after-milliseconds test 1000\n"
        "sentinel failover-timeout test 5000\n",
        encoding="utf-8",
    )
    processes.append(subprocess.Popen([server, str(config), "--sentinel"]))
    try:
        yield processes[0], sentinel_port, replica_port
    finally:
        for process in processes:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


async def until(check: object, within: float) -> bool:
    for _ in range(int(within * 10)):
        try:
            if callable(check) and await check():
                return True
        except SharedStateUnavailable:
            pass
        await asyncio.sleep(0.1)
    return False


async def test_shared_state_follows_a_sentinel_failover(
    redis_with_sentinel: tuple[subprocess.Popen[bytes], int, int],
) -> None:
    primary, sentinel_port, replica_port = redis_with_sentinel
    state = RedisSharedState(
        "", prefix="failover:", sentinels=[("127.0.0.1", sentinel_port)], master="test"
    )
    try:
        assert await until(_writes(state, b"before"), 10), "the Sentinel named no primary"
        assert await state.get("k") == b"before"

        async def replicated() -> bool:
            info = await state.client.info("replication")
            return int(info.get("connected_slaves", 0)) == 1 and (
                int(info.get("slave0", {}).get("offset", 0)) >= int(info["master_repl_offset"])
            )

        assert await until(replicated, 10)
        watcher = state._sentinels.sentinels[0]  # type: ignore[union-attr]  # given above

        async def replica_known() -> bool:
            # A Sentinel learns of replicas from the primary's INFO, every 10 s at first:
            # it can promote none before.
            found = await watcher.execute_command("SENTINEL", "REPLICAS", "test")
            return len(found) == 1

        assert await until(replica_known, 20)
        primary.send_signal(signal.SIGKILL)
        primary.wait()
        # The same client, with no new configuration, writes to the promoted replica.
        assert await until(_writes(state, b"after"), 30), "no write reached a new primary"
        assert await state.get("k") == b"after"
        host, port = await state.client.connection_pool.get_master_address()  # type: ignore[attr-defined]  # a SentinelConnectionPool
        assert (host, int(port)) == ("127.0.0.1", replica_port)
    finally:
        await state.close()


def _writes(state: RedisSharedState, value: bytes) -> object:
    async def write() -> bool:
        await state.set("k", value)
        return True

    return write
