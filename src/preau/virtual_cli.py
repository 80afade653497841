"""``preau janus …``: write each Janus node's configuration from Préau's settings, show
the nodes, drain and resume them, and place the rooms due now. ``preau turn config``:
coturn's configuration, with the secret Préau mints TURN credentials from."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click
from rich.console import Console
from rich.table import Table

from preau.actions.virtual.nodes import NodeStatus, drain_node, node_statuses
from preau.actions.virtual.placement import place_upcoming, relocate_rooms
from preau.actions.virtual.pool import pool_of
from preau.bootstrap import build_services, load_settings
from preau.domain.errors import PreauError
from preau.domain.turn import CoturnOptions, coturn_configuration
from preau.domain.virtual import janus_configuration, parse_nodes
from preau.settings import Settings

console = Console()


def _settings() -> Settings:
    return load_settings()


@click.group(help="Virtual classes: the Janus nodes Préau drives.")
def janus() -> None:
    pass


@janus.command("config", help="Write the configuration folder of node NAME (janus -F DIR).")
@click.argument("name")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Folder to write.")
def write_config(name: str, out: Path | None) -> None:
    settings = _settings()
    nodes = {node.name: node for node in parse_nodes(settings.janus_nodes)}
    if name not in nodes:
        console.print(
            f"[red]No node {name!r} in PREAU_JANUS_NODES ({', '.join(nodes) or 'empty'})."
        )
        sys.exit(2)
    folder = (out or settings.janus_config_dir / name).resolve()
    try:
        files = janus_configuration(
            nodes[name],
            configs_folder=str(folder),
            bind=settings.janus_bind,
            admin_secret=settings.janus_admin_secret,
            token_secret=settings.janus_token_secret,
            room_key=settings.janus_room_key,
            rtp_ports=settings.janus_rtp_ports,
            allow_origin=settings.base_url.rstrip("/"),
        )
    except PreauError as error:
        console.print(f"[red]Error:[/red] {error.message.format(**error.params)}")
        sys.exit(2)
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, text in files.items():
        path = folder / file_name
        path.write_text(text)
        path.chmod(0o600)  # it holds the secrets
    console.print(f"Wrote {len(files)} files to {folder}.")
    console.print(f"Start it with: janus -F {folder} -C {folder}/janus.jcfg")


def _run(job: str, name: str | None = None, draining: bool = False) -> None:
    async def main() -> list[NodeStatus]:
        services = build_services(_settings())
        pool = pool_of(services)
        try:
            await pool.refresh()
            if job == "drain" and name is not None:
                await drain_node(services, name, draining=draining)
            if job == "place":
                await relocate_rooms(services)
                placed = await place_upcoming(services)
                console.print(f"{len(placed)} rooms placed.")
            return await node_statuses(services)
        finally:
            await pool.stop()
            await services.state.close()
            await services.engine.dispose()

    statuses = asyncio.run(main())
    table = Table(title="Janus nodes")
    for column in ("Node", "Answers", "Accepts", "Rooms", "Participants", "Egress (Mbit/s)"):
        table.add_column(column)
    for status in statuses:
        table.add_row(
            status.name,
            "yes" if status.healthy else f"no ({status.error})",
            "yes" if status.accepting else "drained",
            str(status.rooms),
            f"{status.participants} / {status.max_participants}",
            f"{status.bitrate / 1e6:.1f} / {status.max_bitrate / 1e6:.1f}",
        )
    console.print(table)


@janus.command(help="Show each node: answering, accepting, rooms and planned load.")
def status() -> None:
    _run("status")


@janus.command(help="Stop new rooms and sessions on node NAME (rooms there run on).")
@click.argument("name")
def drain(name: str) -> None:
    _run("drain", name, draining=True)


@janus.command(help="Let node NAME take new rooms and sessions again.")
@click.argument("name")
def resume(name: str) -> None:
    _run("drain", name, draining=False)


@janus.command(help="Create the rooms of virtual lessons due now (the server does it too).")
def place() -> None:
    _run("place")


@click.group(help="TURN (coturn) for pupils behind networks that block UDP.")
def turn() -> None:
    pass


@turn.command("config", help="Write coturn's configuration (turnserver -c FILE).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("var/coturn/turnserver.conf"))
@click.option("--listen", "listen_ip", required=True, help="Address coturn listens on.")
@click.option("--relay", "relay_ip", default="", help="Address relayed from (default: --listen).")
@click.option("--external", "external_ip", default="", help="Public address behind 1:1 NAT.")
@click.option("--port", type=int, default=3478, show_default=True, help="UDP and TCP port.")
@click.option("--tls-port", type=int, default=0, help="TLS port (443 in production).")
@click.option("--cert", default="", help="TLS certificate (PEM), with --tls-port.")
@click.option("--key", default="", help="Its private key (PEM).")
@click.option("--min-port", type=int, default=49152, show_default=True)
@click.option("--max-port", type=int, default=65535, show_default=True)
@click.option("--log-file", default="stdout", show_default=True)
def write_turn_config(  # noqa: PLR0917 - click passes each option by position
    out: Path,
    listen_ip: str,
    relay_ip: str,
    external_ip: str,
    port: int,
    tls_port: int,
    cert: str,
    key: str,
    min_port: int,
    max_port: int,
    log_file: str,
) -> None:
    settings = _settings()
    janus_ips = sorted(
        {urlsplit(node.janus_url).hostname or "" for node in parse_nodes(settings.janus_nodes)}
        - {""}
    )
    try:
        text = coturn_configuration(
            CoturnOptions(
                secret=settings.turn_secret,
                realm=settings.turn_realm,
                listen_ip=listen_ip,
                relay_ip=relay_ip or listen_ip,
                external_ip=external_ip,
                port=port,
                tls_port=tls_port,
                cert=cert,
                key=key,
                min_port=min_port,
                max_port=max_port,
                janus_ips=tuple(janus_ips),
                log_file=log_file,
            )
        )
    except PreauError as error:
        console.print(f"[red]Error:[/red] {error.message.format(**error.params)}")
        sys.exit(2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.chmod(0o600)  # it holds the secret
    console.print(f"Wrote {out}. Start it with: turnserver -c {out}")
