"""The drills' load on one device or on many (docs/reliability.md): 12 tasks reading the
to-do at 5 requests a second each for 70 s, the design load of ``bench/drills.py``'s 8
readers and 4 writers, through one client (one cookie jar, so one gate pass, from
127.0.0.1: the drills before issue 18's addresses) or through a client each
(``--own``: a device and a loopback address each, as the drills now do). Prints the
answers by outcome (a 429 with what the gate named). Needs a running ``make
cluster-ha`` (``bench/drills.py --keep``)."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter

import httpx
from drills import URL, client_for, refusal, sign_in

TASKS, RATE, SECONDS = 12, 5.0, 70.0


async def main(own: bool) -> None:
    seen: Counter[str] = Counter()

    async def run(client: httpx.AsyncClient, token: str) -> None:
        end = time.monotonic() + SECONDS
        while time.monotonic() < end:
            started = time.monotonic()
            answer = await client.get("/api/v1/todo", headers={"authorization": f"Bearer {token}"})
            seen[refusal(answer) if answer.status_code >= 400 else "ok"] += 1
            await asyncio.sleep(max(0.0, 1 / RATE - (time.monotonic() - started)))

    if own:
        clients = [client_for(person) for person in range(TASKS)]
    else:
        clients = [httpx.AsyncClient(base_url=URL, timeout=10)] * TASKS
    token, _ = await sign_in(clients[0], "eleve.demo")
    started = time.monotonic()
    await asyncio.gather(*(run(client, token) for client in clients))
    rate = sum(seen.values()) / (time.monotonic() - started)
    print("own devices" if own else "one device", dict(seen), f"{rate:.1f}/s")
    for client in set(clients):
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--own", action="store_true", help="a device and an address each")
    asyncio.run(main(parser.parse_args().own))
