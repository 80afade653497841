"""Préau on one machine on highly available parts, from Debian packages (``make cluster-ha``).

``up`` starts, under ``var/cluster-ha`` (each with a pid file, its log and its config):

- etcd (one member, 127.0.0.1:23790), the store Patroni keeps its leader lock in;
- two Patroni nodes, each running a PostgreSQL (ports 5433 and 5434, REST API 8008 and
  8009): a primary and a streaming replica in synchronous mode, so a commit the
  primary acknowledges is on the replica too and a promotion loses none;
- HAProxy: 127.0.0.1:5440 goes to whichever node answers ``GET /primary`` on its Patroni
  API (writes and everything else), 5441 to a replica (``GET /replica``);
- Redis: a primary (6390), its replica (6391) and three Sentinels (26390-26392, quorum
  2) that promote the replica when the primary dies;
- N ``preau serve`` (8111…) on HAProxy's port and the Sentinels
  (``PREAU_REDIS_SENTINELS``), behind nginx on 127.0.0.1:8090.

``down`` stops exactly those processes (the pids it recorded, checked against their
command lines), in the reverse order; ``status`` says which run. The drills
(``bench/drills.py``, docs/reliability.md) break them on purpose.

The app processes, nginx, the database and the demo logins are made by the functions of
``deploy/cluster.py`` (``make cluster``), pointed at this directory.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import cluster as base  # deploy/cluster.py, beside this file

ROOT = base.ROOT
RUN_DIR = ROOT / "var" / "cluster-ha"
PG_BIN = Path(os.environ.get("CLUSTER_PG_BIN", "/usr/lib/postgresql/15/bin"))
ETCD_PORT, ETCD_PEER_PORT = 23790, 23800
PG_PORTS = (5433, 5434)
PATRONI_PORTS = (8008, 8009)
PRIMARY_PORT, REPLICA_PORT = 5440, 5441
REDIS_PORTS = (6390, 6391)
SENTINEL_PORTS = (26390, 26391, 26392)
SENTINEL_MASTER = "preau"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
APP_BASE_PORT, LISTEN_PORT = 8111, 8090
DATABASE_ADMIN = f"postgresql://postgres@127.0.0.1:{PRIMARY_PORT}/postgres"
SENTINELS = ",".join(f"127.0.0.1:{port}" for port in SENTINEL_PORTS)
# What each pid file's process must still show on its command line to be ours.
MARKS = {
    "etcd": "etcd",
    "patroni": "patroni",
    "haproxy": "haproxy",
    "redis": "redis-server",
    "sentinel": "redis-sentinel",
}


def log(message: str) -> None:
    print(f"cluster-ha: {message}", flush=True)


def postgres_user() -> dict[str, int]:
    """PostgreSQL refuses to run as root: Patroni runs as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam("postgres")
    return {"user": user.pw_uid, "group": user.pw_gid}


def start(name: str, command: list[str], *, as_postgres: bool = False) -> int:
    log_path = RUN_DIR / f"{name}.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(  # noqa: S603 - Debian's binaries, our configuration
            command,
            cwd=RUN_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
            **(postgres_user() if as_postgres else {}),  # type: ignore[arg-type]  # user/group
        )
    (RUN_DIR / f"{name}.pid").write_text(f"{process.pid}\n", encoding="utf-8")
    return process.pid


def is_ours(path: Path, pid: int) -> bool:
    line = base.command_line(pid)
    kind = path.stem.split("-", 1)[0]
    if kind in ("app", "nginx"):
        return base.is_ours(path, pid)
    if kind in ("redis", "sentinel"):  # Redis rewrites its title to "redis-server host:port"
        ports = REDIS_PORTS if kind == "redis" else SENTINEL_PORTS
        index = int(path.stem.rsplit("-", 1)[1])
        return MARKS[kind] in line and f"127.0.0.1:{ports[index]}" in line
    return MARKS.get(kind, "\0") in line and str(RUN_DIR) in line


def running() -> dict[Path, int]:
    alive = {}
    for path in sorted(RUN_DIR.glob("*.pid")) if RUN_DIR.exists() else []:
        pid = base.read_pid(path)
        if pid is not None and is_ours(path, pid):
            alive[path] = pid
    return alive


def wait_for(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.3)
    raise SystemExit(f"cluster-ha: {what} was not ready after {timeout:.0f} s (logs in {RUN_DIR})")


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 - local URL
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


# The parts


def start_etcd() -> None:
    data = RUN_DIR / "etcd"
    start(
        "etcd",
        [
            "etcd", "--name", "preau-etcd", "--data-dir", str(data), "--enable-v2=true",
            "--listen-client-urls", f"http://127.0.0.1:{ETCD_PORT}",
            "--advertise-client-urls", f"http://127.0.0.1:{ETCD_PORT}",
            "--listen-peer-urls", f"http://127.0.0.1:{ETCD_PEER_PORT}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{ETCD_PEER_PORT}",
            "--initial-cluster", f"preau-etcd=http://127.0.0.1:{ETCD_PEER_PORT}",
        ],
    )  # fmt: skip
    wait_for("etcd", lambda: http_status(f"http://127.0.0.1:{ETCD_PORT}/health") == 200, 30)


def patroni_config(index: int) -> Path:
    node = RUN_DIR / f"pg{index}"
    node.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(node, "postgres", "postgres")
        node.chmod(0o700)
    text = f"""scope: preau
namespace: /preau-cluster-ha/
name: pg{index}
restapi:
  listen: 127.0.0.1:{PATRONI_PORTS[index]}
  connect_address: 127.0.0.1:{PATRONI_PORTS[index]}
etcd:
  host: 127.0.0.1:{ETCD_PORT}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 6
        max_replication_slots: 6
        max_connections: 200
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  pg_hba:
    - host replication replicator 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
    - local all all trust
postgresql:
  listen: 127.0.0.1:{PG_PORTS[index]}
  connect_address: 127.0.0.1:{PG_PORTS[index]}
  data_dir: {node}/data
  bin_dir: {PG_BIN}
  pgpass: {node}/pgpass
  authentication:
    replication:
      username: replicator
      password: replicator
    superuser:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: {node}
    shared_buffers: 64MB
"""
    path = RUN_DIR / f"patroni-{index}.yml"
    path.write_text(text, encoding="utf-8")
    return path


def start_patroni() -> None:
    for index in range(2):
        start(f"patroni-{index}", ["patroni", str(patroni_config(index))], as_postgres=True)
        if index == 0:  # the first becomes the primary, then the other clones it
            wait_for("the PostgreSQL primary", lambda: primary_index() == 0, 90)
    replica = f"http://127.0.0.1:{PATRONI_PORTS[1]}/replica"
    wait_for("the PostgreSQL replica", lambda: http_status(replica) == 200, 90)


def primary_index() -> int | None:
    for index, port in enumerate(PATRONI_PORTS):
        if http_status(f"http://127.0.0.1:{port}/primary") == 200:
            return index
    return None


def start_haproxy() -> None:
    def servers(check: str) -> str:
        return (
            "\n".join(
                f"  server pg{index} 127.0.0.1:{pg} check port {api}"
                for index, (pg, api) in enumerate(zip(PG_PORTS, PATRONI_PORTS, strict=True))
            )
            + f"\n  option httpchk GET /{check}\n  http-check expect status 200\n"
        )

    text = f"""global
  maxconn 1000
defaults
  mode tcp
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 2s
  default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
listen primary
  bind 127.0.0.1:{PRIMARY_PORT}
{servers("primary")}
listen replicas
  bind 127.0.0.1:{REPLICA_PORT}
{servers("replica")}
"""
    path = RUN_DIR / "haproxy.cfg"
    path.write_text(text, encoding="utf-8")
    start("haproxy", ["haproxy", "-db", "-f", str(path)])
    wait_for("HAProxy", lambda: base.port_free(PRIMARY_PORT) is False, 10)


def redis_alive(port: int) -> bool:
    return (
        subprocess.run(  # noqa: S603 - Debian's redis-cli
            [REDIS_CLI, "-p", str(port), "ping"], capture_output=True, check=False
        ).stdout.strip()
        == b"PONG"
    )


def start_redis_node(index: int, primary_port: int | None) -> None:
    """One Redis server; a replica of ``primary_port`` unless that is its own port."""
    port = REDIS_PORTS[index]
    directory = RUN_DIR / f"redis-{index}"
    directory.mkdir(exist_ok=True)
    command = [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
        "--save", "", "--appendonly", "no", "--daemonize", "no",
    ]  # fmt: skip
    if primary_port is not None and primary_port != port:
        command += ["--replicaof", "127.0.0.1", str(primary_port)]
    start(f"redis-{index}", command)


def redis_primary_port() -> int | None:
    """The Redis primary's port as a Sentinel names it (None: none answers)."""
    for port in SENTINEL_PORTS:
        answer = subprocess.run(  # noqa: S603 - Debian's redis-cli
            [REDIS_CLI, "-p", str(port), "sentinel", "get-master-addr-by-name", SENTINEL_MASTER],
            capture_output=True, check=False, text=True,
        )  # fmt: skip
        lines = answer.stdout.split()
        if len(lines) == 2 and lines[1].isdigit():
            return int(lines[1])
    return None


def start_redis() -> None:
    for index in range(len(REDIS_PORTS)):
        start_redis_node(index, REDIS_PORTS[0])
    wait_for("Redis", lambda: all(redis_alive(port) for port in REDIS_PORTS), 15)
    for index, port in enumerate(SENTINEL_PORTS):
        path = RUN_DIR / f"sentinel-{index}.conf"
        path.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {RUN_DIR}\n"
            f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {REDIS_PORTS[0]} 2\n"
            f"sentinel down-after-milliseconds {SENTINEL_MASTER} 2000\n"
            f"sentinel failover-timeout {SENTINEL_MASTER} 10000\n"
            f"sentinel parallel-syncs {SENTINEL_MASTER} 1\n",
            encoding="utf-8",
        )
        start(f"sentinel-{index}", ["redis-sentinel", str(path)])
    wait_for("the Sentinels", lambda: all(redis_alive(port) for port in SENTINEL_PORTS), 15)


def app_environ(workers: int) -> dict[str, str]:
    environ = base.cluster_environ(workers, LISTEN_PORT)
    environ.update(
        {
            # CLUSTER_HA_DATABASE_PORT: the drills' delay proxy in front of HAProxy.
            "PREAU_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:"
            f"{os.environ.get('CLUSTER_HA_DATABASE_PORT') or PRIMARY_PORT}/{base.DATABASE}",
            "PREAU_REDIS_URL": "",
            "PREAU_REDIS_SENTINELS": SENTINELS,
            "PREAU_REDIS_SENTINEL_MASTER": SENTINEL_MASTER,
            "PREAU_REDIS_PREFIX": "preau-cluster-ha:",
            "PREAU_FILES_DIR": str(RUN_DIR / "files"),
        }
    )  # fmt: skip
    return environ


def point_base_here() -> None:
    """``deploy/cluster.py``'s app, nginx and database functions, on this cluster."""
    base.RUN_DIR = RUN_DIR
    base.ENV_FILE = RUN_DIR / "env"
    base.POSTGRES_ADMIN = DATABASE_ADMIN


# Commands


def up(args: argparse.Namespace) -> int:
    if running():
        log("already running (make cluster-down first)")
        return status(args)
    ports = [APP_BASE_PORT + index for index in range(args.workers)]
    wanted = [ETCD_PORT, ETCD_PEER_PORT, *PG_PORTS, *PATRONI_PORTS, PRIMARY_PORT, REPLICA_PORT,
              *REDIS_PORTS, *SENTINEL_PORTS, *ports, LISTEN_PORT]  # fmt: skip
    busy = [port for port in wanted if not base.port_free(port)]
    if busy:
        raise SystemExit(f"cluster-ha: ports already in use: {', '.join(map(str, busy))}")
    parts = ("etcd", "patroni", "haproxy", "redis-sentinel")
    missing = [name for name in parts if not shutil.which(name)]
    if missing:
        raise SystemExit(f"cluster-ha: missing {' '.join(missing)} (make system-deps as root)")
    if RUN_DIR.exists() and not args.keep:
        shutil.rmtree(RUN_DIR)  # a fresh cluster each time: nothing of the last run
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    point_base_here()
    try:
        start_etcd()
        start_patroni()
        start_haproxy()
        start_redis()
        environ = app_environ(args.workers)
        logins = base.prepare_database(environ)
        processes = [base.start_app(port, environ) for port in ports]
        for port, process in zip(ports, processes, strict=True):
            base.wait_http(f"http://127.0.0.1:{port}/healthz", 60, process)
        base.start_nginx(base.render_nginx(ports, LISTEN_PORT, args.workers))
        base.wait_http(f"http://127.0.0.1:{LISTEN_PORT}/readyz", 30)
    except BaseException:
        log("start failed; stopping what was started")
        down(args)
        raise
    log(f"PostgreSQL primary pg{primary_index()} behind 127.0.0.1:{PRIMARY_PORT}, "
        f"Redis behind Sentinels {SENTINELS}, {args.workers} app processes")  # fmt: skip
    print(f"\nPréau (HA) is ready on http://127.0.0.1:{LISTEN_PORT}  (stop: make cluster-down)\n")
    for profile, username, secret in logins:
        print(f"  {profile:<10} {username:<20} {secret}")
    return 0


def restart(args: argparse.Namespace) -> int:
    """Start one part again after a drill stopped or killed it (as a supervisor would)."""
    name: str = args.part
    if name.startswith("app-"):
        workers = len(list(RUN_DIR.glob("app-*.pid")))
        port = int(name.removeprefix("app-"))
        process = base.start_app(port, app_environ(workers))
        base.wait_http(f"http://127.0.0.1:{port}/healthz", 60, process)
    elif name.startswith("patroni-"):
        index = int(name.removeprefix("patroni-"))
        start(name, ["patroni", str(RUN_DIR / f"patroni-{index}.yml")], as_postgres=True)
    elif name.startswith("redis-"):
        index = int(name.removeprefix("redis-"))
        start_redis_node(index, redis_primary_port())
    else:
        raise SystemExit(f"cluster-ha: cannot restart {name}")
    log(f"started {name} again")
    return 0


STOP_ORDER = ("nginx", "app", "haproxy", "patroni", "etcd", "sentinel", "redis")


def stop_one(path: Path, pid: int, timeout: float) -> None:
    with_signal = signal.SIGQUIT if path.name == "nginx.pid" else signal.SIGTERM
    try:
        os.kill(pid, with_signal)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and is_ours(path, pid):
        time.sleep(0.1)
    if is_ours(path, pid):
        log(f"{path.stem} (pid {pid}) did not stop in {timeout:.0f} s; killing it")
        os.kill(pid, signal.SIGKILL)
    if path.stem.startswith("app-"):
        # An app process leads its own process group (its server's workers): none of them
        # may outlive it holding the port.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def postmasters() -> dict[Path, int]:
    """PostgreSQL servers left behind by a Patroni that was killed (a drill does)."""
    found = {}
    for index in range(2):
        pid_file = RUN_DIR / f"pg{index}" / "data" / "postmaster.pid"
        try:
            pid: int | None = int(pid_file.read_text(encoding="utf-8").splitlines()[0])
        except (OSError, ValueError, IndexError):
            pid = None
        line = base.command_line(pid) if pid is not None else ""
        if pid is not None and "postgres" in line and str(RUN_DIR) in line:
            found[pid_file] = pid
    return found


def down(_args: argparse.Namespace) -> int:
    alive = running()
    for kind in STOP_ORDER:
        for path, pid in alive.items():
            if path.stem.split("-", 1)[0] == kind:
                log(f"stopping {path.stem} (pid {pid})")
                stop_one(path, pid, 40 if kind == "patroni" else 10)
    for pid_file, pid in postmasters().items():
        log(f"stopping the PostgreSQL left in {pid_file.parent} (pid {pid})")
        os.kill(pid, signal.SIGINT)  # fast shutdown
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
    for path in RUN_DIR.glob("*.pid") if RUN_DIR.exists() else []:
        path.unlink(missing_ok=True)
    if not alive:
        log("nothing was running")
    return 0


def status(_args: argparse.Namespace) -> int:
    files = sorted(RUN_DIR.glob("*.pid")) if RUN_DIR.exists() else []
    if not files:
        log("not running")
        return 1
    alive = running()
    for path in files:
        state = f"running (pid {alive[path]})" if path in alive else "not running"
        log(f"{path.stem}: {state}")
    log(f"PostgreSQL primary: pg{primary_index()}")
    return 0 if len(alive) == len(files) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    starting = commands.add_parser("up", help="start every part")
    workers = int(os.environ.get("CLUSTER_WORKERS") or 2)
    starting.add_argument("--workers", type=int, default=workers)
    starting.add_argument("--keep", action="store_true", help="keep the last run's data")
    starting.set_defaults(run=up)
    commands.add_parser("down", help="stop what up started").set_defaults(run=down)
    commands.add_parser("status", help="which processes run").set_defaults(run=status)
    again = commands.add_parser("restart", help="start a part again: app-PORT, patroni-N, redis-N")
    again.add_argument("part")
    again.set_defaults(run=restart)
    args = parser.parse_args()
    os.chdir(ROOT)
    point_base_here()
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
