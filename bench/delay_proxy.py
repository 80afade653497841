"""A TCP proxy that adds a delay each way: the slow-database drill (bench/drills.py).

``tc netem`` is the usual tool, but this machine's kernel has no ``netem`` qdisc, so the
drills put this proxy between the app processes and HAProxy's primary port. The delay
(seconds, each direction) is read from ``--control`` every half second; an absent or
empty file means none. Bytes keep their order; the delay does not throttle throughput
(each chunk is held until its time, later chunks wait behind it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from pathlib import Path

delay = [0.0]


async def follow(control: Path) -> None:
    while True:
        try:
            text = (await asyncio.to_thread(control.read_text, encoding="utf-8")).strip()
            delay[0] = float(text) if text else 0.0
        except (OSError, ValueError):
            delay[0] = 0.0
        await asyncio.sleep(0.5)


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def forward() -> None:
        while True:
            due, chunk = await held.get()
            if not chunk:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()

    sender = asyncio.create_task(forward())
    try:
        while chunk := await reader.read(65536):
            held.put_nowait((time.monotonic() + delay[0], chunk))
            if sender.done():
                break
    except OSError:
        pass
    finally:
        held.put_nowait((0.0, b""))
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await sender
        writer.close()


async def serve(listen: int, target: int, control: Path) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pump(client_r, server_w), pump(server_r, client_w))

    asyncio.get_running_loop().create_task(follow(control))
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--to", type=int, required=True)
    parser.add_argument("--control", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.to, args.control))


if __name__ == "__main__":
    main()
