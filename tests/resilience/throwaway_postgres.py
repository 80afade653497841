"""A PostgreSQL cluster of the test's own, started and stopped at will (never the shared
one on 5432): ``initdb`` into a temporary directory, ``pg_ctl`` on a free port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

BIN = Path(os.environ.get("PREAU_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def available() -> bool:
    return (BIN / "initdb").exists() and (BIN / "pg_ctl").exists()


class ThrowawayPostgres:
    """One cluster in ``directory`` on ``port``; ``start``/``stop`` as often as needed."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = port or free_port()
        self.log = directory / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self) -> dict[str, object]:
        """PostgreSQL refuses to run as root: drop to the ``postgres`` user when we are."""
        if os.geteuid() != 0:
            return {}
        import pwd

        user = pwd.getpwnam("postgres")
        return {"user": user.pw_uid, "group": user.pw_gid}

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        subprocess.run(
            [str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
             "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
            check=True, capture_output=True, **self._as_postgres(),  # type: ignore[call-overload]  # user/group by keyword
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= "
            "-c fsync=off -c max_connections=60 -c shared_buffers=16MB"
        )
        subprocess.run(
            [str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
             "-w", "-t", "30", "start"],
            check=True, capture_output=True, **self._as_postgres(),  # type: ignore[call-overload]  # user/group by keyword
        )  # fmt: skip

    def running(self) -> bool:
        status = subprocess.run(
            [str(BIN / "pg_ctl"), "-D", str(self.data), "status"],
            check=False, capture_output=True, **self._as_postgres(),  # type: ignore[call-overload]  # user/group by keyword
        )  # fmt: skip
        return bool(status.returncode == 0)

    def start_if_stopped(self) -> None:
        if not self.running():
            self.start()

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            [str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop"],
            check=False, capture_output=True, **self._as_postgres(),  # type: ignore[call-overload]  # user/group by keyword
        )  # fmt: skip
