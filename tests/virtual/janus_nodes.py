"""Real Janus processes configured by Préau's own files (``janus_configuration``), on
free loopback ports, that a test can kill and start again."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from preau.domain.virtual import Node, janus_configuration

JANUS = shutil.which("janus") or "/usr/bin/janus"
ADMIN_SECRET = "test-admin-secret-0123456789"
TOKEN_SECRET = "test-token-secret-0123456789"
ROOM_KEY = "test-room-key-0123456789abc"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class JanusProcess:
    node: Node
    folder: Path
    rtp_ports: str
    bind: str = "127.0.0.1"
    allow_origin: str = "*"
    netns: str | None = None  # run inside this network namespace (ip netns exec)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def write_configuration(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        files = janus_configuration(
            self.node,
            configs_folder=str(self.folder),
            bind=self.bind,
            admin_secret=ADMIN_SECRET,
            token_secret=TOKEN_SECRET,
            room_key=ROOM_KEY,
            rtp_ports=self.rtp_ports,
            allow_origin=self.allow_origin,
        )
        for name, text in files.items():
            (self.folder / name).write_text(text)

    def start(self) -> None:
        self.write_configuration()
        command_prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        log = (self.folder / "janus.log").open("ab")
        self.process = subprocess.Popen(
            [
                *(command_prefix or []),
                JANUS,
                "-F",
                str(self.folder),
                "-C",
                str(self.folder / "janus.jcfg"),
                "-o",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.wait_ready()

    def wait_ready(self, seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if answers(self.node.janus_url + "/info", self.netns):
                return
            time.sleep(0.05)
        raise RuntimeError(f"janus {self.node.name} did not start: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.folder / "janus.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def ensure_running(self) -> None:
        if not self.running:
            self.start()


def answers(url: str, netns: str | None = None) -> bool:
    """Whether ``url`` answers 200, asked from inside ``netns`` when given."""
    if netns:
        probe = ["ip", "netns", "exec", netns, "curl", "-sf", "-o", "/dev/null", "-m", "1", url]
        return subprocess.run(probe, check=False, capture_output=True).returncode == 0
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def make_node(
    name: str,
    folder: Path,
    *,
    host: str = "127.0.0.1",
    rtp_base: int = 20000,
    netns: str | None = None,
    allow_origin: str = "*",
    max_participants: int = 200,
) -> JanusProcess:
    janus_port, admin_port = free_port(), free_port()
    node = Node(
        name=name,
        janus_url=f"http://{host}:{janus_port}/janus",
        admin_url=f"http://{host}:{admin_port}/admin",
        max_participants=max_participants,
        max_bitrate=max_participants * 1_000_000,
    )
    return JanusProcess(
        node=node,
        folder=folder,
        rtp_ports=f"{rtp_base}-{rtp_base + 499}",
        netns=netns,
        allow_origin=allow_origin,
    )


def nodes_setting(nodes: list[JanusProcess]) -> str:
    return ",".join(
        f"{n.node.name}|{n.node.janus_url}|{n.node.admin_url}|{n.node.max_participants}|"
        f"{n.node.max_bitrate // 1000}"
        for n in nodes
    )
