"""Préau on one machine, the way it runs in production: nginx in front of N app processes.

``up`` creates the ``preau_cluster`` PostgreSQL database when absent, migrates it, seeds
the demo school (and with ``--size academie`` the load-test data, see ``seed``), starts N
``preau serve --port P`` processes (granian, 127.0.0.1) sharing Redis and one secret key,
then nginx on 127.0.0.1:8080 with an upstream of those ports.
Everything it starts is recorded by a pid file under ``var/cluster``; ``down`` stops
exactly those processes and nothing else. ``status`` tells which are running. ``seed
--size small|academie`` runs ``preau demo --size`` with the cluster's secret and writes the
load test's logins (device credentials included) to ``var/cluster/people-SIZE.csv``.

Run it with the project's virtual environment (``make cluster``, ``make cluster-down``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / "var" / "cluster"
ENV_FILE = RUN_DIR / "env"
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
BIN = Path(sys.executable).parent
POSTGRES_ADMIN = os.environ.get("CLUSTER_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = "preau_cluster"
REDIS_URL = os.environ.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/0")
NGINX = os.environ.get("CLUSTER_NGINX", shutil.which("nginx") or "/usr/sbin/nginx")


def log(message: str) -> None:
    print(f"cluster: {message}", flush=True)


# Settings


def secret_key() -> str:
    """The cluster's secret, generated once and kept in ``var/cluster/env``."""
    if ENV_FILE.exists():
        for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            if name == "PREAU_SECRET_KEY" and len(value.strip("'\"")) >= 32:
                return value.strip("'\"")
    key = secrets.token_urlsafe(48)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    ENV_FILE.write_text(f"export PREAU_SECRET_KEY={key}\n", encoding="utf-8")
    ENV_FILE.chmod(0o600)
    return key


def cluster_environ(workers: int, listen_port: int) -> dict[str, str]:
    """The app processes' environment: production-like settings on PostgreSQL and Redis."""
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    environ = dict(os.environ)
    environ.update(
        {
            "PREAU_DATABASE_URL": f"{base}/{DATABASE}",
            "PREAU_REDIS_URL": REDIS_URL,
            "PREAU_REDIS_PREFIX": "preau-cluster:",
            "PREAU_SECRET_KEY": secret_key(),
            "PREAU_REQUIRE_SECRET": "true",
            "PREAU_LOG_JSON": "true",
            "PREAU_ACCESS_LOG": "false",  # nginx logs each request, with its X-Request-Id
            "PREAU_FILES_DIR": str(RUN_DIR / "files"),
            "PREAU_BASE_URL": f"http://127.0.0.1:{listen_port}",
            "PREAU_GATE_PROCESS_COUNT": str(workers),
        }
    )
    environ.setdefault("PREAU_OPERATOR_UAIS", "0751234A")  # the demo school's admin
    return environ


# Database


async def create_database() -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{DATABASE}"')
            log(f"created the database {DATABASE}")
    finally:
        await connection.close()


def prepare_database(environ: dict[str, str]) -> list[tuple[str, str, str]]:
    """Create, migrate and seed; the demo logins as (profile, username, secret)."""
    asyncio.run(create_database())
    subprocess.run([str(BIN / "preau"), "migrate"], env=environ, check=True, cwd=ROOT)  # noqa: S603
    code = (
        "import json\n"
        "from preau.demo.school import seed_demo\n"
        "from preau.cli import run_with_services\n"
        "logins = run_with_services(seed_demo)\n"
        "print(json.dumps([[l.profile, l.username, l.secret] for l in logins]))\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env=environ,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return [tuple(row) for row in json.loads(result.stdout.strip().splitlines()[-1])]


def people_file(size: str) -> Path:
    """The load test's logins for a seeded size, signed with the cluster's secret."""
    return RUN_DIR / f"people-{size}.csv"


def seed_size(environ: dict[str, str], size: str) -> Path:
    """Seed ``preau demo --size`` (made once; each run re-issues codes and device credentials)."""
    path = people_file(size)
    log(f"seeding the '{size}' demo data (once; logins rewritten to {path.relative_to(ROOT)})")
    subprocess.run(  # noqa: S603 - our own preau command
        [str(BIN / "preau"), "demo", "--size", size, "--people-file", str(path)],
        env=environ,
        check=True,
        cwd=ROOT,
    )
    return path


# Processes and pid files


def pid_files() -> list[Path]:
    return sorted(RUN_DIR.glob("*.pid")) if RUN_DIR.exists() else []


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def is_ours(path: Path, pid: int) -> bool:
    """Whether ``pid`` is still the process this pid file recorded (not a recycled pid)."""
    line = command_line(pid)
    if path.name == "nginx.pid":
        return "nginx" in line and str(RUN_DIR) in line
    port = path.stem.removeprefix("app-")
    return "preau" in line and "serve" in line and f"--port {port}" in line


def running() -> dict[Path, int]:
    alive = {}
    for path in pid_files():
        pid = read_pid(path)
        if pid is not None and is_ours(path, pid):
            alive[path] = pid
    return alive


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"cluster: {url} — the process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - local URL
                if answer.status == 200:
                    return
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
        except OSError as error:
            last = str(error)
        time.sleep(0.2)
    raise SystemExit(f"cluster: {url} was not ready after {timeout:.0f} s ({last})")


def start_app(port: int, environ: dict[str, str]) -> subprocess.Popen[bytes]:
    log_path = RUN_DIR / f"app-{port}.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own preau command
            [str(BIN / "preau"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={**environ, "PREAU_PORT": str(port)},
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
        )
    (RUN_DIR / f"app-{port}.pid").write_text(f"{process.pid}\n", encoding="utf-8")
    return process


def render_nginx(ports: list[int], listen_port: int, workers: int) -> Path:
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (RUN_DIR / "nginx-tmp" / name).mkdir(parents=True, exist_ok=True)
    text = string.Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        user_directive="user root;" if os.geteuid() == 0 else "",
        run_dir=str(RUN_DIR),
        workers=workers,
        listen=f"127.0.0.1:{listen_port}",
        max_body_mb=int(os.environ.get("PREAU_FILES_MAX_UPLOAD_MB", "20")) + 5,
        upstream_servers="\n".join(
            f"        server 127.0.0.1:{port} max_fails=3 fail_timeout=5s;" for port in ports
        ),
    )
    path = RUN_DIR / "nginx.conf"
    path.write_text(text, encoding="utf-8")
    return path


def start_nginx(config: Path) -> None:
    prefix = str(RUN_DIR) + "/"
    subprocess.run([NGINX, "-t", "-q", "-p", prefix, "-c", str(config)], check=True)  # noqa: S603
    # nginx daemonises and writes var/cluster/nginx.pid itself.
    subprocess.run([NGINX, "-p", prefix, "-c", str(config)], check=True)  # noqa: S603


# Commands


def up(args: argparse.Namespace) -> int:
    if running():
        log("already running (make cluster-down first); status:")
        return status(args)
    workers, listen_port = args.workers, args.listen_port
    ports = [args.base_port + index for index in range(workers)]
    busy = [port for port in [*ports, listen_port] if not port_free(port)]
    if busy:
        raise SystemExit(f"cluster: ports already in use: {', '.join(map(str, busy))}")
    if not Path(NGINX).exists():
        raise SystemExit("cluster: nginx is missing (apt-get install -y nginx-light)")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    for stale in pid_files():
        stale.unlink()
    environ = cluster_environ(workers, listen_port)
    logins = prepare_database(environ)
    if args.size:
        seed_size(environ, args.size)
    processes = [start_app(port, environ) for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_http(f"http://127.0.0.1:{port}/healthz", 30, process)
        start_nginx(render_nginx(ports, listen_port, workers))
        url = f"http://127.0.0.1:{listen_port}"
        wait_http(f"{url}/readyz", 30)
    except BaseException:
        log("start failed; stopping what was started (logs in var/cluster/)")
        down(args)
        raise
    log(f"{workers} app processes on ports {', '.join(map(str, ports))}, nginx on {url}")
    log(f"logs: {RUN_DIR.relative_to(ROOT)}/app-*.log, nginx-access.log (JSON lines)")
    print(f"\nPréau is ready on {url}  (stop it with: make cluster-down)\n")
    print("Demo logins:")
    for profile, username, secret in logins:
        print(f"  {profile:<10} {username:<20} {secret}")
    return 0


def seed(args: argparse.Namespace) -> int:
    """Seed a demo size into the cluster's database, running or not."""
    environ = cluster_environ(args.workers, args.listen_port)
    asyncio.run(create_database())
    subprocess.run([str(BIN / "preau"), "migrate"], env=environ, check=True, cwd=ROOT)  # noqa: S603
    seed_size(environ, args.size)
    return 0


def stop(path: Path, pid: int, timeout: float = 10) -> None:
    # nginx: QUIT finishes the requests in flight; uvicorn: TERM does the same.
    os.kill(pid, signal.SIGQUIT if path.name == "nginx.pid" else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and is_ours(path, pid):
        time.sleep(0.1)
    if is_ours(path, pid):
        log(f"{path.stem} (pid {pid}) did not stop in {timeout:.0f} s; killing it")
        os.kill(pid, signal.SIGKILL)


def down(args: argparse.Namespace) -> int:
    alive = running()
    # nginx first, so no request reaches an app process that is stopping.
    order = sorted(alive, key=lambda path: path.name != "nginx.pid")
    for path in order:
        log(f"stopping {path.stem} (pid {alive[path]})")
        stop(path, alive[path])
    for path in pid_files():
        if path not in alive and path.name != "nginx.pid":
            log(f"{path.stem} was not running")
        path.unlink(missing_ok=True)
    if not alive:
        log("nothing was running")
    return 0


def status(args: argparse.Namespace) -> int:
    files = pid_files()
    if not files:
        log("not running")
        return 1
    alive = running()
    for path in files:
        state = f"running (pid {alive[path]})" if path in alive else "not running"
        log(f"{path.stem}: {state}")
    return 0 if len(alive) == len(files) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start nginx and N app processes")
    start.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("CLUSTER_WORKERS") or 2),
        help="app processes (default CLUSTER_WORKERS or 2)",
    )
    start.add_argument("--base-port", type=int, default=8101, help="first app port (8101)")
    start.add_argument("--listen-port", type=int, default=8080, help="nginx's port (8080)")
    start.add_argument(
        "--size",
        choices=("small", "academie"),
        default=os.environ.get("CLUSTER_SIZE") or None,
        help="also seed `preau demo --size` (people file in var/cluster/people-SIZE.csv)",
    )
    start.set_defaults(run=up)
    seeding = commands.add_parser(
        "seed", help="seed `preau demo --size` into the cluster's database"
    )
    seeding.add_argument("--size", choices=("small", "academie"), default="academie")
    seeding.set_defaults(
        run=seed, workers=int(os.environ.get("CLUSTER_WORKERS") or 2), listen_port=8080
    )
    commands.add_parser("down", help="stop what up started").set_defaults(run=down)
    commands.add_parser("status", help="which processes run").set_defaults(run=status)
    args = parser.parse_args()
    if getattr(args, "workers", 1) < 1:
        parser.error("--workers must be at least 1")
    os.chdir(ROOT)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
